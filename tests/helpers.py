"""Shared test helpers: tiny pono-gan checkpoints and odd image files, written the way training and users do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from pono_gan.checkpoint import FORMAT_VERSION, KEY
from pono_gan.models import GeneratorConfig, MunitConfig, build_generator, build_munit, init_weights

__all__ = ["tiny_config", "write_tiny_checkpoint", "write_image_zoo"]


def tiny_config(pono: bool = True, shortcut: str = "ms", **overrides: Any) -> GeneratorConfig:
    """A generator config small enough for tests (8 base channels, 1 residual block, 2 downsamplings)."""
    values: dict[str, Any] = dict(arch="resnet", base_channels=8, num_blocks=1, num_downsampling=2, pono=pono, shortcut=shortcut)
    values.update(overrides)
    return GeneratorConfig(**values)


def write_tiny_checkpoint(
    path: str | Path,
    task: str = "paired",
    pono: bool = True,
    shortcut: str = "ms",
    direction: str = "AtoB",
    seed: int = 0,
    data: dict[str, Any] | None = None,
    **config_overrides: Any,
) -> Path:
    """Write a pono-gan checkpoint holding freshly initialized tiny generators; returns its path.

    ``task="paired"`` stores one generator keyed by ``direction``; ``task="unpaired"`` stores ``AtoB`` and ``BtoA``
    (different weights); ``task="style"`` stores MUNIT generators for domains ``A`` and ``B`` (8 base channels, 1
    residual block, style code of 8, style encoder downsampling twice). ``config_overrides`` go to
    :func:`tiny_config` (e.g. ``in_channels=1``, ``arch="unet"``) or to the :class:`MunitConfig`.
    The layout is the contract in :mod:`pono_gan.checkpoint`, wrapped as Lightning writes it.
    """
    if task not in ("paired", "unpaired", "style"):
        raise ValueError(f"task must be 'paired', 'unpaired' or 'style', got {task!r}")
    torch.manual_seed(seed)
    if task == "style":
        values: dict[str, Any] = dict(base_channels=8, num_blocks=1, mlp_dim=16, style_downsampling=2, pono=pono, shortcut=shortcut)
        config: GeneratorConfig | MunitConfig = MunitConfig(**{**values, **config_overrides})
    else:
        config = tiny_config(pono=pono, shortcut=shortcut, **config_overrides)
    directions = {"paired": [direction], "unpaired": ["AtoB", "BtoA"], "style": ["A", "B"]}[task]
    state_dict: dict[str, torch.Tensor] = {}
    generators = {}
    for name in directions:
        prefix = "generator." if task == "paired" else f"generator_{name.lower() if task == 'style' else name}."
        build = build_munit if task == "style" else build_generator
        generator = init_weights(build(config))
        state_dict.update({prefix + key: value for key, value in generator.state_dict().items()})
        generators[name] = {"config": config.to_dict(), "prefix": prefix}
    meta = {
        "format": FORMAT_VERSION,
        "task": task,
        "direction": direction if task == "paired" else None,
        "generators": generators,
        "data": data or {"channels": [config.in_channels, config.out_channels], "preprocess": "resize_and_crop",
                         "load_size": 32, "crop_size": 32},
        "wandb_run_id": None,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 0, "global_step": 0, "state_dict": state_dict, KEY: meta}, path)
    return path


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth colour image (gradients plus a disc) as uint8 (H, W, 3): compresses and looks like something."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width - 1, 1), yy / max(height - 1, 1), 0.5 + 0.5 * np.sin((xx + yy) / 7.0)], -1)
    disc = ((yy - height / 2) ** 2 + (xx - width / 2) ** 2) < (min(height, width) / 3) ** 2
    base[disc] = rng.uniform(0, 1, 3)
    return (base * 255).round().astype(np.uint8)


def write_image_zoo(folder: str | Path) -> dict[str, tuple[int, int] | None]:
    """Write the awkward inputs an inference tool meets; returns ``{relative path: (width, height) or None if corrupt}``.

    Holds: ordinary RGB PNG and JPEG, an odd size, a tiny image, grayscale, RGBA, a palette GIF, a 16-bit PNG,
    an EXIF-rotated JPEG (stored 20x12, displayed 12x20), a truncated PNG, a non-image with an image extension,
    and a nested folder.
    """
    folder = Path(folder)
    (folder / "nested" / "deeper").mkdir(parents=True, exist_ok=True)
    sizes: dict[str, tuple[int, int] | None] = {}

    def put(name: str, image: Image.Image, **save: Any) -> None:
        image.save(folder / name, **save)
        sizes[name] = image.size

    put("ordinary.png", Image.fromarray(_photo(32, 32, 0)))
    put("photo.jpg", Image.fromarray(_photo(24, 40, 1)), quality=95)
    put("odd_size.png", Image.fromarray(_photo(27, 37, 2)))
    put("tiny.png", Image.fromarray(_photo(3, 5, 3)))
    put("gray.png", Image.fromarray(_photo(20, 28, 4)[..., 0]))
    rgba = np.concatenate([_photo(16, 24, 5), np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (16, 1))[..., None]], -1)
    put("rgba.png", Image.fromarray(rgba))
    put("palette.gif", Image.fromarray(_photo(18, 22, 6)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16))
    sixteen = (np.linspace(0, 65535, 30 * 26).reshape(26, 30)).astype(np.uint16)
    put("sixteen_bit.png", Image.fromarray(sixteen))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise for display
    Image.fromarray(_photo(12, 20, 7)).save(folder / "rotated.jpg", exif=exif, quality=95)
    sizes["rotated.jpg"] = (12, 20)  # displayed size after EXIF orientation
    put("nested/inner.png", Image.fromarray(_photo(16, 16, 8)))
    put("nested/deeper/deep.png", Image.fromarray(_photo(20, 12, 9)))
    Image.fromarray(_photo(32, 32, 10)).save(folder / "truncated.png")
    data = (folder / "truncated.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    sizes["truncated.png"] = None
    (folder / "not_an_image.png").write_bytes(b"this is not an image\n" * 4)
    sizes["not_an_image.png"] = None
    return sizes
