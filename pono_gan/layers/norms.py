"""The one norm factory: every norm is built as ``create_norm(name, num_channels)``."""

from __future__ import annotations

import math
from typing import Callable

from torch import nn

__all__ = ["NORM_NAMES", "create_norm", "group_count"]


def group_count(num_channels: int, max_groups: int = 32) -> int:
    """The number of GroupNorm groups: 32 as in Wu & He, or the largest divisor of ``num_channels`` below it."""
    return math.gcd(num_channels, max_groups)


_NORMS: dict[str, Callable[[int], nn.Module]] = {
    # junyanz's CycleGAN/pix2pix choice: no affine parameters, no running statistics.
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "group": lambda c: nn.GroupNorm(group_count(c), c),
    "batch": lambda c: nn.BatchNorm2d(c),
    # Layer norm over (C, H, W) per sample, as in MUNIT's decoder.
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
}

NORM_NAMES: tuple[str, ...] = tuple(_NORMS)


def create_norm(name: str, num_channels: int) -> nn.Module:
    """Build the norm ``name`` for ``num_channels`` channels.

    Args:
        name: one of ``instance | group | batch | layer | none``.
        num_channels: channel count of the features to normalize.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or a non-positive channel count.
    """
    try:
        factory = _NORMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown norm {name!r}; valid norms: {', '.join(NORM_NAMES)}") from None
    if num_channels < 1:
        raise ValueError(f"num_channels must be positive, got {num_channels}")
    return factory(num_channels)
