"""Tiny tasks and fast training runs through the real CLI (in-process)."""

from __future__ import annotations

from pono_gan.cli import PonoCLI
from pono_gan.models import GeneratorConfig, MunitConfig
from pono_gan.tasks import DiscriminatorConfig, StyleTask

#: A 4-channel, one-block PONO-MS generator and a 2-layer PatchGAN: the smallest paired / unpaired task parts.
GENERATOR = GeneratorConfig(base_channels=4, num_blocks=1, pono=True, shortcut="ms")
DISCRIMINATOR = DiscriminatorConfig(base_channels=4, num_layers=2)


def tiny_style_task(shortcut: str = "ms", **kwargs) -> StyleTask:
    """A MUNIT task with 4 base channels, one block and two unnormalized discriminator scales (32 px inputs)."""
    generator = MunitConfig(base_channels=4, num_blocks=1, mlp_dim=16, pono=shortcut != "none", shortcut=shortcut)
    discriminator = DiscriminatorConfig(base_channels=4, num_layers=2, norm="none", num_scales=2)
    return StyleTask(generator, discriminator, **kwargs)

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
    "--trainer.precision", "32-true",  # not auto: the tests compute the same on every machine
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
