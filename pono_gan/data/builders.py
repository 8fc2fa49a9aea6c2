"""Small, real, paired data sets built offline from images that ship inside pip packages.

Random crops of the colour photos bundled in scikit-image (``skimage.data``, public domain / CC0) are B; A is
derived from them:

* ``edges2photo``: A = the crop's Canny edges drawn dark on white (like pix2pix's edges2shoes);
* ``gray2photo``: A = the crop in grayscale (ITU-R 601 luma, 3 channels): colourization, learnable in minutes.

Train and test crops come from different photos.

Command line::

    python -m pono_gan.data.builders edges2photo --root data/edges2photo --size 128 --num-train 400 --num-test 40
    python -m pono_gan.data.builders gray2photo --root data/gray2photo --size 64
    python -m pono_gan.data.builders glyphs --root data/song2kai --size 64    # font pairs: see glyphs.py
    python -m pono_gan.data.builders fonts --root data/fonts --size 64        # one font -> many: see fonts.py
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import kornia
import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from pono_gan.data import fonts, glyphs
from pono_gan.data.io import list_images
from pono_gan.errors import PonoGanError

__all__ = [
    "EDGES2PHOTO_TEST_PHOTOS",
    "EDGES2PHOTO_TRAIN_PHOTOS",
    "PHOTOS",
    "build_edges2photo",
    "build_gray2photo",
    "build_pairs",
    "canny_edges",
    "main",
]

log = logging.getLogger(__name__)


def _skimage(name: str, index: int | None = None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        image = getattr(data, name)()
        return image[index] if index is not None else image

    return load


#: Colour photos bundled in scikit-image that load offline (``brain``, ``eagle``, ``lily``... need a download).
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "motorcycle": _skimage("stereo_motorcycle", 0),  # the left view; the right one is nearly the same photo
}
EDGES2PHOTO_TEST_PHOTOS: tuple[str, ...] = ("coffee", "rocket")
EDGES2PHOTO_TRAIN_PHOTOS: tuple[str, ...] = tuple(name for name in PHOTOS if name not in EDGES2PHOTO_TEST_PHOTOS)

_FORMAT_VERSION = 1


def canny_edges(
    images: torch.Tensor, low_threshold: float = 0.1, high_threshold: float = 0.2, sigma: float = 1.0
) -> torch.Tensor:
    """Canny edge maps of a batch: 1 on an edge, 0 elsewhere.

    Gradients, non-maximum suppression and the double threshold are ``kornia.filters.canny``; its hysteresis
    (keep weak edges connected to strong ones) is done here by labelling 8-connected components with
    ``scipy.ndimage.label``, which gives the same edges as kornia's iterative loop (checked by a test) but
    does not iterate over the whole batch until the slowest image converges.

    Args:
        images: (B, C, H, W) in [0, 1], C = 1 or 3.
        low_threshold: weak-edge threshold on the gradient magnitude.
        high_threshold: strong-edge threshold.
        sigma: Gaussian blur before the gradients.

    Returns:
        (B, 1, H, W) float32 of 0 and 1.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"canny_edges expects (B, 1 or 3, H, W), got {tuple(images.shape)}")
    _, thresholded = kornia.filters.canny(
        images.float(), low_threshold, high_threshold, sigma=(sigma, sigma), hysteresis=False
    )
    levels = thresholded[:, 0].numpy()  # 0 none, 0.5 weak, 1 strong
    edges = np.zeros(levels.shape, dtype=np.float32)
    structure = np.ones((3, 3), dtype=bool)
    for index, level in enumerate(levels):
        labels, count = ndimage.label(level > 0, structure=structure)
        keep = np.zeros(count + 1, dtype=bool)
        keep[np.unique(labels[level == 1])] = True
        keep[0] = False
        edges[index] = keep[labels]
    return torch.from_numpy(edges)[:, None]


def _sketches(photos: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 photos -> their Canny edges, dark on white, 3 channels."""
    edges = canny_edges(torch.from_numpy(photos).permute(0, 3, 1, 2).float().div(255))
    return np.repeat(((1.0 - edges[:, 0].numpy()) * 255).astype(np.uint8)[..., None], 3, axis=-1)


def _grayscale(photos: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 photos -> their luma (ITU-R 601, as kornia and PIL), repeated to 3 channels."""
    gray = kornia.color.rgb_to_grayscale(torch.from_numpy(photos).permute(0, 3, 1, 2).float())
    return np.repeat(gray[:, 0].round().clamp(0, 255).byte().numpy()[..., None], 3, axis=-1)


#: How each builder derives A from a photo crop B.
_DERIVE: dict[str, Callable[[np.ndarray], np.ndarray]] = {"edges2photo": _sketches, "gray2photo": _grayscale}


def _crops(
    photo: Image.Image, count: int, size: int, rng: np.random.Generator, scale: tuple[float, float]
) -> list[np.ndarray]:
    width, height = photo.size
    crops = []
    for _ in range(count):
        side = max(size // 2, int(rng.uniform(*scale) * min(width, height)))
        side = min(side, width, height)
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        box = (left, top, left + side, top + side)
        crops.append(np.asarray(photo.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=2.0)))
    return crops


def _load_photos(names: Sequence[str]) -> dict[str, Image.Image]:
    photos = {}
    for name in names:
        if name not in PHOTOS:
            raise ValueError(f"unknown photo {name!r}; valid photos: {', '.join(PHOTOS)}")
        try:
            array = PHOTOS[name]()
        except Exception as error:  # noqa: BLE001 - a pooch download fails offline in many ways
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            log.warning("skipping photo %s: %s", name, reason)
            continue
        photos[name] = Image.fromarray(np.ascontiguousarray(array)).convert("RGB")
    if not photos:
        raise RuntimeError(f"none of the photos {', '.join(names)} could be loaded from scikit-image")
    return photos


def _write_split(root: Path, split: str, photos: dict[str, Image.Image], count: int, size: int,
                 rng: np.random.Generator, scale: tuple[float, float],
                 derive: Callable[[np.ndarray], np.ndarray]) -> None:
    names = list(photos)
    per_photo = [count // len(names) + (i < count % len(names)) for i in range(len(names))]
    crops, stems = [], []
    for name, number in zip(names, per_photo):
        crops += _crops(photos[name], number, size, rng, scale)
        stems += [f"{name}_{i:04d}" for i in range(number)]
    if not crops:
        return
    photos_uint8 = np.stack(crops)
    inputs = derive(photos_uint8)
    # Plain PIL writes: io.save_image's per-file fsync costs ~60 ms a file; the set as a whole is made
    # atomic by writing the manifest last.
    for folder in (root / f"{split}A", root / f"{split}B"):
        folder.mkdir(parents=True, exist_ok=True)
    for stem, source, photo in zip(stems, inputs, photos_uint8):
        Image.fromarray(source, "RGB").save(root / f"{split}A" / f"{stem}.png", compress_level=1)
        Image.fromarray(photo, "RGB").save(root / f"{split}B" / f"{stem}.png", compress_level=1)


def build_pairs(
    kind: str,
    root: str | Path,
    size: int = 128,
    num_train: int = 400,
    num_test: int = 40,
    seed: int = 0,
    train_photos: Sequence[str] = EDGES2PHOTO_TRAIN_PHOTOS,
    test_photos: Sequence[str] = EDGES2PHOTO_TEST_PHOTOS,
    scale: tuple[float, float] = (0.2, 0.6),
    overwrite: bool = False,
) -> Path:
    """Build ``kind`` pairs under ``root`` (layout ``paired``: trainA/B, testA/B, matching names).

    ``edges2photo``: A = Canny edges, dark on white; ``gray2photo``: A = the luma; B = the photo crop.

    Crops are square, ``scale`` times the photo's shorter side, resized to ``size``; the photos are shared out
    evenly. The same arguments give the same files. When ``root`` already holds a set built with the same
    arguments nothing is written.

    Args:
        kind: ``edges2photo`` or ``gray2photo``.
        root: the folder to write.
        size: the side of the images in pixels.
        num_train: training pairs.
        num_test: test pairs (from ``test_photos``, which train never sees).
        seed: the random seed of the crops.
        train_photos: names from :data:`PHOTOS` for training.
        test_photos: names from :data:`PHOTOS` for test.
        scale: (smallest, largest) crop side as a fraction of the photo's shorter side.
        overwrite: replace the images of another set in ``root``'s split folders.

    Returns:
        ``root`` as a Path.

    Raises:
        FileExistsError: ``root`` holds other images and ``overwrite`` is False.
    """
    if kind not in _DERIVE:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(_DERIVE)}")
    root = Path(root)
    if size < 8 or num_train < 1 or num_test < 0:
        raise ValueError(f"need size >= 8, num_train >= 1 and num_test >= 0, got {size}, {num_train}, {num_test}")
    if set(train_photos) & set(test_photos):
        raise ValueError(f"photos in both train and test: {', '.join(sorted(set(train_photos) & set(test_photos)))}")
    settings = {
        "builder": kind, "version": _FORMAT_VERSION, "size": size, "num_train": num_train,
        "num_test": num_test, "seed": seed, "train_photos": list(train_photos), "test_photos": list(test_photos),
        "scale": list(scale),
    }
    folders = [root / name for name in ("trainA", "trainB", "testA", "testB")]
    existing = [path for folder in folders if folder.is_dir() for path in list_images(folder)]
    manifest = root / f"{kind}.json"
    if existing:
        same = manifest.is_file() and json.loads(manifest.read_text()) == settings
        if same and len(existing) == 2 * (num_train + num_test):
            log.info("%s already holds this %s set; nothing to do", root, kind)
            return root
        if not overwrite:
            raise FileExistsError(
                f"{root} already holds {len(existing)} images from another build; pass overwrite=True "
                f"(--overwrite) to replace them, or choose another root"
            )
        for path in existing:
            path.unlink()
    manifest.unlink(missing_ok=True)

    # one stream per split: the test set does not change with num_train
    derive = _DERIVE[kind]
    _write_split(root, "train", _load_photos(train_photos), num_train, size, np.random.default_rng([seed, 0]),
                 scale, derive)
    if num_test:
        _write_split(root, "test", _load_photos(test_photos), num_test, size, np.random.default_rng([seed, 1]),
                     scale, derive)
    manifest.write_text(json.dumps(settings, indent=1) + "\n")  # last: a killed build is rebuilt next time
    return root


#: Canny edges -> photo pairs: ``build_edges2photo(root, size=128, num_train=400, ...)`` (see :func:`build_pairs`).
build_edges2photo = partial(build_pairs, "edges2photo")
#: Grayscale -> colour pairs: ``build_gray2photo(root, size=128, num_train=400, ...)`` (see :func:`build_pairs`).
build_gray2photo = partial(build_pairs, "gray2photo")


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.data.builders", description=__doc__.split("\n\n")[0])
    builders = parser.add_subparsers(dest="builder", required=True)
    helps = {"edges2photo": "Canny edges -> photo", "gray2photo": "grayscale -> colour photo"}
    for name, what in helps.items():
        sub = builders.add_parser(name, help=f"{what} pairs from scikit-image's bundled photos")
        sub.add_argument("--root", default=f"data/{name}", help="output folder (default: %(default)s)")
        sub.add_argument("--size", type=int, default=128, help="image side in pixels (default: %(default)s)")
        sub.add_argument("--num-train", type=int, default=400, help="training pairs (default: %(default)s)")
        sub.add_argument("--num-test", type=int, default=40, help="test pairs (default: %(default)s)")
        sub.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
        sub.add_argument("--overwrite", action="store_true", help="replace images of another build in --root")
    glyphs.add_arguments(builders.add_parser("glyphs", help="one font -> another: glyph pairs (zi2zi)"))
    fonts.add_arguments(builders.add_parser("fonts",
                                            help="one font -> many fonts: the style benchmark with ground truth"))
    args = parser.parse_args(argv)
    if args.builder in ("glyphs", "fonts"):
        try:
            return (glyphs if args.builder == "glyphs" else fonts).main(args)
        except PonoGanError as error:
            parser.exit(2, f"error: {error}\n")
    root = build_pairs(args.builder, args.root, args.size, args.num_train, args.num_test, args.seed,
                       overwrite=args.overwrite)
    print(f"ready: {root}: trainA/ trainB/ ({args.num_train} pairs), testA/ testB/ ({args.num_test} pairs), "
          "layout 'paired'")
    return root


if __name__ == "__main__":
    main()
