"""Paired image translation (pix2pix): conditional PatchGAN on (input, output) plus an L1 term."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pono_gan.evaluate.metrics import paired_metrics
from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel, to_unit_range
from pono_gan.models import GeneratorConfig
from pono_gan.tasks.base import DiscriminatorConfig, GANTask, OptimizerConfig, UpdateOrder

__all__ = ["PairedTask"]


class PairedTask(GANTask):
    """pix2pix: ``G(A) -> B`` with ``loss_G = GAN(D(A, G(A))) + lambda_l1 * |G(A) - B|``.

    Batches are ``{"A": input, "B": target}`` in [-1, 1]; the data module's ``direction`` decides which folder is
    which. Validation logs L1, PSNR (per-image mean) and SSIM on [0, 1] images.

    Args:
        generator: architecture (see :class:`pono_gan.models.GeneratorConfig`).
        discriminator: PatchGAN settings; it sees input and output concatenated.
        optimizer: Adam and LR schedule.
        gan_loss: ``lsgan | vanilla | hinge`` (pix2pix used vanilla).
        lambda_l1: weight of the L1 term (100 in pix2pix).
        init_type: weight init of all networks.
        init_gain: its scale.
        update_order: ``discriminator_first`` (pix2pix's ``optimize_parameters``: D on ``G(A)``, then G against
            the updated D with the same ``G(A)``) or ``simultaneous`` (see :mod:`pono_gan.tasks.base`).
    """

    task_name = "paired"
    #: pix2pix's ``unet_256`` defaults (``--norm batch``, dropout 0.5) where the config leaves them unset.
    generator_defaults = {"unet": {"norm": "batch", "dropout": 0.5}}

    def __init__(
        self,
        generator: GeneratorConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        optimizer: OptimizerConfig | None = None,
        gan_loss: Literal["lsgan", "vanilla", "hinge"] = "vanilla",
        lambda_l1: float = 100.0,
        init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal",
        init_gain: float = 0.02,
        update_order: UpdateOrder = "discriminator_first",
    ) -> None:
        super().__init__(generator, discriminator, optimizer, gan_loss, init_type, init_gain, update_order)
        self.lambda_l1 = lambda_l1
        self.save_hyperparameters("gan_loss", "lambda_l1", "init_type", "init_gain", "update_order")
        g = self.generator_config
        self.generator = self._new_generator(g)
        self.discriminator = self._new_discriminator(g.in_channels + g.out_channels)
        self.generators = nn.ModuleDict({"generator": self.generator})
        self.discriminators = nn.ModuleDict({"discriminator": self.discriminator})

    def forward(self, x: Tensor) -> Tensor:
        return self.generator(x)

    @property
    def trained_direction(self) -> str:
        return self._data_metadata().get("direction", "AtoB")

    def checkpoint_generators(self) -> dict[str, tuple[str, GeneratorConfig]]:
        return {self.trained_direction: ("generator", self.generator_config)}

    def discriminator_fakes(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        return {"fake_B": self.generator(batch["A"])}  # kept with its graph: the generator step reuses it

    def generator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor] | None = None):
        real_a, real_b = batch["A"], batch["B"]
        fake_b = fakes["fake_B"] if fakes else self.generator(real_a)
        adversarial = self.adversarial(self.discriminator(torch.cat([real_a, fake_b], 1)), True, False)
        l1 = F.l1_loss(fake_b.float(), real_b.float())
        return adversarial + self.lambda_l1 * l1, {"G_gan": adversarial, "G_l1": l1}, {"fake_B": fake_b}

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor]):
        real_a = batch["A"]
        real_logits = self.discriminator(torch.cat([real_a, batch["B"]], 1))
        fake_logits = self.discriminator(torch.cat([real_a, fakes["fake_B"]], 1))
        real, fake = self.adversarial(real_logits, True, True), self.adversarial(fake_logits, False, True)
        return 0.5 * (real + fake), {"D_real": real, "D_fake": fake, **self.judge("D", real_logits, fake_logits)}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        prediction = to_unit_range(self.generator(batch["A"]))
        metrics = paired_metrics(prediction, to_unit_range(batch["B"]))
        self.log_dict(
            {f"val/{name}": values.mean() for name, values in metrics.items()},
            batch_size=prediction.shape[0],
            sync_dist=True,
            prog_bar=True,
        )

    def log_images(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, moments = self.generator.forward_with_moments(real_a)
        columns = [to_unit_range(real_a), to_unit_range(fake_b), to_unit_range(real_b)]
        panels = {"samples": sample_panel(columns, ["input", "output", "target"])}
        if moments:
            maps = moment_maps(moments, size=real_a.shape[-2:])
            panels["moments"] = sample_panel([to_unit_range(real_a), *maps.values()], ["input", *moment_labels(maps)])
        return panels
