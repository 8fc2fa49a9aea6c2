"""The one norm factory: every norm is built as ``create_norm(name, num_channels)``."""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["NORM_NAMES", "MunitLayerNorm", "create_norm", "group_count"]


def group_count(num_channels: int, max_groups: int = 32) -> int:
    """The number of GroupNorm groups: 32 as in Wu & He, or the largest divisor of ``num_channels`` below it."""
    return math.gcd(num_channels, max_groups)


class MunitLayerNorm(nn.Module):
    """NVlabs MUNIT's ``LayerNorm`` (its decoder's upsampling blocks): per sample over (C, H, W),
    ``(x - mean) / (std + eps)`` with the *unbiased* std and ``eps`` added to it, then a per-channel affine whose
    scale starts from U(0, 1) and shift from 0. (``create_norm("layer")`` is the usual ``GroupNorm(1, C)``:
    biased variance, ``eps`` inside the square root, scale from N(1, 0.02) under :func:`init_weights`.)
    Statistics in float32 under mixed precision; parameters named ``weight`` / ``bias`` like torch's norms.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(num_channels).uniform_())
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: Tensor) -> Tensor:
        flat = x.float().flatten(1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        mean, std = flat.mean(1).view(shape), flat.std(1).view(shape)
        y = (x.float() - mean) / (std + self.eps)
        affine_shape = (1, -1) + (1,) * (x.dim() - 2)
        return (y * self.weight.view(affine_shape) + self.bias.view(affine_shape)).to(x.dtype)


_NORMS: dict[str, Callable[[int], nn.Module]] = {
    # junyanz's CycleGAN/pix2pix choice: no affine parameters, no running statistics.
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "group": lambda c: nn.GroupNorm(group_count(c), c),
    "batch": lambda c: nn.BatchNorm2d(c),
    # Layer norm over (C, H, W) per sample, as in MUNIT's decoder.
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
    "munit_layer": MunitLayerNorm,
}

#: The ``norm`` choices of the generators and discriminators; ``munit_layer`` is the MUNIT decoder's own.
NORM_NAMES: tuple[str, ...] = tuple(name for name in _NORMS if name != "munit_layer")


def create_norm(name: str, num_channels: int) -> nn.Module:
    """Build the norm ``name`` for ``num_channels`` channels.

    Args:
        name: one of ``instance | group | batch | layer | none | munit_layer`` (the last is
            :class:`MunitLayerNorm`).
        num_channels: channel count of the features to normalize.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or a non-positive channel count.
    """
    try:
        factory = _NORMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown norm {name!r}; valid norms: {', '.join(_NORMS)}") from None
    if num_channels < 1:
        raise ValueError(f"num_channels must be positive, got {num_channels}")
    return factory(num_channels)
