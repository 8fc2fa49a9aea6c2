"""Preprocessing presets (junyanz pix2pix/CycleGAN semantics) with geometry shared by the two images of a pair.

A preset maps an image of size (H, W) to a resized size, then to a crop window; the window and the flip are
sampled once per sample (:meth:`Preprocessing.sample`) and applied to every image of that sample
(:func:`apply_geometry`), so an input and its target stay pixel-aligned.

=========================  ============================================================  =====================
preset                     resize                                                        crop
=========================  ============================================================  =====================
``resize_and_crop``        to ``load_size`` x ``load_size``                              ``crop_size`` square
``crop``                   none                                                          ``crop_size`` square
``scale_width``            width to ``load_size``, height keeps the aspect ratio         none
``scale_width_and_crop``   width to ``load_size``, height keeps the aspect ratio         ``crop_size`` square
``none``                   none                                                          none
=========================  ============================================================  =====================

After that, H and W are rounded *down* to a multiple of ``size_multiple`` (generators downsample by a power
of two) by shrinking the crop window. Training samples a random window and a random horizontal flip
(``flip``); evaluation takes the centre window and never flips, so it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from pono_gan.errors import ConfigError, DataError, require

__all__ = [
    "PREPROCESS_NAMES",
    "Geometry",
    "Preprocess",
    "Preprocessing",
    "apply_geometry",
    "resize",
]

Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
PREPROCESS_NAMES: tuple[str, ...] = get_args(Preprocess)

_CROPPING = ("resize_and_crop", "crop", "scale_width_and_crop")
_RESIZING = ("resize_and_crop", "scale_width", "scale_width_and_crop")


class Geometry(NamedTuple):
    """Where to cut a resized image: a window ``(top, left, height, width)`` and whether to mirror it."""

    top: int
    left: int
    height: int
    width: int
    flip: bool


@dataclass(frozen=True)
class Preprocessing:
    """A preprocessing preset with its sizes (see the module docstring for the presets).

    Args:
        preprocess: the preset, one of ``resize_and_crop | crop | scale_width | scale_width_and_crop | none``.
        load_size: the side (or width, for ``scale_width*``) images are resized to.
        crop_size: the side of the square crop.
        flip: random horizontal flips in training.
        size_multiple: output height and width are rounded down to a multiple of this.
    """

    preprocess: Preprocess = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    size_multiple: int = 4

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS_NAMES:
            raise ConfigError("preprocess", self.preprocess,
                              f"unknown preset; valid presets: {', '.join(PREPROCESS_NAMES)}")
        require(self, "load_size crop_size size_multiple")
        if self.crops and self.resizes and self.crop_size > self.load_size:
            raise ConfigError("crop_size", self.crop_size, f"larger than load_size {self.load_size} for preprocess "
                                                           f"{self.preprocess!r}; lower crop_size or raise load_size")

    @property
    def crops(self) -> bool:
        """Whether the preset takes a ``crop_size`` crop."""
        return self.preprocess in _CROPPING

    @property
    def resizes(self) -> bool:
        """Whether the preset resizes (so ``load_size`` matters)."""
        return self.preprocess in _RESIZING

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """The (H, W) an image of size (height, width) is resized to, before cropping."""
        if self.preprocess == "resize_and_crop":
            return self.load_size, self.load_size
        if self.preprocess in ("scale_width", "scale_width_and_crop"):
            return max(1, round(height * self.load_size / width)), self.load_size
        return height, width

    def window_size(self, height: int, width: int) -> tuple[int, int]:
        """The output (H, W) for a *resized* image of size (height, width): crop, then round down."""
        if self.crops:
            height, width = min(height, self.crop_size), min(width, self.crop_size)
        multiple = self.size_multiple
        return height // multiple * multiple, width // multiple * multiple

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The output (H, W) for an image of original size (height, width)."""
        return self.window_size(*self.resized_size(height, width))

    def problem(self, height: int, width: int) -> str | None:
        """Why an image of original size (height, width) cannot be preprocessed, or None if it can."""
        resized = self.resized_size(height, width)
        if self.crops and min(resized) < self.crop_size:
            shown = f"{resized[1]}x{resized[0]} after resizing" if self.resizes else f"{width}x{height}"
            return f"smaller than crop_size {self.crop_size} ({shown})"
        if min(self.window_size(*resized)) < 1:
            return f"smaller than size_multiple {self.size_multiple} ({resized[1]}x{resized[0]})"
        return None

    def fix_hint(self) -> str:
        """What to change when :meth:`problem` reports an image."""
        if self.crops and self.resizes:
            return "lower crop_size or raise load_size"
        if self.crops:
            return "lower crop_size or use preprocess 'resize_and_crop'"
        return "lower size_multiple or use a resizing preset"

    def sample(self, height: int, width: int, train: bool, generator: torch.Generator | None = None) -> Geometry:
        """The window and flip for a *resized* image of size (height, width).

        Training draws a random window and flip (from ``generator``, or torch's global generator, which
        DataLoader seeds per worker); evaluation takes the centre window without a flip.

        Raises:
            ValueError: the image is smaller than the window.
        """
        window_h, window_w = self.window_size(height, width)
        if self.crops and (height < self.crop_size or width < self.crop_size) or min(window_h, window_w) < 1:
            raise DataError(
                f"a {width}x{height} image is too small for preprocess {self.preprocess!r}; {self.fix_hint()}"
            )
        if train:
            top = int(torch.randint(height - window_h + 1, (), generator=generator))
            left = int(torch.randint(width - window_w + 1, (), generator=generator))
            flip = self.flip and bool(torch.randint(2, (), generator=generator))
        else:
            top, left, flip = (height - window_h) // 2, (width - window_w) // 2, False
        return Geometry(top, left, window_h, window_w, flip)


def resize(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Bicubic resize of a (C, H, W) image in [0, 1] to ``size`` = (H, W), antialiased, clamped to [0, 1].

    Bicubic as junyanz's PIL pipeline; a no-op when the size already matches.
    """
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    resized = F.interpolate(image[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0]
    return resized.clamp_(0.0, 1.0)


def apply_geometry(image: Tensor, geometry: Geometry) -> Tensor:
    """Cut the window of ``geometry`` out of a (C, H, W) image and mirror it if asked.

    Shape:
        (C, H, W) -> (C, geometry.height, geometry.width)
    """
    top, left, height, width, flip = geometry
    if top < 0 or left < 0 or top + height > image.shape[-2] or left + width > image.shape[-1]:
        raise DataError(f"window {tuple(geometry)} does not fit a {tuple(image.shape)} image")
    out = image[..., top : top + height, left : left + width]
    if flip:
        out = out.flip(-1)
    return out.contiguous()
