import glob
import os

import pytest
import torch

from pono_gan.checkpoint import generator_from_checkpoint, read_checkpoint
from pono_gan.tasks import ImagePool, LinearDecay
from tests.tasks.helpers import tiny_run

GRID = [
    (task, variant)
    for task in ("paired", "unpaired")
    for variant in ("instance", "group", "pono_ms", "pono_dms", "pono", "group_pono_ms")
]
#: variant file -> (norm, pono, shortcut)
VARIANTS = {"instance": ("instance", False, "none"), "group": ("group", False, "none"),
            "pono_ms": ("instance", True, "ms"), "pono_dms": ("instance", True, "dms"),
            "pono": ("instance", True, "none"), "group_pono_ms": ("group", True, "ms")}


@pytest.mark.slow
@pytest.mark.parametrize("task,variant", GRID)
def test_every_config_in_the_grid_trains(task, variant, tiny_dataset, tmp_path):
    cli = tiny_run([f"configs/{task}/base.yaml", f"configs/{task}/{variant}.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2")
    assert cli.trainer.global_step == 2  # iterations, not optimizer steps
    generator = cli.model.generators["generator" if task == "paired" else "AtoB"]
    config = cli.model.generator_config
    assert (config.norm, config.pono, config.shortcut) == VARIANTS[variant]
    assert any(type(m).__name__ == "PONO" for m in generator.modules()) == config.pono
    assert os.path.isfile(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert os.path.isfile(tmp_path / "run" / "config.yaml")


@pytest.mark.slow
def test_checkpoint_rebuilds_generator_without_training_code(tiny_dataset, tmp_path):
    cli = tiny_run(["configs/paired/base.yaml", "configs/paired/pono_dms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2", "--data.direction", "BtoA")
    checkpoint = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")  # weights_only=True
    meta = checkpoint["pono_gan"]
    assert meta["task"] == "paired" and meta["direction"] == "BtoA" and list(meta["generators"]) == ["BtoA"]
    assert meta["data"]["channels"] == [3, 3] and meta["data"]["crop_size"] == 32
    generator = generator_from_checkpoint(checkpoint, "BtoA")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    cli.model.generator.eval()
    torch.testing.assert_close(generator(x), cli.model.generator(x))


@pytest.mark.slow
def test_unpaired_checkpoint_has_both_directions_and_pools(tiny_dataset, tmp_path):
    tiny_run(["configs/unpaired/base.yaml", "configs/unpaired/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
             "--trainer.max_steps", "2")
    checkpoint = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert set(checkpoint["pono_gan"]["generators"]) == {"AtoB", "BtoA"}
    assert checkpoint["pono_gan"]["direction"] is None
    assert checkpoint["image_pools"]["A"]["images"].shape[0] == 4  # 2 steps x batch 2
    for direction in ("AtoB", "BtoA"):
        generator_from_checkpoint(checkpoint, direction)


@pytest.mark.slow
def test_linear_schedule_per_step(tiny_dataset, tmp_path):
    cli = tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "4", "--model.init_args.optimizer.unit", "step",
                   "--model.init_args.optimizer.constant_for", "2", "--model.init_args.optimizer.decay_for", "2",
                   "--model.init_args.optimizer.lr_discriminator", "1e-4")
    groups = cli.trainer.optimizers[0].param_groups
    assert [g["name"] for g in groups] == ["generator", "discriminator"]
    assert all(g["fused"] for g in groups)  # Adam's fused kernel on the CPU (issue 24)
    # the 4th iteration (t = 3) ran at 1/3 of each group's own rate
    assert groups[0]["lr"] == pytest.approx(2e-4 / 3) and groups[1]["lr"] == pytest.approx(1e-4 / 3)
    assert [cli.model.learning_rates(t)["generator"] / 2e-4 for t in range(5)] == pytest.approx([1, 1, 2 / 3, 1 / 3, 0])


def test_linear_decay_is_cyclegans_lambda_rule():
    """junyanz: lr_l = 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1), epoch_count 1."""
    for constant_for, decay_for in [(100, 100), (2, 2), (0, 3), (5, 0)]:
        decay = LinearDecay(constant_for, decay_for)
        for t in range(constant_for + decay_for + 3):
            expected = max(0.0, 1.0 - max(0, t + 1 - constant_for) / float(decay_for + 1))
            assert decay(t) == pytest.approx(expected)
    decay = LinearDecay(100, 100)
    assert sum(decay(t) == 1.0 for t in range(200)) == 100  # exactly 100 epochs at the full rate
    assert decay(199) == pytest.approx(1 / 101) and decay(200) == 0.0


@pytest.mark.slow
def test_bf16_mixed_trains_on_cpu(tiny_dataset, tmp_path):
    cli = tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2", "--trainer.precision", "bf16-mixed", run=False)
    seen = []
    cli.model.generator.stem[1].register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == 2
    assert torch.bfloat16 in seen  # the convolutions ran under bf16 autocast
    assert all(torch.isfinite(p).all() for p in cli.model.parameters())
    assert next(cli.model.parameters()).dtype == torch.float32


@pytest.mark.slow
def test_csv_logger_gets_losses_lrs_and_validation_metrics(tiny_dataset, tmp_path):
    tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
             "--trainer.max_steps", "3", "--trainer.val_check_interval", "3", logger="CSVLogger")
    metrics_files = glob.glob(str(tmp_path / "run" / "**" / "metrics.csv"), recursive=True)
    assert metrics_files
    header = open(metrics_files[0]).readline()
    for column in ("train/loss_G", "train/loss_D", "train/G_l1", "lr/generator", "lr/discriminator", "val/psnr",
                   "val/ssim", "val/l1"):
        assert column in header


def test_image_pool_semantics():
    torch.manual_seed(0)
    pool = ImagePool(2)
    first = torch.zeros(2, 3, 4, 4)
    assert torch.equal(pool.query(first), first) and len(pool.images) == 2
    out = pool.query(torch.ones(8, 3, 4, 4))
    assert out.shape == (8, 3, 4, 4) and len(pool.images) == 2
    state = pool.state_dict()
    restored = ImagePool(0)
    restored.load_state_dict(state)
    assert restored.size == 2 and all(torch.equal(a, b) for a, b in zip(restored.images, pool.images))
    assert torch.equal(ImagePool(0).query(first), first)


@pytest.mark.slow
def test_a_resumed_run_follows_its_changed_schedule_and_says_so(tiny_dataset, tmp_path, caplog):
    configs = ["configs/unpaired/base.yaml", "configs/unpaired/pono_ms.yaml"]
    schedule = ["--model.init_args.optimizer.unit", "step", "--model.init_args.optimizer.constant_for", "1",
                "--trainer.max_epochs", "-1"]
    tiny_run(configs, tiny_dataset, tmp_path / "run", "--trainer.max_steps", "2", *schedule,
             "--model.init_args.optimizer.decay_for", "4")
    with caplog.at_level("INFO"):
        cli = tiny_run(configs, tiny_dataset, tmp_path / "run", "--trainer.max_steps", "3", *schedule,
                       "--model.init_args.optimizer.decay_for", "10", "--ckpt_path", "last")
    lines = [r.getMessage() for r in caplog.records if "changed config" in r.getMessage()]
    assert lines == ["resuming with a changed config (the config wins): optimizer.decay_for 4 -> 10"]
    assert cli.model.optimizer_config.decay_for == 10
    rates = [group["lr"] for group in cli.trainer.optimizers[0].param_groups]
    assert rates == pytest.approx([2e-4 * LinearDecay(1, 10)(2)] * 2)  # the 3rd iteration, on the new schedule


@pytest.mark.parametrize("task", ["paired", "unpaired"])
def test_a_unet_takes_its_references_defaults_where_the_config_leaves_them_unset(task, tiny_dataset, tmp_path):
    # pix2pix's unet_256: batch norm, dropout 0.5; CycleGAN with a unet: instance norm, no dropout (--no_dropout)
    cli = tiny_run([f"configs/{task}/base.yaml"], tiny_dataset, tmp_path / "run",
                   "--model.init_args.generator.arch", "unet", "--model.init_args.generator.num_downsampling", "6",
                   run=False)  # dropout at level 4
    expected = ("batch", 0.5) if task == "paired" else ("instance", 0.0)
    assert (cli.model.generator_config.norm, cli.model.generator_config.dropout) == expected
    generator = next(iter(cli.model.generators.values()))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in generator.modules()) == (task == "paired")
    assert any(isinstance(m, torch.nn.Dropout) for m in generator.modules()) == (task == "paired")
    assert cli.model.hparams["generator"]["norm"] == expected[0]  # the checkpoint stores what was built
    explicit = tiny_run([f"configs/{task}/base.yaml", f"configs/{task}/pono_ms.yaml"], tiny_dataset, tmp_path / "run2",
                        "--model.init_args.generator.arch", "unet", "--model.init_args.generator.num_downsampling", "5",
                        run=False)
    # the variant file sets the norm; the dropout it leaves unset is still the reference's
    assert (explicit.model.generator_config.norm, explicit.model.generator_config.dropout) == ("instance", expected[1])
