"""Shared test helpers: tiny pono-gan checkpoints and odd image files, written the way training and users do, and
the project's commands run as a user runs them."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytorch_lightning as pl
import torch
from google.protobuf.message import DecodeError
from PIL import Image
from wandb.proto import wandb_internal_pb2

from pono_gan.data.datamodule import ImageTranslationDataModule
from pono_gan.models import GeneratorConfig, MunitConfig
from pono_gan.tasks import DiscriminatorConfig, PairedTask, StyleTask, UnpairedTask

__all__ = ["ROOT", "history_keys", "read_records", "run_python", "run_record", "tiny_config", "write_image_zoo",
           "write_random_inception_weights", "write_tiny_checkpoint"]

#: The project root: where a user runs ``python train.py`` / ``infer.py`` / ``-m pono_gan.evaluate``.
ROOT = Path(__file__).resolve().parents[1]


def run_python(*args: Any, env: dict[str, str | None] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    """``python ARGS...`` in a child process from the project root, its output captured as text. ``env`` entries
    are laid over this process's environment (``None`` removes one)."""
    environment = {**os.environ, **(env or {})}
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=timeout)


def tiny_config(pono: bool = True, shortcut: str = "ms", **overrides: Any) -> GeneratorConfig:
    """A generator config small enough for tests (8 base channels, 1 residual block, 2 downsamplings)."""
    values: dict[str, Any] = dict(arch="resnet", base_channels=8, num_blocks=1, num_downsampling=2, pono=pono,
                                  shortcut=shortcut)
    values.update(overrides)
    return GeneratorConfig(**values)


def _tiny_data_root() -> Path:
    """Two 32x32 image pairs in the paired layout (also read as unpaired), written once per test process."""
    global _DATA_ROOT
    if _DATA_ROOT is None:
        from tests.data import make_paired

        _DATA_ROOT = Path(tempfile.mkdtemp(prefix="pono-gan-tiny-data-"))
        atexit.register(shutil.rmtree, _DATA_ROOT, ignore_errors=True)
        make_paired(_DATA_ROOT, "train", count=2, size=(32, 32))
    return _DATA_ROOT


_DATA_ROOT: Path | None = None
TASKS = {"paired": PairedTask, "unpaired": UnpairedTask, "style": StyleTask}


def write_tiny_checkpoint(
    path: str | Path,
    task: str = "paired",
    pono: bool = True,
    shortcut: str = "ms",
    direction: str = "AtoB",
    seed: int = 0,
    data: dict[str, Any] | None = None,
    data_module: bool = True,
    **config_overrides: Any,
) -> Path:
    """Save a tiny untrained task the way ``train.py`` does; returns the checkpoint's path.

    The task is built as training builds it (its own init) and saved by Lightning's ``Trainer.save_checkpoint``
    after a zero-step ``fit`` on a two-pair data set, so ``GANTask.on_save_checkpoint`` writes the ``pono_gan``
    entry and the file holds everything a trained one does (optimizer state, loops, hyperparameters, the data
    module's settings). ``task="paired"`` trains ``direction``; ``unpaired`` holds ``AtoB`` and ``BtoA``; ``style``
    holds MUNIT generators for domains ``A`` and ``B`` (8 base channels, 1 residual block, style code of 8, style
    encoder downsampling twice). ``data`` goes to the data module over ``load_size: 32, crop_size: 32`` (e.g.
    ``{"preprocess": "none"}``); ``data_module=False`` saves without one, as a model built outside ``train.py``
    is (only the channels are recorded: how a generator the data module would refuse, e.g. 4 channels, gets
    saved).
    ``config_overrides`` go to :func:`tiny_config` (e.g. ``in_channels=1``, ``arch="unet"``) or the
    :class:`MunitConfig`.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    torch.manual_seed(seed)
    if task == "style":
        values: dict[str, Any] = dict(base_channels=8, num_blocks=1, mlp_dim=16, style_downsampling=2, pono=pono,
                                      shortcut=shortcut)
        config: GeneratorConfig | MunitConfig = MunitConfig(**{**values, **config_overrides})
    else:
        config = tiny_config(pono=pono, shortcut=shortcut, **config_overrides)
    module = TASKS[task](generator=config, discriminator=DiscriminatorConfig(base_channels=4, num_layers=2))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pono-gan-save-") as scratch:
        trainer = pl.Trainer(
            max_steps=0, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=scratch,
        )
        if not data_module:
            trainer.strategy.connect(module)
        else:
            settings = {"load_size": 32, "crop_size": 32, "num_workers": 0, **(data or {})}
            layout = "paired" if task == "paired" else "unpaired"
            trainer.fit(module, ImageTranslationDataModule(str(_tiny_data_root()), layout, direction, **settings))
        trainer.save_checkpoint(path)
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
    """Write the awkward inputs an inference tool meets; returns
    ``{relative path: (width, height) or None if corrupt}``.

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


# ------------------------------------------------------------------- a stand-in for the FID Inception weights


def write_random_inception_weights(path: str | Path, seed: int = 0) -> Path:
    """Save torch-fidelity's FeatureExtractorInceptionV3 with random (PyTorch default) initialisation as a state dict.

    The file has the format and keys of the real ``weights-inception-2015-12-05-6726825d.pth`` (about 96 MB; see
    torch-fidelity's ``utils/util_convert_inception_weights.py``), so it exercises the loading path; its features mean
    nothing, so FID / KID values from it prove only that the path runs.
    The constructor always loads weights (downloading them when given no path), so loading is stubbed out while
    it builds.
    """
    import torch_fidelity.feature_extractor_inceptionv3 as inception

    torch.manual_seed(seed)
    with (
        mock.patch.object(inception, "load_state_dict_from_url", side_effect=AssertionError("no downloads in tests")),
        mock.patch.object(torch, "load", return_value={}),
        mock.patch.object(inception.FeatureExtractorInceptionV3, "load_state_dict", return_value=None),
    ):
        network = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                        feature_extractor_weights_path="-")
    # the real file is a plain {name: tensor} dict converted from TensorFlow, without batch-norm step counters
    state = {key: value for key, value in network.state_dict().items() if not key.endswith("num_batches_tracked")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


# ---------------------------------------------------------------------- reading an offline W&B run file back
# wandb 0.31 no longer ships a Python reader for its ``.wandb`` files. The file is ``:W&B`` + magic 0xBEE1 + version
# (7 bytes), then LevelDB-log records in 32 KiB blocks: each fragment has a 7-byte header (crc32, little-endian
# length, type 1 full / 2 first / 3 middle / 4 last) and carries a serialized ``wandb_internal_pb2.Record``.

BLOCK = 32 * 1024
HEADER = 7


def read_records(path, timeout: float = 60.0) -> list:
    """The records of a finished run. The W&B service may still be writing the file when ``finish()`` has returned
    (seen under load): wait for the run's ``exit`` record, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            records = _parse(path)
        except DecodeError:  # a record half written
            if time.monotonic() > deadline:
                raise
            records = []
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def _parse(path) -> list:
    data = open(path, "rb").read()
    if data[:4] != b":W&B":
        raise ValueError(f"{path}: not a W&B run file")
    records, pending, position = [], b"", HEADER
    while position + HEADER <= len(data):
        space = BLOCK - position % BLOCK
        if space < HEADER:
            position += space
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        if kind == 0:  # zero padding up to the block end
            position += space
            continue
        chunk = data[position + HEADER : position + HEADER + length]
        position += HEADER + length
        if kind == 2:
            pending = chunk
            continue
        if kind == 3:
            pending += chunk
            continue
        payload = pending + chunk if kind == 4 else chunk
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        records.append(record)
    return records


def history_keys(records) -> set[str]:
    return {item.key or "/".join(item.nested_key) for r in records if r.WhichOneof("record_type") == "history"
            for item in r.history.item}


def run_record(records):
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")
