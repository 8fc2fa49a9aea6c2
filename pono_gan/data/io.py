"""Reading and writing images: every odd format becomes a float tensor in [0, 1] with the channels asked for.

Rules, shared by training and inference so both see the same pixels:

* EXIF orientation is applied.
* Palette, 1-bit, CMYK, YCbCr, LAB and HSV images are converted through RGB.
* 16-bit and 32-bit integer images are scaled by 65535, float ("F") images are clamped to [0, 1].
* Alpha is composited over white (glyphs and cut-outs on transparent backgrounds stay readable);
  :func:`load_image_and_alpha` also returns the alpha so inference can put it back.
* ``channels=1`` takes the luma (ITU-R 601-2, as PIL's "L"); ``channels=3`` repeats a gray image.
* Writing is atomic: a temporary file in the same folder, then a rename, so a killed run leaves no truncated file.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from pono_gan.errors import MissingPathError, PonoGanError

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "is_image_file",
    "list_images",
    "load_image",
    "load_image_and_alpha",
    "save_image",
    "to_pil",
]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm")

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")

# the process's umask, read once at import (os.umask only reads by setting; the writers run in threads): what an
# image written atomically is chmodded to, as a plain open() would have made it (mkstemp makes 0600)
_UMASK = os.umask(0)
os.umask(_UMASK)


class ImageReadError(PonoGanError, ValueError):
    """An image that cannot be read; the message is one line naming the file and what to do."""


def is_image_file(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (by extension, sorted, hidden files skipped).

    Raises:
        MissingPathError: the folder does not exist or is a file (one line, naming it).
    """
    root = Path(folder)
    if not root.exists():
        raise MissingPathError(f"folder not found: {root} (check the path)")
    if not root.is_dir():
        raise MissingPathError(f"not a folder: {root} (expected a folder of images)")
    pattern = root.rglob("*") if recursive else root.glob("*")
    return sorted(
        p for p in pattern
        if p.is_file() and is_image_file(p) and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _open(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(
            f"{path}: image too large for Pillow's safety limit ({Image.MAX_IMAGE_PIXELS} pixels); downscale it first"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageReadError(f"{path}: not a readable image ({reason}); re-export or remove it") from None
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF: keep the pixels as stored
        return image


def _to_float_array(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 3 or 1) float32 colour in [0, 1] and (H, W) alpha or None."""
    mode = image.mode
    if mode in _SIXTEEN_BIT:
        return (np.asarray(image, dtype=np.float64) / 65535.0).clip(0, 1).astype(np.float32)[..., None], None
    if mode == "F":
        return np.asarray(image, dtype=np.float32).clip(0, 1)[..., None], None
    alpha = None
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        rgba = np.asarray(image, dtype=np.float32) / 255.0
        return rgba[..., :3], rgba[..., 3]
    if mode == "L":
        return (np.asarray(image, dtype=np.float32) / 255.0)[..., None], alpha
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0, alpha


def _to_channels(pixels: np.ndarray, channels: int, path: Path) -> np.ndarray:
    if pixels.shape[-1] == channels:
        return pixels
    if channels == 3:
        return np.repeat(pixels, 3, axis=-1)
    if channels == 1:
        return (pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]
    raise ImageReadError(f"{path}: cannot make {channels} channels from a {pixels.shape[-1]}-channel image")


def load_image_and_alpha(path: str | os.PathLike, channels: int = 3) -> tuple[Tensor, Tensor | None]:
    """``(image, alpha)``: image (channels, H, W) in [0, 1], composited over white; alpha (1, H, W) or None.

    Raises:
        ImageReadError: missing, corrupt, truncated or oversized file (one line naming it).
    """
    path = Path(path)
    pixels, alpha = _to_float_array(_open(path))
    if alpha is not None:
        pixels = pixels * alpha[..., None] + (1.0 - alpha[..., None])
    pixels = _to_channels(pixels, channels, path)
    image = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    return image, None if alpha is None else torch.from_numpy(np.ascontiguousarray(alpha))[None]


def load_image(path: str | os.PathLike, channels: int = 3) -> Tensor:
    """The image at ``path`` as (channels, H, W) float32 in [0, 1] (see the module docstring for the rules)."""
    return load_image_and_alpha(path, channels)[0]


def to_pil(image: Tensor) -> Image.Image:
    """A (C, H, W) image in [0, 1] (C = 1 or 3) as an 8-bit PIL image (``L`` or ``RGB``), rounded: what the files and
    W&B get. (``wandb.Image``'s own conversion of tensors and arrays changes with its version: older releases
    rescaled them, 0.31 only casts them to uint8, which turns an image in [0, 1] black.)"""
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().cpu()
    if array.dim() != 3 or array.shape[0] not in (1, 3):
        raise ValueError(f"expected an image of shape (1 or 3, H, W), got {tuple(image.shape)}")
    if array.shape[0] == 1:
        return Image.fromarray(array[0].numpy(), mode="L")
    return Image.fromarray(array.permute(1, 2, 0).numpy(), mode="RGB")


def save_image(image: Tensor, path: str | os.PathLike, alpha: Tensor | None = None) -> Path:
    """Write a (C, H, W) image in [0, 1] (C = 1 or 3) atomically; ``alpha`` (1, H, W) is kept where the format can.

    The format follows the extension. JPEG and BMP have no alpha: it is dropped there.
    """
    path = Path(path)
    pil = to_pil(image)
    suffix = path.suffix.lower()
    if alpha is not None and suffix not in (".jpg", ".jpeg", ".bmp"):
        pil.putalpha(Image.fromarray(alpha.detach().float().clamp(0, 1).mul(255).round().byte().cpu()[0].numpy(),
                                     mode="L"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            pil.save(handle, format=Image.registered_extensions().get(suffix, "PNG"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
