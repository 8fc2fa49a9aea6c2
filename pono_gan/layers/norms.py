"""The one norm factory: every norm is built as ``create_norm(name, num_channels)``."""

from __future__ import annotations

import math
from collections.abc import Callable

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
    ``affine=False`` drops the affine (the official MUNIT + PONO-MS code's norm before a Moment Shortcut).
    """

    def __init__(self, num_channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(num_channels).uniform_()) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_channels)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # float64 stays float64
        shape = (-1,) + (1,) * (x.dim() - 1)
        flat = work.flatten(1)
        mean, std = flat.mean(1).view(shape), flat.std(1).view(shape)
        y = (work - mean) / (std + self.eps)
        if self.weight is not None:
            affine_shape = (1, -1) + (1,) * (x.dim() - 2)
            y = y * self.weight.view(affine_shape) + self.bias.view(affine_shape)
        return y.to(x.dtype)


_NORMS: dict[str, Callable[[int], nn.Module]] = {
    # junyanz's CycleGAN/pix2pix choice: no affine parameters, no running statistics.
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "group": lambda c: nn.GroupNorm(group_count(c), c),
    "batch": lambda c: nn.BatchNorm2d(c),
    # Layer norm over (C, H, W) per sample, as in MUNIT's decoder.
    "layer": lambda c: nn.GroupNorm(1, c),
    "none": lambda c: nn.Identity(),
    # Two norms of the references' own, not offered as a ``norm`` choice: MUNIT's decoder layer norm, and the
    # official MUNIT + PONO-MS code's instance norm (with an affine, where junyanz and MUNIT have none).
    "munit_layer": MunitLayerNorm,
    "instance_affine": lambda c: nn.InstanceNorm2d(c, affine=True, track_running_stats=False),
}
_INTERNAL_NORMS = ("munit_layer", "instance_affine")

#: The ``norm`` choices of the generators and discriminators.
NORM_NAMES: tuple[str, ...] = tuple(name for name in _NORMS if name not in _INTERNAL_NORMS)


def create_norm(name: str, num_channels: int) -> nn.Module:
    """Build the norm ``name`` for ``num_channels`` channels.

    Args:
        name: one of ``instance | group | batch | layer | none``, or a reference's own: ``munit_layer``
            (:class:`MunitLayerNorm`) and ``instance_affine`` (``InstanceNorm2d`` with an affine).
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
