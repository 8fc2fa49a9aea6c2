"""The :class:`Translator`: a generator run on images of any size, batched, padded, optionally tiled and autocast.

It also turns an out-of-memory error into advice (use ``--tile``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import Tensor, nn

from pono_gan.inference.geometry import (
    BlendAccumulator,
    pad_to_multiple,
    ramp_window,
    tile_starts,
)
from pono_gan.inference.model import PRECISIONS, InferenceError, min_input_size
from pono_gan.layers import Moments


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        text in message
        for text in ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")
    )


class Translator:
    """Run a generator on images of any size: (B, C, H, W) in [0, 1] in, (B, C_out, H, W) in [0, 1] out.

    Pads to the generator's multiple and crops back (see :func:`pad_to_multiple`), autocasts for ``bf16`` / ``16``,
    and with ``tile`` runs overlapping tiles of ``tile`` x ``tile`` pixels (``tile_overlap`` pixels of overlap,
    blended with a sin^2 window) so memory stays bounded whatever the image size. Outputs and moments come back
    on the CPU in float32.

    Args:
        generator: a pono-gan generator (has ``multiple`` and ``forward_with_moments``), in eval mode.
        device: where the generator runs (it is moved there).
        precision: ``32``, ``bf16`` or ``16``.
        tile: tile size in pixels, a multiple of ``generator.multiple``; None runs whole images.
        tile_overlap: overlap between neighbouring tiles; None means ``tile // 4``.
        batch_size: tiles per forward pass when tiling.
        with_moments: also return the PONO moments (cropped to the image; per image, stitched when tiling).
        compile: wrap the forward pass in ``torch.compile`` (pays off over many images of one size).
        train_mode: run the generator in training mode, as junyanz's ``test.py`` does unless ``--eval``: batch norm
            normalizes with the statistics of each forward's batch (junyanz tests one image at a time) and dropout
            stays on, its draws seeded with ``seed``; without it (the default) the generator runs in eval mode.
        seed: seeds torch's global generator for ``train_mode``'s dropout, so a rerun gives the same outputs.
    """

    def __init__(
        self,
        generator: nn.Module,
        device: torch.device | str = "cpu",
        precision: str = "32",
        tile: int | None = None,
        tile_overlap: int | None = None,
        batch_size: int = 4,
        with_moments: bool = False,
        compile: bool = False,
        train_mode: bool = False,
        seed: int = 0,
    ) -> None:
        if precision not in PRECISIONS:
            raise InferenceError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
        self.device = torch.device(device)
        self.generator = generator.train(train_mode).to(self.device)
        if train_mode:
            torch.manual_seed(seed)
        self.dtype = PRECISIONS[precision]
        self.multiple = generator.multiple
        self.minimum = min_input_size(generator)
        self.batch_size = max(1, batch_size)
        self.with_moments = with_moments
        if with_moments and not getattr(generator, "has_pono", False):
            raise InferenceError("--save-moments needs a generator with PONO layers; this one has none")
        self.tile = tile
        if tile is not None:
            if tile < self.minimum or tile % self.multiple:
                lower = max(self.minimum, tile // self.multiple * self.multiple)
                raise InferenceError(
                    f"--tile {tile}: tiles must be multiples of {self.multiple} (the generator downsamples by "
                    f"{self.multiple}) and at least {self.minimum}; try --tile {lower} or {lower + self.multiple}"
                )
            overlap = tile // 4 if tile_overlap is None else tile_overlap
            if not 0 <= overlap < tile:
                raise InferenceError(f"--tile-overlap {overlap}: must be at least 0 and less than --tile {tile}")
            self.stride = max(self.multiple, (tile - overlap) // self.multiple * self.multiple)
            self.overlap = tile - self.stride
        # a style model's forward takes (x, style); the others take x alone: ``style`` is passed only when given
        forward = generator.forward_with_moments if with_moments else (lambda x, *style: (generator(x, *style), []))
        if compile:
            # freezing: weights become constants, so inductor folds them and pre-packs them for oneDNN (about
            # 1.2x over eager fp32 on a 2-core AVX2 CPU, benchmarks/infer_speed.py); inference only.
            forward = torch.compile(forward, options={"freezing": True})
        self._forward: Callable[..., tuple[Tensor, list[Moments]]] = forward

    def _autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _run(self, x: Tensor, style: Tensor | None = None) -> tuple[Tensor, list[Moments]]:
        """The generator on a padded batch in [-1, 1] (with one style code for all of it, for a style model):
        output in [0, 1] and moments, float32 on the CPU."""
        styles = () if style is None else (style.to(self.device).expand(x.shape[0], -1),)
        with torch.inference_mode(), self._autocast():
            output, moments = self._forward(x.to(self.device, non_blocking=True), *styles)
        output = ((output.float() + 1) / 2).clamp_(0, 1).cpu()
        return output, [Moments(m.mean.float().cpu(), m.std.float().cpu()) for m in moments]

    def __call__(self, images: Tensor, style: Tensor | None = None) -> tuple[Tensor, list[list[Moments]]]:
        """Translate (B, C, H, W) images in [0, 1]; a style model (:class:`pono_gan.models.StyleTransfer`) needs
        ``style``, one code (1, style_dim) used for every image.

        Returns:
            ``(outputs, moments)``: (B, C_out, H, W) in [0, 1], float32, CPU; and for each image its list of
            ``Moments`` per PONO stage (each (1, 1, h, w), cropped to the image), or empty lists without
            ``with_moments``.
        """
        if images.dim() != 4:
            raise ValueError(f"Translator expects (B, C, H, W) images, got shape {tuple(images.shape)}")
        if self.tile is not None:
            results = [self._tiled(image[None], style) for image in images]
            return torch.cat([r[0] for r in results]), [r[1] for r in results]
        height, width = images.shape[-2:]
        padded, (top, left) = pad_to_multiple(images.float() * 2 - 1, self.multiple, self.minimum)
        output, moments = self._run(padded, style)
        output = output[..., top : top + height, left : left + width]
        per_image = [
            [
                self._crop_moments(
                    Moments(m.mean[i : i + 1], m.std[i : i + 1]), padded.shape[-1], top, left, height, width
                )
                for m in moments
            ]
            for i in range(images.shape[0])
        ]
        return output, per_image

    @staticmethod
    def _crop_moments(moments: Moments, padded_width: int, top: int, left: int, height: int, width: int) -> Moments:
        scale = padded_width // moments.mean.shape[-1]
        rows = slice(top // scale, top // scale + max(1, math.ceil(height / scale)))
        cols = slice(left // scale, left // scale + max(1, math.ceil(width / scale)))
        return Moments(moments.mean[..., rows, cols], moments.std[..., rows, cols])

    def _tiled(self, image: Tensor, style: Tensor | None) -> tuple[Tensor, list[Moments]]:
        """One (1, C, H, W) image in [0, 1], tile by tile; memory is bounded by the tile size and the image itself."""
        height, width = image.shape[-2:]
        padded, (top, left) = pad_to_multiple(image.float() * 2 - 1, self.multiple, self.minimum)
        full_h, full_w = padded.shape[-2:]
        tile_h, tile_w = min(self.tile, full_h), min(self.tile, full_w)
        rows, cols = tile_starts(full_h, tile_h, self.stride), tile_starts(full_w, tile_w, self.stride)
        positions = [(y, x) for y in rows for x in cols]
        output: BlendAccumulator | None = None
        stages: list[tuple[int, BlendAccumulator, BlendAccumulator]] = []
        for first in range(0, len(positions), self.batch_size):
            chunk = positions[first : first + self.batch_size]
            batch = torch.cat([padded[..., y : y + tile_h, x : x + tile_w] for y, x in chunk])
            tiles, moments = self._run(batch, style)
            if output is None:
                output = BlendAccumulator(tiles.shape[1], full_h, full_w)
                for stage in moments:
                    scale = tile_w // stage.mean.shape[-1]
                    stages.append((scale, BlendAccumulator(1, full_h // scale, full_w // scale),
                                   BlendAccumulator(1, full_h // scale, full_w // scale)))
            for index, (y, x) in enumerate(chunk):
                output.add(tiles[index], y, x, self._window(y, x, tile_h, tile_w, full_h, full_w, 1))
                for (scale, mean, std), stage in zip(stages, moments):
                    window = self._window(y, x, tile_h, tile_w, full_h, full_w, scale)
                    mean.add(stage.mean[index], y // scale, x // scale, window)
                    std.add(stage.std[index], y // scale, x // scale, window)
        assert output is not None
        result = output.result()[None, :, top : top + height, left : left + width]
        stitched = [
            self._crop_moments(Moments(mean.result()[None], std.result()[None]), full_w, top, left, height, width)
            for _, mean, std in stages
        ]
        return result, stitched

    def _window(self, y: int, x: int, tile_h: int, tile_w: int, full_h: int, full_w: int, scale: int) -> Tensor:
        overlap = max(1, self.overlap // scale) if self.overlap else 0
        rows = ramp_window(tile_h // scale, overlap, y > 0, y + tile_h < full_h)
        cols = ramp_window(tile_w // scale, overlap, x > 0, x + tile_w < full_w)
        return torch.outer(rows, cols)[None]
