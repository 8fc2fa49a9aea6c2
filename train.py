"""Train a pono-gan model (LightningCLI).

    python train.py fit --config configs/demo.yaml                                  # the demo (see README)
    python train.py fit --config configs/paired/base.yaml --config configs/paired/pono_ms.yaml \
        --data.root data/facades --trainer.max_steps 200000
    python train.py fit --config configs/unpaired/base.yaml --config configs/unpaired/group.yaml
    python train.py fit --config configs/demo.yaml --ckpt_path last                 # resume a killed run
    python train.py fit --config configs/demo.yaml --print_config                   # the resolved config
    python train.py fit --help                                                      # every option, documented
    python train.py validate --config configs/demo.yaml --ckpt_path last            # validation metrics only

Steps are training iterations: one generator + discriminator update is one step, so --trainer.max_steps,
--trainer.log_every_n_steps, --checkpoint.every_n_train_steps and --images.every_n_steps all count iterations.
"""

from pono_gan.cli import main

if __name__ == "__main__":
    main()
