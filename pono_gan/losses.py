"""GAN objectives. Every function takes a logit map or a list of them (multi-scale discriminators)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["GAN_LOSSES", "GanLossName", "adversarial_loss"]

GanLossName = Literal["lsgan", "vanilla", "hinge"]
GAN_LOSSES: tuple[str, ...] = ("lsgan", "vanilla", "hinge")


def _single(logits: Tensor, target_is_real: bool, kind: str, for_discriminator: bool) -> Tensor:
    logits = logits.float()  # losses in float32 under mixed precision
    if kind == "lsgan":
        target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
        return F.mse_loss(logits, target)
    if kind == "vanilla":
        target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
        return F.binary_cross_entropy_with_logits(logits, target)
    if kind == "hinge":
        if not for_discriminator:
            return -logits.mean()
        return F.relu(1 - logits).mean() if target_is_real else F.relu(1 + logits).mean()
    raise ValueError(f"unknown gan_loss {kind!r}; valid: {', '.join(GAN_LOSSES)}")


def adversarial_loss(
    logits: Tensor | Sequence[Tensor],
    target_is_real: bool,
    kind: str = "lsgan",
    for_discriminator: bool = True,
    scales: Literal["mean", "sum"] = "mean",
) -> Tensor:
    """The ``kind`` loss of ``logits`` against real (True) or fake (False); over the scales of a multi-scale
    discriminator (a list of logit maps) their ``mean`` (pix2pixHD) or ``sum`` (MUNIT's ``calc_dis_loss``).

    For the generator pass ``target_is_real=True, for_discriminator=False`` (this matters only for hinge).
    """
    if isinstance(logits, Tensor):
        return _single(logits, target_is_real, kind, for_discriminator)
    if scales not in ("mean", "sum"):
        raise ValueError(f"scales must be 'mean' or 'sum', got {scales!r}")
    losses = torch.stack([_single(item, target_is_real, kind, for_discriminator) for item in logits])
    return losses.sum() if scales == "sum" else losses.mean()
