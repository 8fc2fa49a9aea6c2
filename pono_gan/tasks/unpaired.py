"""Unpaired image translation (CycleGAN): two generators, two discriminators, cycle and identity losses."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel, to_unit_range
from pono_gan.models import GeneratorConfig
from pono_gan.tasks.base import DiscriminatorConfig, GANTask, OptimizerConfig

__all__ = ["ImagePool", "UnpairedTask"]


class ImagePool:
    """A buffer of past fakes for the discriminator (Shrivastava et al.; CycleGAN uses 50).

    Until full, every fake is stored and returned; then each fake is, with probability 1/2, swapped for a
    random stored one (which it replaces). Its choices come from a generator of its own, saved with its images
    in checkpoints, so a resumed run swaps as the uninterrupted one would.

    The images live on the device of the fakes it is given (no copies to the host each step); images restored
    from a checkpoint move there at the next query, and :meth:`state_dict` returns them as one tensor on that
    device (as Lightning saves the weights).

    Args:
        size: how many images it holds (0: every fake is returned as it is).
        seed: the seed of its generator (None: drawn from torch's global generator, which seed_everything sets).
    """

    def __init__(self, size: int, seed: int | None = None) -> None:
        self.size = size
        self.images: list[Tensor] = []
        if seed is None:
            seed = int(torch.randint(2**62, ()))
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        images = images.detach()
        if self.images and self.images[0].device != images.device:
            self.images = [image.to(images.device) for image in self.images]
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index])
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "images": torch.cat(self.images) if self.images else None,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = state["size"]
        images = state["images"]
        self.images = [] if images is None else [image.unsqueeze(0) for image in images]
        if "generator" in state:  # older checkpoints have none
            self.generator.set_state(state["generator"])


class UnpairedTask(GANTask):
    """CycleGAN: ``G_AB: A -> B``, ``G_BA: B -> A``, discriminators ``D_A`` (on A images) and ``D_B``.

    ``loss_G = GAN(D_B(G_AB(A))) + GAN(D_A(G_BA(B))) + lambda_cycle * (|G_BA(G_AB(A)) - A| + |G_AB(G_BA(B)) - B|)
    + lambda_cycle * lambda_identity * (|G_AB(B) - B| + |G_BA(A) - A|)``; each discriminator sees real images and
    fakes drawn from an image pool. Both generators share the ``generator`` config (``G_BA`` with the channel
    counts swapped).

    Args:
        generator: architecture of both generators.
        discriminator: PatchGAN settings of both discriminators.
        optimizer: Adam and LR schedule.
        gan_loss: ``lsgan | vanilla | hinge`` (CycleGAN used lsgan).
        lambda_cycle: weight of the cycle-consistency L1 (10 in CycleGAN).
        lambda_identity: identity-loss weight relative to ``lambda_cycle`` (0.5; needs equal channel counts).
        pool_size: image pool size (50; 0 disables it).
        init_type: weight init of all networks.
        init_gain: its scale.
        update_order: ``simultaneous``, CycleGAN's (see :mod:`pono_gan.tasks.base`), the only one it has.
    """

    task_name = "unpaired"

    def __init__(
        self,
        generator: GeneratorConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        optimizer: OptimizerConfig | None = None,
        gan_loss: Literal["lsgan", "vanilla", "hinge"] = "lsgan",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal",
        init_gain: float = 0.02,
        update_order: Literal["simultaneous"] = "simultaneous",
    ) -> None:
        super().__init__(generator, discriminator, optimizer, gan_loss, init_type, init_gain, update_order)
        self.lambda_cycle = lambda_cycle
        self.lambda_identity = lambda_identity
        self.save_hyperparameters("gan_loss", "lambda_cycle", "lambda_identity", "pool_size", "init_type", "init_gain",
                                  "update_order")
        g = self.generator_config
        if lambda_identity > 0 and g.in_channels != g.out_channels:
            raise ValueError(
                f"lambda_identity={lambda_identity} needs equal channel counts, got in_channels={g.in_channels}, "
                f"out_channels={g.out_channels}: set model.lambda_identity 0"
            )
        self.generator_ab = self._new_generator(g)
        self.generator_ba = self._new_generator(self.reverse_config)
        self.discriminator_a = self._new_discriminator(g.in_channels)
        self.discriminator_b = self._new_discriminator(g.out_channels)
        self.generators = nn.ModuleDict({"AtoB": self.generator_ab, "BtoA": self.generator_ba})
        self.discriminators = nn.ModuleDict({"A": self.discriminator_a, "B": self.discriminator_b})
        self.pool_a = ImagePool(pool_size)
        self.pool_b = ImagePool(pool_size)

    @property
    def reverse_config(self) -> GeneratorConfig:
        g = self.generator_config
        return replace(g, in_channels=g.out_channels, out_channels=g.in_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.generator_ab(x)

    def checkpoint_generators(self) -> dict[str, tuple[str, GeneratorConfig]]:
        return {"AtoB": ("generator_ab", self.generator_config), "BtoA": ("generator_ba", self.reverse_config)}

    def generator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor] | None = None):
        real_a, real_b = batch["A"], batch["B"]
        fake_b = self.generator_ab(real_a)
        fake_a = self.generator_ba(real_b)
        cycle_a = F.l1_loss(self.generator_ba(fake_b).float(), real_a.float())
        cycle_b = F.l1_loss(self.generator_ab(fake_a).float(), real_b.float())
        gan_ab = self.adversarial(self.discriminator_b(fake_b), True, False)
        gan_ba = self.adversarial(self.discriminator_a(fake_a), True, False)
        loss = gan_ab + gan_ba + self.lambda_cycle * (cycle_a + cycle_b)
        logs = {"G_gan_AB": gan_ab, "G_gan_BA": gan_ba, "G_cycle_A": cycle_a, "G_cycle_B": cycle_b}
        if self.lambda_identity > 0:
            identity_b = F.l1_loss(self.generator_ab(real_b).float(), real_b.float())
            identity_a = F.l1_loss(self.generator_ba(real_a).float(), real_a.float())
            loss = loss + self.lambda_cycle * self.lambda_identity * (identity_a + identity_b)
            logs.update(G_identity_A=identity_a, G_identity_B=identity_b)
        return loss, logs, {"fake_A": fake_a, "fake_B": fake_b}

    def _discriminator_term(self, name: str, discriminator: nn.Module, real: Tensor, fake: Tensor,
                            logs: dict[str, Tensor]) -> Tensor:
        real_logits, fake_logits = discriminator(real), discriminator(fake)
        logs.update(self.judge(name, real_logits, fake_logits))
        return 0.5 * (self.adversarial(real_logits, True, True) + self.adversarial(fake_logits, False, True))

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor]):
        logs: dict[str, Tensor] = {}
        loss_a = self._discriminator_term(
            "D_A", self.discriminator_a, batch["A"], self.pool_a.query(fakes["fake_A"]), logs)
        loss_b = self._discriminator_term(
            "D_B", self.discriminator_b, batch["B"], self.pool_b.query(fakes["fake_B"]), logs)
        return loss_a + loss_b, {"D_A": loss_a, "D_B": loss_b, **logs}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        real_a, real_b = batch["A"], batch["B"]
        cycle_a = (to_unit_range(self.generator_ba(self.generator_ab(real_a))) - to_unit_range(real_a)).abs().mean()
        cycle_b = (to_unit_range(self.generator_ab(self.generator_ba(real_b))) - to_unit_range(real_b)).abs().mean()
        self.log_dict({"val/cycle_l1_A": cycle_a, "val/cycle_l1_B": cycle_b}, batch_size=real_a.shape[0],
                      sync_dist=True)

    def log_images(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, moments = self.generator_ab.forward_with_moments(real_a)
        fake_a = self.generator_ba(real_b)
        unit = to_unit_range
        panels = {
            "samples_AtoB": sample_panel([unit(real_a), unit(fake_b), unit(self.generator_ba(fake_b))],
                                         ["A", "A to B", "back to A"]),
            "samples_BtoA": sample_panel([unit(real_b), unit(fake_a), unit(self.generator_ab(fake_a))],
                                         ["B", "B to A", "back to B"]),
        }
        if moments:
            maps = moment_maps(moments, size=real_a.shape[-2:])
            panels["moments_AtoB"] = sample_panel([unit(real_a), *maps.values()], ["A", *moment_labels(maps)])
        return panels

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["image_pools"] = {"A": self.pool_a.state_dict(), "B": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        pools = checkpoint.get("image_pools")
        if pools:
            self.pool_a.load_state_dict(pools["A"])
            self.pool_b.load_state_dict(pools["B"])
