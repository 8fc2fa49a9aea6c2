"""The checkpoint contract between training and inference.

A pono-gan checkpoint is a Lightning ``.ckpt`` (a ``torch.save`` dict) with one extra entry, ``"pono_gan"``::

    {
      "format": 1,
      "task": "paired" | "unpaired" | "style",
      "direction": "AtoB" | "BtoA" | None,     # paired: the direction it was trained for; else None
      "generators": {                           # paired / unpaired: one per direction it can translate
        "AtoB": {"config": {...GeneratorConfig fields...}, "prefix": "generator."},
        ...                                     # style: one per domain, "A" / "B", with MunitConfig fields
      },
      "data": {"channels": [in, out], "preprocess": ..., "load_size": ..., "crop_size": ...},
      "wandb_run_id": "..." | None,
    }

A paired checkpoint has one generator, keyed by its direction; an unpaired one has "AtoB" and "BtoA"; a style
one has "A" and "B". This module knows the model builders; the networks know nothing of checkpoint files.
``prefix`` selects the generator's weights from ``checkpoint["state_dict"]``. Everything in it is plain data, so
``torch.load(..., weights_only=True)`` reads it: inference needs the file alone, no training code, no flags.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pono_gan.errors import PonoGanError
from pono_gan.models import GeneratorConfig, MunitConfig, MunitGenerator, build_generator, build_munit

__all__ = ["FORMAT_VERSION", "KEY", "CheckpointError", "generator_from_checkpoint", "munit_from_checkpoint",
           "read_checkpoint"]

KEY = "pono_gan"
FORMAT_VERSION = 1


class CheckpointError(PonoGanError, ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the fix."""


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a pono-gan checkpoint safely (``weights_only=True``) and check its ``"pono_gan"`` entry.

    Raises:
        CheckpointError: the file is missing, truncated, not a PyTorch file, or not a pono-gan checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (pass the .ckpt written by train.py, e.g. "
                              "runs/NAME/checkpoints/last.ckpt)")
    if not zipfile.is_zipfile(path):  # what torch.save writes; a truncated file loses its zip directory
        raise CheckpointError(f"{path}: not a complete PyTorch checkpoint (truncated, or not a .ckpt); "
                              "use a complete .ckpt from train.py")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except (RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, OSError, ValueError) as error:
        reason = (str(error).splitlines()[0] if str(error) else type(error).__name__).split(". ")[0]
        if "Weights only load failed" in reason:
            reason = "it holds objects other than tensors and plain data"
        raise CheckpointError(
            f"{path}: cannot be read as a PyTorch checkpoint ({reason}); is it truncated? "
            "use a complete .ckpt from train.py"
        ) from None
    if not isinstance(checkpoint, dict) or KEY not in checkpoint or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a pono-gan checkpoint (no '{KEY}' entry); use a .ckpt written by train.py")
    meta = checkpoint[KEY]
    if meta.get("format", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer pono-gan (format {meta.get('format')}); upgrade pono-gan")
    return checkpoint


def generator_from_checkpoint(checkpoint: dict[str, Any], direction: str,
                              path: str | os.PathLike = "checkpoint") -> nn.Module:
    """Rebuild the generator stored under ``direction`` in eval mode with its trained weights.

    ``direction`` is ``"AtoB"`` / ``"BtoA"`` for paired and unpaired checkpoints, the domain ``"A"`` / ``"B"``
    for style (MUNIT) ones, whose configs have ``arch: munit``.
    """
    generators = checkpoint[KEY]["generators"]
    if direction not in generators:
        raise CheckpointError(f"{path}: has no {direction} generator (it has {', '.join(generators)})")
    entry = generators[direction]
    config = entry["config"]
    try:
        if config.get("arch") == "munit":
            generator = build_munit(MunitConfig.from_dict(config))
        else:
            generator = build_generator(GeneratorConfig.from_dict(config))
    except ValueError as error:  # a ConfigError, or an unknown setting: a config this version cannot build
        raise CheckpointError(f"{path}: its stored {direction} generator config cannot be built here ({error}); "
                              "use a checkpoint written by this version of train.py") from None
    prefix = entry["prefix"]
    state = {key[len(prefix) :]: value for key, value in checkpoint["state_dict"].items() if key.startswith(prefix)}
    try:
        generator.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not match the stored {direction} generator config "
                              f"({str(error).splitlines()[0]})") from None
    return generator.eval()


def munit_from_checkpoint(checkpoint: dict[str, Any], domain: str,
                          path: str | os.PathLike = "checkpoint") -> MunitGenerator:
    """Rebuild domain ``domain``'s (``"A"`` or ``"B"``) generator of a ``style`` checkpoint in eval mode.

    ``checkpoint`` is what :func:`read_checkpoint` returns; its ``"pono_gan"`` entry has ``"task": "style"`` and
    ``"generators": {"A": {"config": MunitConfig fields, "prefix": "generator_a."}, "B": ...}``.
    """
    meta = checkpoint[KEY]
    if meta.get("task") != "style":
        raise CheckpointError(f"{path}: a {meta.get('task')!r} checkpoint holds no style (MUNIT) generators")
    return generator_from_checkpoint(checkpoint, domain, path)  # type: ignore[return-value]
