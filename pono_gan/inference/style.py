"""Style codes for style (MUNIT) models: example images of the target domain encoded, or seeded random codes.

:func:`style_codes` names each code, and the outputs are named after them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from pono_gan.data.io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    list_images,
    load_image_and_alpha,
)
from pono_gan.inference.geometry import resize_shorter_side
from pono_gan.inference.model import InferenceError, Model, resolve_load_size, warn
from pono_gan.models import StyleTransfer


def style_size(model: Model, load_size: int | str | None) -> int | None:
    """The shorter side style examples are encoded at: ``--load-size`` when given, else the training load_size
    when training resized images, else None (each example at its own size)."""
    size = resolve_load_size(load_size, model)
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
    warn: Callable[[str], None] = warn,
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
            raise InferenceError(f"style not found: {path} "
                                 "(pass an example image of the target domain or a folder of them)")
        files = list_images(path, recursive=recursive) if path.is_dir() else [path]
        if not files:
            raise InferenceError(f"no images found in the style folder {path} "
                                 f"(looked for {', '.join(IMAGE_EXTENSIONS)})")
        device = next(generator.parameters()).device
        minimum = generator.style_min_size
        named: dict[str, Path] = {}
        for file in files:
            name = "-".join(file.relative_to(path).with_suffix("").parts) if path.is_dir() else file.stem
            if name in named:
                raise InferenceError(f"style examples {named[name]} and {file} would both be named {name!r}; "
                                     "rename one")
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
            raise InferenceError(f"a style example is named {name!r}, as a random style; "
                                 "rename it or drop --num-styles")
        codes[name] = generator.random_style(1, seeded).float().cpu()
    if not codes:
        raise InferenceError(f"{model.path}: pass --style IMAGE_OR_DIR or --num-styles N")
    return codes
