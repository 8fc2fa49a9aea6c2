"""Translate images with a trained pono-gan checkpoint: the logic behind ``infer.py``.

The pipeline, in order:

1. :func:`load_model`: the checkpoint alone rebuilds the generator (architecture, channels, direction), in eval
   mode exactly as validation runs it. A paired model translates the direction it was trained for; an unpaired one
   needs ``direction="AtoB"`` or ``"BtoA"``.
2. :func:`plan_jobs`: one file, a folder, or a folder tree (recursive) becomes ``(source, target)`` pairs; the
   output tree mirrors the input tree and keeps file names (the extension can be changed).
3. Decoding runs in DataLoader workers (:mod:`pono_gan.data.io` rules: EXIF orientation, palette / 16-bit /
   grayscale inputs, alpha composited over white), optionally resized so the shorter side is ``load_size``.
4. :class:`Translator`: same-size images are batched; each batch is padded to the generator's multiple (reflect,
   or replicate where the image is too small to reflect), run under ``torch.inference_mode`` (and autocast for
   ``bf16`` / ``16``), cropped back, and resized back to the input size if it was resized. With ``tile``, large
   images run tile by tile with overlapping tiles blended by a smooth window, in bounded memory.
5. Outputs (and ``*_moments.png`` maps) are written atomically by background threads
   (:func:`pono_gan.data.io.save_image`), so a killed run leaves no truncated file; a rerun skips outputs that
   exist unless ``overwrite``.

Alpha: an RGBA / LA / transparent-palette input is translated as composited over white, and its alpha is put
back unchanged on the output where the format has alpha (PNG, WebP, TIFF); JPEG and BMP drop it;
``keep_alpha=False`` drops it everywhere.

Tiles: PONO and instance norm use per-image statistics, so a tile does not see the statistics of the whole
image and tiled results differ slightly from whole-image results (most near tile seams, which the window hides).
Use tiles only when the whole image does not fit in memory, and make them as large as memory allows.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
import warnings
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision.utils import make_grid

from pono_gan.checkpoint import KEY, CheckpointError, generator_from_checkpoint, read_checkpoint
from pono_gan.data.io import IMAGE_EXTENSIONS, ImageReadError, list_images, load_image_and_alpha, save_image
from pono_gan.hardware import cpu_has_native
from pono_gan.layers import Moments
from pono_gan.models import GeneratorConfig, MunitConfig, MunitGenerator, ResnetGenerator, StyleTransfer
from pono_gan.viz import moment_maps

__all__ = [
    "DIRECTIONS",
    "EXPORT_FORMATS",
    "PRECISIONS",
    "InferenceError",
    "InferenceOptions",
    "Job",
    "Model",
    "Summary",
    "Translator",
    "export_generator",
    "load_model",
    "min_input_size",
    "moments_panel",
    "pad_to_multiple",
    "plan_jobs",
    "resize_shorter_side",
    "default_batch_size",
    "resolve_device",
    "run_inference",
    "style_codes",
    "translate_jobs",
]

DIRECTIONS = ("AtoB", "BtoA")
PRECISIONS: dict[str, torch.dtype | None] = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}
EXPORT_FORMATS = ("onnx", "torchscript")
MOMENTS_SUFFIX = "_moments.png"


class InferenceError(ValueError):
    """A problem with the request (paths, flags, model): the message is one line saying what to do."""


# --------------------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Model:
    """A generator rebuilt from a checkpoint, with what the checkpoint says about it."""

    generator: nn.Module
    direction: str
    task: str
    config: GeneratorConfig | MunitConfig
    data: dict[str, Any]
    path: Path

    @property
    def multiple(self) -> int:
        return self.generator.multiple

    @property
    def has_pono(self) -> bool:
        return bool(getattr(self.generator, "has_pono", False))

    @property
    def styled(self) -> bool:
        """A style (MUNIT) model: its generator needs a style code besides the image."""
        return isinstance(self.generator, StyleTransfer)


def load_model(checkpoint: str | os.PathLike, direction: str | None = None, map_location: str = "cpu") -> Model:
    """Rebuild the generator a checkpoint holds, in eval mode; no architecture arguments are needed.

    Args:
        checkpoint: a ``.ckpt`` written by ``train.py`` (see :mod:`pono_gan.checkpoint`).
        direction: ``AtoB`` or ``BtoA`` for an unpaired or style model (required there); must be None for a paired
            model, which translates the direction it was trained for. A style checkpoint gives a
            :class:`pono_gan.models.StyleTransfer`: the source domain's content encoder, the target's decoder.

    Raises:
        CheckpointError: missing, truncated or foreign file; a direction the checkpoint lacks.
        InferenceError: ``direction`` given for a paired model or missing for an unpaired one.
    """
    path = Path(checkpoint)
    data = read_checkpoint(path, map_location=map_location)
    meta = data[KEY]
    task = meta.get("task", "paired")
    generators = meta.get("generators") or {}
    if direction is not None and direction not in DIRECTIONS:
        raise InferenceError(f"unknown direction {direction!r}; valid: {', '.join(DIRECTIONS)}")
    if task == "paired":
        trained = meta.get("direction") or next(iter(generators), None)
        if direction is not None:
            raise InferenceError(
                f"{path}: a paired model translates the direction it was trained for ({trained}) only; drop --direction"
            )
        direction = trained
    elif direction is None:
        kind = "a style model holds the domains" if task == "style" else "an unpaired model holds"
        raise InferenceError(f"{path}: {kind} {' and '.join(generators)} generators; pass --direction AtoB or --direction BtoA")
    if direction is None:
        raise CheckpointError(f"{path}: holds no generator; use a .ckpt written by train.py")
    if task == "style":
        source, target = (generator_from_checkpoint(data, domain, path) for domain in (direction[0], direction[-1]))
        generator: nn.Module = StyleTransfer(source, target).eval()
        config = MunitConfig.from_dict({**generators[direction[0]]["config"],
                                        "out_channels": generators[direction[-1]]["config"]["out_channels"]})
    else:
        generator = generator_from_checkpoint(data, direction, path)
        config = GeneratorConfig.from_dict(generators[direction]["config"])
    for name, channels in (("input", config.in_channels), ("output", config.out_channels)):
        if channels not in (1, 3):
            raise InferenceError(
                f"{path}: the generator has {channels} {name} channels; image files need 1 or 3 (use --export and your own I/O)"
            )
    return Model(generator, direction, task, config, dict(meta.get("data") or {}), path)


def min_input_size(generator: nn.Module) -> int:
    """The smallest H or W the generator accepts (a multiple of ``generator.multiple``).

    A ResNet generator (and MUNIT's content encoder) reflect-pads its bottleneck by 1, so the bottleneck needs at
    least 2 pixels.
    """
    multiple = generator.multiple
    return 2 * multiple if isinstance(generator, (ResnetGenerator, MunitGenerator, StyleTransfer)) else multiple


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InferenceError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InferenceError("--device cuda: no CUDA GPU is visible to this PyTorch build; use --device cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise InferenceError(f"unsupported device {name!r}; valid: auto, cpu, cuda, cuda:N")
    return device


def precision_warning(precision: str, device: torch.device) -> str | None:
    """A one-line warning when ``precision`` is emulated on this device (far slower than float32), else None."""
    dtype = PRECISIONS[precision]
    if dtype is None or device.type != "cpu" or cpu_has_native(dtype):
        return None
    kind = "bfloat16 (AVX512-BF16 or AMX)" if dtype is torch.bfloat16 else "float16 (AMX-FP16)"
    return f"this CPU has no native {kind} support: --precision {precision} is emulated and much slower than 32 here"


# ------------------------------------------------------------------------------------------------- jobs / paths


@dataclass(frozen=True)
class Job:
    """One input file, where its translation (and optional moment maps) go, and, for a style model, the name of
    the style it is rendered in (a key of the style codes, see :func:`style_codes`)."""

    source: Path
    target: Path
    moments: Path | None = None
    style: str | None = None

    def done(self) -> bool:
        return self.target.is_file() and (self.moments is None or self.moments.is_file())


def _normalize_extension(extension: str) -> str | None:
    if extension in ("same", "", None):
        return None
    extension = extension.lower()
    extension = extension if extension.startswith(".") else "." + extension
    if extension not in IMAGE_EXTENSIONS:
        raise InferenceError(f"unknown output extension {extension!r}; valid: same, {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")
    return extension


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan_jobs(
    input_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    extension: str = "same",
    recursive: bool = True,
    save_moments: bool = False,
    styles: Sequence[str] = (),
) -> list[Job]:
    """Map every image under ``input_path`` to its output path under ``output_dir``.

    Args:
        input_path: an image file, or a folder (searched recursively unless ``recursive=False``).
        output_dir: the folder that receives the mirrored tree; must not be, or lie inside, the input folder.
        extension: ``same`` keeps each input's extension (and so its format); ``png``, ``jpg``, ... change it.
        save_moments: also plan ``NAME_moments.png`` beside every output.
        styles: style names for a style model: each input ``NAME.ext`` gets one output ``NAME_STYLE.ext`` per style.

    Raises:
        InferenceError: missing input, empty folder, an output folder inside the input, or two inputs that would
            write the same output (e.g. ``a.jpg`` and ``a.png`` with ``extension="png"``).
    """
    source = Path(input_path)
    output = Path(output_dir)
    suffix = _normalize_extension(extension)
    if not source.exists():
        raise InferenceError(f"input not found: {source} (pass an image file or a folder of images)")
    if output.exists() and not output.is_dir():
        raise InferenceError(f"output is a file, not a folder: {output}")
    resolved_output = output.resolve()
    if source.is_dir():
        resolved_input = source.resolve()
        if _inside(resolved_output, resolved_input):
            raise InferenceError(
                f"output folder {output} is {'the input folder' if resolved_output == resolved_input else 'inside the input folder'} "
                f"{source}: a rerun would read its own outputs; choose a folder outside it"
            )
        files = list_images(source, recursive=recursive)
        if not files:
            where = "under" if recursive else "in"
            raise InferenceError(
                f"no images found {where} {source} (looked for {', '.join(IMAGE_EXTENSIONS)}"
                f"{'' if recursive else '; drop --no-recursive to search sub-folders'})"
            )
        relatives = [file.relative_to(source) for file in files]
    else:
        files, relatives = [source], [Path(source.name)]
    jobs, claimed = [], {}
    for file, relative in zip(files, relatives):
        mirrored = output / (relative.with_suffix(suffix) if suffix else relative)
        for style in styles or (None,):
            target = mirrored if style is None else mirrored.with_name(f"{mirrored.stem}_{style}{mirrored.suffix}")
            moments = target.with_name(target.stem + MOMENTS_SUFFIX) if save_moments else None
            for path in (target, moments):
                if path is None:
                    continue
                if path.resolve() == file.resolve():
                    raise InferenceError(f"{file}: its output would overwrite it; choose another output folder")
                if path in claimed:
                    raise InferenceError(
                        f"{file} and {claimed[path]} would both write {path}; use --ext same or rename one of them"
                    )
                claimed[path] = file
            jobs.append(Job(file, target, moments, style))
    return jobs


def remove_stale_temporaries(jobs: Sequence[Job]) -> int:
    """Delete temporary files a killed run left beside the planned outputs (``.NAME.XXXX.part``); returns the count.

    Only files that :func:`pono_gan.data.io.save_image` would have created for these outputs are touched.
    """
    names_by_folder: dict[Path, set[str]] = {}
    for job in jobs:
        for path in (job.target, job.moments):
            if path is not None:
                names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        if not folder.is_dir():
            continue
        for candidate in folder.glob(".*.part"):
            name = candidate.name[1:].rsplit(".", 2)[0]
            if name in names:
                try:
                    candidate.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


# ------------------------------------------------------------------------------------------------- tensor helpers


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


def _ramp_window(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> Tensor:
    """1-D blending weights: 1 inside, a sin^2 ramp (never 0) over ``overlap`` pixels on sides that touch another tile."""
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


class _Accumulator:
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


def moments_panel(moments: Sequence[Moments]) -> Tensor:
    """One (3, H', W') picture of a single image's PONO moments: the mean maps on the top row, the std maps below,
    one column per encoder stage (shallowest on the left), each min-max normalized and shown at the size of the
    first stage (half the working resolution), 2-pixel white gaps.
    """
    if not moments:
        raise ValueError("moments_panel needs at least one stage")
    size = tuple(moments[0].mean.shape[-2:])
    maps = moment_maps([Moments(m.mean[:1].float().cpu(), m.std[:1].float().cpu()) for m in moments], size)
    stages = len(moments)
    ordered = [maps[f"mean/stage{i}"] for i in range(1, stages + 1)] + [maps[f"std/stage{i}"] for i in range(1, stages + 1)]
    return make_grid(torch.cat(ordered), nrow=stages, padding=2, pad_value=1.0)


# ------------------------------------------------------------------------------------------------- translator


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        text in message for text in ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")
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
    ) -> None:
        if precision not in PRECISIONS:
            raise InferenceError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
        self.device = torch.device(device)
        self.generator = generator.eval().to(self.device)
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
            [self._crop_moments(Moments(m.mean[i : i + 1], m.std[i : i + 1]), padded.shape[-1], top, left, height, width) for m in moments]
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
        output: _Accumulator | None = None
        stages: list[tuple[int, _Accumulator, _Accumulator]] = []
        for first in range(0, len(positions), self.batch_size):
            chunk = positions[first : first + self.batch_size]
            batch = torch.cat([padded[..., y : y + tile_h, x : x + tile_w] for y, x in chunk])
            tiles, moments = self._run(batch, style)
            if output is None:
                output = _Accumulator(tiles.shape[1], full_h, full_w)
                for stage in moments:
                    scale = tile_w // stage.mean.shape[-1]
                    stages.append((scale, _Accumulator(1, full_h // scale, full_w // scale), _Accumulator(1, full_h // scale, full_w // scale)))
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
        rows = _ramp_window(tile_h // scale, overlap, y > 0, y + tile_h < full_h)
        cols = _ramp_window(tile_w // scale, overlap, x > 0, x + tile_w < full_w)
        return torch.outer(rows, cols)[None]


# ------------------------------------------------------------------------------------------------- the run


@dataclass
class InferenceOptions:
    """Everything ``infer.py`` can set besides the paths (defaults are the CLI's)."""

    direction: str | None = None
    extension: str = "same"
    recursive: bool = True
    load_size: int | str | None = None
    keep_alpha: bool = True
    batch_size: int | None = None
    workers: int = 2
    device: str = "auto"
    precision: str = "32"
    tile: int | None = None
    tile_overlap: int | None = None
    save_moments: bool = False
    overwrite: bool = False
    compile: bool = False
    progress: bool = True
    style: str | None = None
    num_styles: int = 0
    seed: int = 0


@dataclass
class Summary:
    """What a run did; ``failures`` holds one line per failed input."""

    written: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.written} written, {self.skipped} skipped, {self.failed} failed "
            f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s)"
        )


class _Decode(Dataset):
    """Decodes one image per item in a DataLoader worker; failures come back as messages, not exceptions."""

    def __init__(self, sources: Sequence[Path], channels: int, load_size: int | None) -> None:
        self.sources = list(sources)
        self.channels = channels
        self.load_size = load_size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.sources[index]
        try:
            image, alpha = load_image_and_alpha(path, self.channels)
            size = tuple(image.shape[-2:])
            if self.load_size:
                image = resize_shorter_side(image, self.load_size)
        except ImageReadError as error:
            return {"index": index, "error": str(error)}
        except Exception as error:  # any decoder failure names the file; the run goes on
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return {"index": index, "error": f"{path}: cannot be read ({reason})"}
        return {"index": index, "image": image, "alpha": alpha, "size": size, "error": None}


def _warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def _resolve_load_size(load_size: int | str | None, model: Model) -> int | None:
    if load_size in (None, 0, "", "none"):
        return None
    if load_size == "train":
        value = model.data.get("load_size")
        if not value:
            raise InferenceError(f"{model.path}: stores no training load_size; pass --load-size PIXELS")
        return int(value)
    try:
        value = int(load_size)
    except (TypeError, ValueError):
        raise InferenceError(f"--load-size {load_size!r}: pass a number of pixels or 'train'") from None
    if value < 1:
        raise InferenceError(f"--load-size {value}: must be positive")
    return value


def default_batch_size(device: torch.device) -> int:
    """1 on a CPU (batching made a 2-core CPU slower per image: the convolutions already use every core), 8 on a GPU."""
    return 1 if device.type == "cpu" else 8


def translate_jobs(
    model: Model,
    jobs: Sequence[Job],
    options: InferenceOptions = InferenceOptions(),
    warn: Callable[[str], None] = _warn,
    translator: Translator | None = None,
    styles: Mapping[str, Tensor] | None = None,
) -> Summary:
    """Translate ``jobs`` with ``model``; per-input failures are warned about and counted, never raised.

    ``translator`` reuses a :class:`Translator` across calls (e.g. a compiled one); by default one is built from
    ``options`` (device, precision, tile, batch size, moments, compile). A style model needs ``styles``, the codes
    its jobs name (:func:`style_codes`); each input is decoded once however many styles it is rendered in.

    Raises:
        InferenceError: bad options (tile size, precision, device, load size, moments without PONO), a style job
            without its code.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    device = translator.device if translator is not None else resolve_device(options.device)
    if options.precision not in PRECISIONS:
        raise InferenceError(f"unknown precision {options.precision!r}; valid: {', '.join(PRECISIONS)}")
    note = precision_warning(options.precision, device)
    if note:
        warn(note)
    load_size = _resolve_load_size(options.load_size, model)
    batch_size = options.batch_size or default_batch_size(device)
    if batch_size < 1:
        raise InferenceError(f"--batch-size {batch_size}: must be at least 1")
    if translator is None:
        translator = Translator(
            model.generator,
            device,
            options.precision,
            options.tile,
            options.tile_overlap,
            batch_size,
            with_moments=options.save_moments,
            compile=options.compile,
        )
    summary = Summary()
    remove_stale_temporaries(jobs)
    todo = list(jobs) if options.overwrite else [job for job in jobs if not job.done()]
    summary.skipped = len(jobs) - len(todo)
    if not todo:
        summary.seconds = time.perf_counter() - start
        return summary

    missing = {job.style for job in todo if job.style is not None} - set(styles or {})
    if missing or (model.styled and any(job.style is None for job in todo)):
        raise InferenceError(f"{model.path}: a style model needs a style code for every job (missing: {sorted(missing) or 'none given'})")
    jobs_of: dict[Path, list[Job]] = {}
    for job in todo:
        jobs_of.setdefault(job.source, []).append(job)
    sources = list(jobs_of)
    workers = max(0, options.workers) if len(sources) > 1 else 0
    loader = DataLoader(
        _Decode(sources, model.config.in_channels, load_size),
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )
    bar = tqdm(total=len(todo), unit="img", desc="translating", disable=not options.progress, dynamic_ncols=True, file=sys.stderr)
    writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pono-gan-writer")
    writes: deque[tuple[Job, Future]] = deque()
    max_writes = max(4, 2 * batch_size)

    def fail(message: str) -> None:
        summary.failed += 1
        summary.failures.append(message)
        warn(message)

    def finish_writes(limit: int) -> None:
        while len(writes) > limit:
            job, future = writes.popleft()
            try:
                future.result()
                summary.written += 1
            except Exception as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                fail(f"{job.target}: cannot be written ({reason})")

    def save(job: Job, image: Tensor, alpha: Tensor | None, moments: list[Moments]) -> None:
        if job.moments is not None:
            save_image(moments_panel(moments), job.moments)
        save_image(image, job.target, alpha if options.keep_alpha else None)

    def process(entries: list[tuple[dict[str, Any], Job]]) -> None:
        """Translate same-size images that share a style; ``entries`` are (decoded item, job) pairs."""
        batch = torch.stack([item["image"] for item, _ in entries])
        style = entries[0][1].style
        try:
            outputs, moments = translator(batch, None if style is None else styles[style])
        except Exception as error:
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if len(entries) > 1:  # retry one by one: only the image that cannot run fails
                for entry in entries:
                    process([entry])
                return
            job, (height, width) = entries[0][1], batch.shape[-2:]
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            if _is_out_of_memory(error):
                hint = f"a smaller --tile (now {translator.tile})" if translator.tile else "--tile 512 (or smaller) to process it in tiles"
                fail(f"{job.source}: out of memory translating {width}x{height} on {device}; rerun with {hint}")
            else:
                fail(f"{job.source}: translation failed ({type(error).__name__}: {reason})")
            bar.update(1)
            return
        for index, (item, job) in enumerate(entries):
            output = resize_to(outputs[index], tuple(item["size"]))
            writes.append((job, writer.submit(save, job, output, item["alpha"], moments[index])))
        bar.update(len(entries))
        finish_writes(max_writes)

    buckets: OrderedDict[tuple[Any, ...], list[tuple[dict[str, Any], Job]]] = OrderedDict()
    try:
        for item in loader:
            source_jobs = jobs_of[sources[item["index"]]]
            if item["error"] is not None:
                fail(item["error"])  # one line per input; every output of it counts as failed
                summary.failed += len(source_jobs) - 1
                bar.update(len(source_jobs))
                continue
            for job in source_jobs:
                if translator.tile is not None:
                    process([(item, job)])
                    continue
                key = (*item["image"].shape, job.style)
                buckets.setdefault(key, []).append((item, job))
                if len(buckets[key]) >= batch_size:
                    process(buckets.pop(key))
                elif sum(map(len, buckets.values())) > 2 * batch_size:
                    process(buckets.popitem(last=False)[1])  # bound memory: run the oldest partial batch
        while buckets:
            process(buckets.popitem(last=False)[1])
        finish_writes(0)
    finally:
        writer.shutdown(wait=True)
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def run_inference(
    checkpoint: str | os.PathLike,
    input_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    options: InferenceOptions = InferenceOptions(),
    warn: Callable[[str], None] = _warn,
) -> Summary:
    """Checkpoint + an image file or folder in, a mirrored folder of translations out (what ``infer.py`` runs).

    Raises:
        CheckpointError, InferenceError: one-line problems with the checkpoint, the paths or the options.
    """
    model = load_model(checkpoint, options.direction)
    if options.save_moments and not model.has_pono:
        raise InferenceError(f"{model.path}: --save-moments needs a PONO generator; this one has no PONO layers")
    styles = None
    if model.styled:
        if options.style is None and options.num_styles == 0:
            raise InferenceError(
                f"{model.path}: a style model needs --style IMAGE_OR_DIR (example images of the target domain) "
                "or --num-styles N (random styles)"
            )
        plan_jobs(input_path, output_dir, options.extension, options.recursive)  # input errors before any encoding
        model.generator.to(resolve_device(options.device))
        styles = style_codes(model, options.style, options.num_styles, options.seed,
                             _style_size(model, options.load_size), options.recursive, warn)
    elif options.style is not None or options.num_styles:
        raise InferenceError(f"{model.path}: --style / --num-styles need a style model (task: style); this is a {model.task} model")
    jobs = plan_jobs(input_path, output_dir, options.extension, options.recursive, options.save_moments, list(styles or ()))
    return translate_jobs(model, jobs, options, warn, styles=styles)


def _style_size(model: Model, load_size: int | str | None) -> int | None:
    """The shorter side style examples are encoded at: ``--load-size`` when given, else the training load_size
    when training resized images, else None (each example at its own size)."""
    size = _resolve_load_size(load_size, model)
    if size is None and model.data.get("preprocess", "none") != "none":
        size = model.data.get("load_size")
    return int(size) if size else None


def style_codes(
    model: Model,
    style: str | os.PathLike | None = None,
    num_styles: int = 0,
    seed: int = 0,
    size: int | None = None,
    recursive: bool = True,
    warn: Callable[[str], None] = _warn,
) -> dict[str, Tensor]:
    """The styles a style model renders every input in, by name, each a (1, style_dim) float32 code on the CPU.

    * ``style``: an example image of the target domain, or a folder of them (recursive unless ``recursive=False``),
      named by their path under the folder without extension (``sub/b.png`` -> ``sub-b``). Each is read like an
      input (target domain's channel count, alpha over white, EXIF orientation), resized so its shorter side is
      ``size`` when given and enlarged to the style encoder's minimum when smaller, then encoded by the target
      domain's style encoder. An unreadable example is warned about and skipped.
    * ``num_styles``: ``random0``, ``random1``, ... drawn from the prior N(0, I) with ``seed``: the same codes on
      every run (``random<k>`` does not depend on ``num_styles``), so a rerun completes the same outputs.

    Raises:
        InferenceError: neither given, a missing path, a folder without images, two examples with one name, or no
            readable example.
    """
    generator = model.generator
    if not isinstance(generator, StyleTransfer):
        raise InferenceError(f"{model.path}: styles need a style model (task: style); this is a {model.task} model")
    if num_styles < 0:
        raise InferenceError(f"--num-styles {num_styles}: must be 0 or more")
    codes: dict[str, Tensor] = {}
    if style is not None:
        path = Path(style)
        if not path.exists():
            raise InferenceError(f"style not found: {path} (pass an example image of the target domain or a folder of them)")
        files = list_images(path, recursive=recursive) if path.is_dir() else [path]
        if not files:
            raise InferenceError(f"no images found in the style folder {path} (looked for {', '.join(IMAGE_EXTENSIONS)})")
        device = next(generator.parameters()).device
        minimum = generator.style_min_size
        named: dict[str, Path] = {}
        for file in files:
            name = "-".join(file.relative_to(path).with_suffix("").parts) if path.is_dir() else file.stem
            if name in named:
                raise InferenceError(f"style examples {named[name]} and {file} would both be named {name!r}; rename one")
            named[name] = file
            try:
                image, _ = load_image_and_alpha(file, model.config.out_channels)
            except Exception as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                warn(reason if isinstance(error, ImageReadError) else f"{file}: cannot be read ({reason})")
                continue
            if size is not None:
                image = resize_shorter_side(image, size)
            if min(image.shape[-2:]) < minimum:
                image = resize_shorter_side(image, minimum)
            with torch.inference_mode():
                codes[name] = generator.encode_style(image[None].to(device) * 2 - 1).float().cpu()
        if not codes:
            raise InferenceError(f"no readable style example in {path}; see the warnings above")
    seeded = torch.Generator().manual_seed(seed)
    for index in range(num_styles):  # one draw per code: random<k> is the same whatever num_styles is
        name = f"random{index}"
        if name in codes:
            raise InferenceError(f"a style example is named {name!r}, as a random style; rename it or drop --num-styles")
        codes[name] = generator.random_style(1, seeded).float().cpu()
    if not codes:
        raise InferenceError(f"{model.path}: pass --style IMAGE_OR_DIR or --num-styles N")
    return codes


# ------------------------------------------------------------------------------------------------- export


def exportable_generator(generator: nn.Module) -> nn.Module:
    """A float32 CPU eval-mode copy of ``generator`` (PONO records plain tensor ops under tracing / export)."""
    return copy.deepcopy(generator).float().cpu().eval()


def export_metadata(model: Model) -> dict[str, Any]:
    """What a user of the exported file needs to know, stored inside it (ONNX metadata / TorchScript extra file)."""
    return {
        "producer": "pono-gan",
        "direction": model.direction,
        "task": model.task,
        "multiple": model.multiple,
        "min_size": min_input_size(model.generator),
        "input": f"float32 NCHW, {model.config.in_channels} channels, values in [-1, 1] (x * 2 - 1 for x in [0, 1]), "
        f"H and W multiples of {model.multiple} and at least {min_input_size(model.generator)} (reflect-pad, crop back)",
        "output": f"float32 NCHW, {model.config.out_channels} channels, values in [-1, 1] ((y + 1) / 2 for [0, 1])",
        "generator": model.config.to_dict(),
    }


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def export_generator(model: Model, export_format: str, path: str | os.PathLike, example_size: int | None = None) -> Path:
    """Write the generator alone as ONNX or TorchScript (float32, CPU, dynamic batch, height and width).

    The file holds the network only: the caller maps images to [-1, 1], pads H and W to a multiple of
    ``model.multiple`` (see :func:`pad_to_multiple`), and maps the output back with ``(y + 1) / 2``. The same facts
    are stored inside the file (ONNX ``metadata_props`` / TorchScript extra file ``pono_gan.json``).

    Raises:
        InferenceError: unknown format, or ONNX export without the ``onnx`` / ``onnxscript`` packages.
    """
    if export_format not in EXPORT_FORMATS:
        raise InferenceError(f"unknown export format {export_format!r}; valid: {', '.join(EXPORT_FORMATS)}")
    if model.styled:
        raise InferenceError(f"{model.path}: exporting style (MUNIT) models is not supported; run them with infer.py --style / --num-styles")
    path = Path(path)
    generator = exportable_generator(model.generator)
    minimum = min_input_size(model.generator)
    size = padded_size(example_size or int(model.data.get("crop_size") or 64), model.multiple, minimum)
    example = torch.rand(1, model.config.in_channels, size, size) * 2 - 1
    metadata = export_metadata(model)
    temporary = _atomic_target(path)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about the generator's Python-level shape checks
            if export_format == "torchscript":
                traced = torch.jit.trace(generator, example, check_trace=False)
                torch.jit.save(traced, str(temporary), _extra_files={"pono_gan.json": json.dumps(metadata)})
            else:
                _export_onnx(generator, example, temporary, metadata)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def _export_onnx(generator: nn.Module, example: Tensor, path: Path, metadata: dict[str, Any]) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as error:
        raise InferenceError(
            f"ONNX export needs the onnx and onnxscript packages ({error.name} is missing): pip install 'pono-gan[export]'"
        ) from None
    import io
    from contextlib import redirect_stdout

    dynamic = torch.export.Dim.DYNAMIC
    with redirect_stdout(io.StringIO()):  # the exporter narrates its steps on stdout
        program = torch.onnx.export(
            generator,
            (example,),
            dynamic_shapes=({0: dynamic, 2: dynamic, 3: dynamic},),
            input_names=["image"],
            output_names=["translated"],
            external_data=False,
            verbose=False,
        )
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    onnx.save(proto, str(path))
