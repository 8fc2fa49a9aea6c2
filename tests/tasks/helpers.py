"""Tiny, fast training runs through the real CLI (in-process)."""

from __future__ import annotations

from pono_gan.cli import PonoCLI

TINY = [
    "--model.init_args.generator.base_channels", "4",
    "--model.init_args.generator.num_blocks", "1",
    "--model.init_args.discriminator.base_channels", "4",
    "--model.init_args.discriminator.num_layers", "2",
    "--data.load_size", "32",
    "--data.crop_size", "32",
    "--data.batch_size", "2",
    "--data.num_workers", "0",
    "--trainer.accelerator", "cpu",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.log_every_n_steps", "1",
    "--images.every_n_steps", "0",
]


def tiny_run(configs: list[str], root, run_dir, *extra: str, logger: str = "false", run: bool = True) -> PonoCLI:
    args = ["fit"] if run else []
    for config in configs:
        args += ["--config", config]
    args += TINY + ["--data.root", str(root), "--trainer.default_root_dir", str(run_dir), "--trainer.logger", logger]
    args += list(extra)
    return PonoCLI(args=args, run=run)
