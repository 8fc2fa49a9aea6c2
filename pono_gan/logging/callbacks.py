"""Image logging: the task says what is worth seeing (``log_images``), this callback decides when and where."""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only, rank_zero_warn

from pono_gan.data.io import save_image, to_pil
from pono_gan.errors import PonoGanError

__all__ = ["ImageLogger"]


class ImageLogger(pl.Callback):
    """Log a fixed panel of samples every ``every_n_steps`` training iterations, at the start and at the end.

    The samples are the data module's ``sample_batch(num_samples)`` (the first validation images), so panels are
    comparable across steps and runs. Each panel is written as PNG under ``<default_root_dir>/samples/``
    (``NAME_step0000500.png`` and ``NAME_latest.png``) and sent to W&B (``images/NAME``) and TensorBoard loggers.

    Args:
        every_n_steps: cadence in training iterations (0 disables periodic logging).
        num_samples: rows of each panel.
        save_png: also write PNG files.
    """

    def __init__(self, every_n_steps: int = 500, num_samples: int = 4, save_png: bool = True) -> None:
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.save_png = save_png
        self._batch: dict[str, Any] | None = None
        self._last_step = -1

    def _sample_batch(self, trainer: pl.Trainer) -> dict[str, Any] | None:
        if self._batch is None:
            datamodule = trainer.datamodule
            if datamodule is None or not hasattr(datamodule, "sample_batch"):
                return None
            try:
                self._batch = datamodule.sample_batch(self.num_samples)
            except PonoGanError as error:  # e.g. scale_width: samples of different sizes do not stack
                rank_zero_warn(f"image panels show one sample only: {error}")
                self._batch = datamodule.sample_batch(1)
        return self._batch

    @rank_zero_only
    def log_panels(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, torch.Tensor]:
        step = trainer.global_step
        batch = self._sample_batch(trainer)
        if batch is None or step == self._last_step:
            return {}
        self._last_step = step
        batch = {k: v.to(pl_module.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad():
                panels = pl_module.log_images(batch)
        finally:
            pl_module.train(was_training)
        if self.save_png:
            folder = os.path.join(trainer.default_root_dir, "samples")
            os.makedirs(folder, exist_ok=True)
            for name, image in panels.items():
                save_image(image, os.path.join(folder, f"{name}_step{step:07d}.png"))
                save_image(image, os.path.join(folder, f"{name}_latest.png"))
        for logger in trainer.loggers:
            for name, image in panels.items():
                if isinstance(logger, WandbLogger):
                    logger.log_image(key=f"images/{name}", images=[to_pil(image)], step=step)
                elif isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_image(f"images/{name}", image, step)
        return panels

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.log_panels(trainer, pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self.log_panels(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.log_panels(trainer, pl_module)
