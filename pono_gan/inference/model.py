"""The model a checkpoint holds, the device and precision it runs at, and how a request reports problems.

:func:`load_model` rebuilds the generator from the checkpoint alone; :class:`InferenceError` is a one-line user
error."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pono_gan.checkpoint import (
    KEY,
    CheckpointError,
    generator_from_checkpoint,
    read_checkpoint,
)
from pono_gan.hardware import auto_bf16, cpu_has_native
from pono_gan.inference.choices import DIRECTIONS
from pono_gan.models import (
    GeneratorConfig,
    MunitConfig,
    MunitGenerator,
    ResnetGenerator,
    StyleTransfer,
)

#: precision name -> autocast dtype (None: float32 as it is)
PRECISIONS: dict[str, torch.dtype | None] = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


class InferenceError(ValueError):
    """A problem with the request (paths, flags, model): the message is one line saying what to do."""





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
        raise InferenceError(f"{path}: {kind} {' and '.join(generators)} generators; "
                             "pass --direction AtoB or --direction BtoA")
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
                f"{path}: the generator has {channels} {name} channels; image files need 1 or 3 "
                "(use --export and your own I/O)"
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


def resolve_precision(precision: str, device: torch.device) -> tuple[str, str | None]:
    """``(precision, note)``: ``auto`` becomes ``bf16`` where ``device`` computes bfloat16 natively, else ``32``, with
    a one-line note saying so; any other name comes back as it is, without a note."""
    if precision != "auto":
        return precision, None
    native, why = auto_bf16(device)
    chosen = "bf16" if native else "32"
    return chosen, f"precision {chosen} (auto: {why}; --precision 32 or bf16 overrides)"


def precision_warning(precision: str, device: torch.device) -> str | None:
    """A one-line warning when ``precision`` is emulated on this device (far slower than float32), else None."""
    dtype = PRECISIONS[precision]
    if dtype is None or device.type != "cpu" or cpu_has_native(dtype):
        return None
    kind = "bfloat16 (AVX512-BF16 or AMX)" if dtype is torch.bfloat16 else "float16 (AMX-FP16)"
    return f"this CPU has no native {kind} support: --precision {precision} is emulated and much slower than 32 here"



def warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)


def resolve_load_size(load_size: int | str | None, model: Model) -> int | None:
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
