"""Image geometry for inference: resizing, padding to the generator's multiple, and the tiles of a large image.

Pure tensor functions; the :class:`pono_gan.inference.Translator` puts them together."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_shorter_side(image: Tensor, size: int) -> Tensor:
    """Resize (C, H, W) or (B, C, H, W) so the shorter side is ``size`` (aspect kept; bicubic, antialiased, clamped)."""
    height, width = image.shape[-2:]
    scale = size / min(height, width)
    return resize_to(image, (max(1, round(height * scale)), max(1, round(width * scale))))


def resize_to(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (C, H, W) or (B, C, H, W) images in [0, 1] to ``size`` = (H, W); a no-op when the size matches."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    batch = image if image.dim() == 4 else image[None]
    resized = F.interpolate(batch.float(), size=size, mode="bicubic", align_corners=False, antialias=True).clamp_(0, 1)
    return resized if image.dim() == 4 else resized[0]


def padded_size(size: int, multiple: int, minimum: int) -> int:
    """The smallest multiple of ``multiple`` that is >= ``size`` and >= ``minimum``."""
    return max(math.ceil(size / multiple) * multiple, minimum)


def pad_to_multiple(x: Tensor, multiple: int, minimum: int = 1) -> tuple[Tensor, tuple[int, int]]:
    """Pad (B, C, H, W) evenly on both sides to H, W multiples of ``multiple`` (and >= ``minimum``).

    Reflect padding (no artificial edges) where the image is large enough; replicate padding where a side is too
    small to reflect (reflect needs pad < size). Returns the padded batch and the (top, left) offset of the
    original inside it; crop with ``padded[..., top:top + H, left:left + W]``.
    """
    height, width = x.shape[-2:]
    pad_h = padded_size(height, multiple, minimum) - height
    pad_w = padded_size(width, multiple, minimum) - width
    if pad_h == 0 and pad_w == 0:
        return x, (0, 0)
    top, left = pad_h // 2, pad_w // 2
    pads = (left, pad_w - left, top, pad_h - top)
    mode = "reflect" if max(top, pad_h - top) < height and max(left, pad_w - left) < width else "replicate"
    return F.pad(x, pads, mode=mode), (top, left)


def ramp_window(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> Tensor:
    """1-D blending weights: 1 inside, a sin^2 ramp (never 0) over ``overlap`` pixels on sides that touch another
    tile."""
    weights = torch.ones(length)
    count = min(overlap, length)
    if count > 0:
        ramp = torch.sin(0.5 * math.pi * (torch.arange(count) + 0.5) / count) ** 2
        if ramp_start:
            weights[:count] = torch.minimum(weights[:count], ramp)
        if ramp_end:
            weights[-count:] = torch.minimum(weights[-count:], ramp.flip(0))
    return weights


def tile_starts(size: int, tile: int, stride: int) -> list[int]:
    """Tile offsets along one axis: every ``stride`` pixels, the last tile flush with the end."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


class BlendAccumulator:
    """Weighted sum of overlapping tiles on the CPU, in float32: ``result = sum(w * tile) / sum(w)``."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        self.total = torch.zeros(channels, height, width)
        self.weight = torch.zeros(1, height, width)

    def add(self, tile: Tensor, top: int, left: int, window: Tensor) -> None:
        height, width = tile.shape[-2:]
        self.total[:, top : top + height, left : left + width].addcmul_(tile.float().cpu(), window)
        self.weight[:, top : top + height, left : left + width].add_(window)

    def result(self) -> Tensor:
        return self.total / self.weight.clamp_min(1e-12)
