"""Pictures worth looking at: sample panels and PONO moment maps (as in Figure 1 of the paper)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid

from pono_gan.layers import Moments

__all__ = ["to_unit_range", "normalize_per_image", "moment_labels", "moment_maps", "sample_panel"]


def to_unit_range(images: Tensor) -> Tensor:
    """Map model images in [-1, 1] to [0, 1] (clamped), in float32."""
    return ((images.detach().float() + 1) / 2).clamp_(0, 1)


def normalize_per_image(maps: Tensor) -> Tensor:
    """Min-max each (1, H, W) map of a (B, 1, H, W) batch to [0, 1] so its structure is visible."""
    maps = maps.detach().float()
    flat = maps.flatten(1)
    low, high = flat.min(1).values.view(-1, 1, 1, 1), flat.max(1).values.view(-1, 1, 1, 1)
    return (maps - low) / (high - low).clamp_min(1e-8)


def moment_maps(moments: Sequence[Moments], size: tuple[int, int]) -> dict[str, Tensor]:
    """``{"mean/stage1": (B, 3, H, W), "std/stage1": ..., ...}``: each stage's maps, normalized and resized to ``size``.

    Stages count from the shallowest (1 = after the first downsampling).
    """
    panels = {}
    for index, stage in enumerate(moments, start=1):
        for name, maps in (("mean", stage.mean), ("std", stage.std)):
            resized = F.interpolate(normalize_per_image(maps), size=size, mode="nearest")
            panels[f"{name}/stage{index}"] = resized.expand(-1, 3, -1, -1)
    return panels


def moment_labels(names: Iterable[str]) -> list[str]:
    """Column labels for :func:`moment_maps`' names (or the dict itself), in their order: ``mean 1``, ``std 1``, ..."""
    return [name.replace("/stage", " ") for name in names]


def _label_strip(labels: Sequence[str], cell_width: int, padding: int) -> Tensor:
    """A white (3, h, W) strip with each label centred over its column, in PIL's built-in font, shrunk to fit."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(8, min(16, cell_width // 5))
    height = size + 6
    strip = Image.new("RGB", (padding + len(labels) * cell_width, height), "white")
    draw = ImageDraw.Draw(strip)
    for index, label in enumerate(labels):
        font_size = size
        font = ImageFont.load_default(font_size)
        while font_size > 6 and draw.textlength(label, font=font) > cell_width - padding - 2:
            font_size -= 1
            font = ImageFont.load_default(font_size)
        width = draw.textlength(label, font=font)
        left = padding + index * cell_width + max(0, (cell_width - padding - width) / 2)
        draw.text((left, (height - font_size) / 2 - 1), label, fill="black", font=font)
    return torch.from_numpy(np.asarray(strip).copy()).permute(2, 0, 1).float() / 255


def sample_panel(columns: Sequence[Tensor], labels: Sequence[str] | None = None, padding: int = 2) -> Tensor:
    """One (3, H', W') grid image: a row per sample, one column per entry of ``columns`` (each (B, C, H, W) in [0, 1]).

    Grayscale columns are repeated to 3 channels; columns of other sizes are resized to the first one's size.
    ``labels`` (one per column) are written above the columns in the image itself, so the picture says what it
    shows wherever it ends up (a PNG, a W&B panel, a report).
    """
    if not columns:
        raise ValueError("sample_panel needs at least one column")
    if labels is not None and len(labels) != len(columns):
        raise ValueError(f"sample_panel got {len(labels)} labels for {len(columns)} columns")
    size = columns[0].shape[-2:]
    prepared = []
    for column in columns:
        column = column.detach().float().cpu()
        if column.shape[1] == 1:
            column = column.expand(-1, 3, -1, -1)
        elif column.shape[1] > 3:
            column = column[:, :3]
        if column.shape[-2:] != size:
            column = F.interpolate(column, size=size, mode="bilinear", align_corners=False)
        prepared.append(column)
    interleaved = torch.stack(prepared, dim=1).flatten(0, 1)  # sample-major: row i = sample i
    grid = make_grid(interleaved, nrow=len(prepared), padding=padding, pad_value=1.0)
    if labels is None:
        return grid
    strip = _label_strip(labels, int(size[-1]) + padding, padding)
    return torch.cat([strip[:, :, : grid.shape[-1]], grid], dim=1)
