"""Helpers that write small image folders for the data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 noise, so any shift or flip changes the pixels."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def write(path: Path, array: np.ndarray | Image.Image, **save_kwargs) -> Path:
    """Save an array (uint8 gray / RGB / RGBA, uint16 gray) or a PIL image, making the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    image.save(path, **save_kwargs)
    return path


def make_paired(
    root: Path, split: str = "train", count: int = 3, size: tuple[int, int] = (24, 32), inverse: bool = True
) -> list[str]:
    """ROOT/{split}A and ROOT/{split}B with ``count`` pairs named p0.png ...; B = 255 - A when ``inverse``."""
    names = []
    for index in range(count):
        a = random_rgb(*size, seed=index)
        write(root / f"{split}A" / f"p{index}.png", a)
        write(root / f"{split}B" / f"p{index}.png", 255 - a if inverse else random_rgb(*size, seed=100 + index))
        names.append(f"p{index}.png")
    return names


def make_aligned(root: Path, split: str = "train", count: int = 3, size: tuple[int, int] = (24, 32)) -> None:
    """ROOT/{split}/a{i}.png holding A | (255 - A) side by side, each half ``size``."""
    for index in range(count):
        a = random_rgb(*size, seed=index)
        write(root / split / f"a{index}.png", np.concatenate([a, 255 - a], axis=1))


def make_unpaired(
    root: Path, split: str = "train", count_a: int = 3, count_b: int = 5, size: tuple[int, int] = (24, 32)
) -> None:
    """ROOT/{split}A with ``count_a`` images and ROOT/{split}B with ``count_b`` (B images are gray)."""
    for index in range(count_a):
        write(root / f"{split}A" / f"a{index}.png", random_rgb(*size, seed=index))
    for index in range(count_b):
        write(root / f"{split}B" / f"b{index}.png", random_rgb(*size, seed=50 + index)[..., 0])
