"""Datasets for the three folder layouts, and the up-front checks that turn a bad folder into a one-line error.

Layouts (``ROOT`` is the data root, ``SPLIT`` is ``train``, ``val`` or ``test``; subfolders are searched):

* ``aligned``: ``ROOT/SPLIT/*.png``, each image is A | B side by side (left half A, right half B).
* ``paired``: ``ROOT/SPLITA/`` and ``ROOT/SPLITB/``; files pair up on their path relative to the folder without
  the extension (``trainA/x/1.png`` pairs with ``trainB/x/1.jpg``).
* ``unpaired``: ``ROOT/SPLITA/`` and ``ROOT/SPLITB/``, independent; a training sample is ``A[i % len(A)]`` with a
  random B, and the length is ``max(len(A), len(B))`` (junyanz ``unaligned``); evaluation takes
  ``B[i % len(B)]`` so it is deterministic.

Every sample is a dict ``{"A": (Ca, H, W), "B": (Cb, H, W), "A_path": str, "B_path": str}``, float32 in
[-1, 1], where A is the model's input and B its target after ``direction`` (``BtoA`` swaps them). Images are
decoded in ``__getitem__`` (so in DataLoader workers) by :func:`pono_gan.data.io.load_image`.

Unreadable files (see ``datasets/README.md``): :func:`make_dataset` opens every header and leaves out the files
that fail, with one :class:`UnreadableImageWarning` that counts and names them; a file whose body turns out to
be truncated when a worker decodes it is skipped with a warning naming it, and the next readable sample is
returned instead. Turn the warning into an error (``warnings.filterwarnings("error",
category=UnreadableImageWarning)``) to refuse such data instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from pono_gan.data.io import IMAGE_EXTENSIONS, ImageReadError, list_images, load_image
from pono_gan.data.sampling import SampleKey, sample_generator
from pono_gan.data.transforms import Preprocessing, apply_geometry, resize
from pono_gan.errors import DataError, MissingPathError

__all__ = [
    "DIRECTIONS",
    "LAYOUTS",
    "AlignedImageDataset",
    "check_first_images",
    "Direction",
    "Layout",
    "PairedImageDataset",
    "UnpairedImageDataset",
    "UnreadableImageWarning",
    "collate",
    "find_pairs",
    "image_size",
    "images_in",
    "match_images",
    "make_dataset",
    "require_split",
    "some_names",
    "split_exists",
    "split_folders",
]

Layout = Literal["aligned", "paired", "unpaired"]
Direction = Literal["AtoB", "BtoA"]
LAYOUTS: tuple[str, ...] = get_args(Layout)
DIRECTIONS: tuple[str, ...] = get_args(Direction)

_README = "see datasets/README.md"
_MAX_NAMES = 10
_EXIF_ORIENTATION = 0x0112


class UnreadableImageWarning(UserWarning):
    """A data file could not be read and was skipped."""


def some_names(paths: Sequence[Path | str], limit: int = _MAX_NAMES) -> str:
    """The first ``limit`` of ``paths`` joined by commas, and how many more there are, for a one-line error.

    >>> some_names(["a.png", "b.png", "c.png"], limit=2)
    'a.png, b.png (+1 more)'
    """
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" (+{len(paths) - limit} more)" if len(paths) > limit else "")


# ----------------------------------------------------------------------------------------------- folders and files


def split_folders(root: str | Path, layout: Layout, split: str) -> tuple[Path, ...]:
    """The folders of ``split`` for ``layout``: ``(ROOT/split,)`` for aligned, ``(ROOT/splitA, ROOT/splitB)`` else."""
    if layout not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; valid layouts: {', '.join(LAYOUTS)}")
    root = Path(root)
    return (root / split,) if layout == "aligned" else (root / f"{split}A", root / f"{split}B")


def split_exists(root: str | Path, layout: Layout, split: str) -> bool:
    """Whether ``split`` is there for ``layout``.

    Raises:
        FileNotFoundError: only one of ``splitA`` / ``splitB`` exists (one line naming both).
    """
    folders = split_folders(root, layout, split)
    present = [folder.is_dir() for folder in folders]
    if any(present) and not all(present):
        have, lack = (folders[0], folders[1]) if present[0] else (folders[1], folders[0])
        raise MissingPathError(f"found {have} but not {lack}; layout {layout!r} needs both ({_README})")
    return all(present)


def require_split(root: Path, layout: Layout, split: str) -> tuple[Path, ...]:
    """The folders of ``split``, after checking they exist (one line naming them, and the other layout where the
    root holds its folders)."""
    folders = split_folders(root, layout, split)
    if not split_exists(root, layout, split):
        expected = " and ".join(str(folder) for folder in folders)
        hint = ""
        if layout != "aligned" and (root / split).is_dir():
            hint = f"; {root / split} exists: did you mean layout 'aligned'?"
        elif layout == "aligned" and (root / f"{split}A").is_dir():
            hint = f"; {root / (split + 'A')} exists: did you mean layout 'paired' or 'unpaired'?"
        raise MissingPathError(f"expected {expected} for layout {layout!r} ({_README}){hint}")
    return folders


def images_in(folder: Path) -> list[Path]:
    """The images under ``folder`` (subfolders included, sorted); a DataError naming the folder where there are none."""
    files = list_images(folder)
    if not files:
        raise DataError(
            f"no images in {folder} (subfolders included; extensions {' '.join(IMAGE_EXTENSIONS)}); "
            f"add images or fix root ({_README})"
        )
    return files


def _keys(folder: Path, files: Sequence[Path]) -> dict[str, Path]:
    keys: dict[str, Path] = {}
    for path in files:
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in keys:
            raise DataError(f"ambiguous pair name in {folder}: {keys[key].name} and {path.name}; rename or remove one")
        keys[key] = path
    return keys


def match_images(folder_a: str | Path, folder_b: str | Path) -> tuple[list[tuple[Path, Path]], list[Path], list[Path]]:
    """Match the images of two folders on their relative path without the extension.

    Returns:
        (pairs sorted by name, files of A without a partner, files of B without a partner); the lonely files
        are relative to their folder.

    Raises:
        DataError: a folder is empty or two files of one folder share a name.
        MissingPathError: a folder does not exist.
    """
    folder_a, folder_b = Path(folder_a), Path(folder_b)
    keys_a, keys_b = _keys(folder_a, images_in(folder_a)), _keys(folder_b, images_in(folder_b))
    pairs = [(keys_a[key], keys_b[key]) for key in sorted(keys_a.keys() & keys_b.keys())]
    lonely_a = [keys_a[key].relative_to(folder_a) for key in sorted(keys_a.keys() - keys_b.keys())]
    lonely_b = [keys_b[key].relative_to(folder_b) for key in sorted(keys_b.keys() - keys_a.keys())]
    return pairs, lonely_a, lonely_b


def find_pairs(folder_a: str | Path, folder_b: str | Path) -> list[tuple[Path, Path]]:
    """Pair the images of two folders on their relative path without extension (:func:`match_images`), sorted.

    Raises:
        ValueError: a folder is empty, two files of one folder share a name, or files have no partner
            (one line listing up to 10 of them and the count).
    """
    pairs, lonely_a, lonely_b = match_images(folder_a, folder_b)
    if lonely_a or lonely_b:
        parts = []
        if lonely_a:
            parts.append(f"{len(lonely_a)} in {folder_a} without a partner in {folder_b}: {some_names(lonely_a)}")
        if lonely_b:
            parts.append(f"{len(lonely_b)} in {folder_b} without a partner in {folder_a}: {some_names(lonely_b)}")
        raise DataError(
            f"unpaired files: {'; '.join(parts)}; pairs match on the path without extension, "
            f"add the partners or remove these files"
        )
    return pairs


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) of an image as :func:`~pono_gan.data.io.load_image` will see it (EXIF orientation applied),
    read from the header without decoding the pixels.

    Raises:
        ImageReadError: the header cannot be read (one line naming the file).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                # PNG's getexif() decodes the whole image when the EXIF chunk is not in the header.
                orientation = 1
                if image.format != "PNG" or "exif" in image.info:
                    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception as error:  # noqa: BLE001 - PIL raises many types for broken headers
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageReadError(f"{path}: not a readable image ({reason}); re-export or remove it") from None
    if width < 1 or height < 1:
        raise ImageReadError(f"{path}: empty image ({width}x{height}); re-export or remove it")
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def _readable_sizes(paths: Sequence[Path]) -> tuple[list[tuple[int, int] | None], list[Path]]:
    sizes: list[tuple[int, int] | None] = []
    bad: list[Path] = []
    for path in paths:
        try:
            sizes.append(image_size(path))
        except ImageReadError:
            sizes.append(None)
            bad.append(path)
    return sizes, bad


def _warn_unreadable(bad: Sequence[Path], total: int, where: str, stacklevel: int) -> None:
    """One warning for the files whose header fails to read; ``stacklevel`` points it at make_dataset's caller."""
    if bad:
        warnings.warn(
            f"skipping {len(bad)} of {total} images under {where} that fail to open: {some_names(bad, 5)} ({_README})",
            UnreadableImageWarning,
            stacklevel=stacklevel,
        )


# ------------------------------------------------------------------------------------------------------ datasets


class _Unreadable(Exception):
    pass


class _TranslationDataset(Dataset):
    """Shared decoding, skip-on-truncation and output scaling for the three layouts."""

    def __init__(
        self, preprocessing: Preprocessing, channels: tuple[int, int], train: bool, limit: int | None
    ) -> None:
        if len(channels) != 2 or any(count not in (1, 3) for count in channels):
            raise DataError(f"channels must be (input, target) with 1 or 3 each, got {tuple(channels)}")
        if limit is not None and limit < 0:
            raise DataError(f"limit must be >= 0 or None, got {limit}")
        self.preprocessing = preprocessing
        self.channels = (int(channels[0]), int(channels[1]))
        self.train = train
        self.limit = limit
        #: header sizes (H, W) of the files that decide the input and target outputs' sizes, filled by
        #: :func:`make_dataset`; they let the data module tell whether the outputs of a non-cropping preset can be
        #: batched. In the paired layout B is resized to A's frame, so "B" holds A's sizes and files.
        self.image_sizes: dict[str, list[tuple[int, int]]] = {"A": [], "B": []}
        self.image_paths: dict[str, list[Path]] = {"A": [], "B": []}  #: the files of ``image_sizes``
        self._unreadable: set[Path] = set()  # per process: every DataLoader worker learns on its own

    def _length(self) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        length = self._length()
        return length if self.limit is None else min(length, self.limit)

    def size_conflict(self) -> str | None:
        """Two files whose outputs differ in size (so they cannot share a batch), or None when all agree."""
        for key, sizes in self.image_sizes.items():
            outputs = [self.preprocessing.output_size(*size) for size in sizes]
            for index, output in enumerate(outputs):
                if output != outputs[0]:
                    first, other = self.image_paths[key][0], self.image_paths[key][index]
                    return f"{first} gives {outputs[0][1]}x{outputs[0][0]}, {other} gives {output[1]}x{output[0]}"
        return None

    def uniform_output_size(self) -> bool:
        """Whether every input has one output size and every target has one (so batches of any size stack)."""
        return self.size_conflict() is None

    def _read(self, path: Path, channels: int) -> Tensor:
        if path in self._unreadable:
            raise _Unreadable
        try:
            return load_image(path, channels)
        except ImageReadError as error:
            self._unreadable.add(path)
            warnings.warn(f"skipping a sample: {error} ({_README})", UnreadableImageWarning, stacklevel=2)
            raise _Unreadable from None

    def _sample(self, index: int, generator: torch.Generator | None) -> dict:
        raise NotImplementedError

    def __getitem__(self, key: int | SampleKey) -> dict:
        """The sample at ``key``: an index, or an ``(index, sample_seed)`` key from
        :class:`pono_gan.data.sampling.EpochSampler`, whose seed then decides the sample's random crop, flip and
        unpaired partner (with a bare index in training they come from torch's global generator)."""
        index, seed = key if isinstance(key, tuple) else (key, None)
        generator = None if seed is None else sample_generator(seed)
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"index {index} out of range for {length} samples")
        for attempt in range(length):
            try:
                return self._sample((index + attempt) % length, generator)
            except _Unreadable:
                continue
        raise ImageReadError(f"every sample of this {type(self).__name__} failed to decode ({_README})")

    def _pair(self, a: Tensor, b: Tensor, path_a: Path, path_b: Path, generator: torch.Generator | None) -> dict:
        """Preprocess an aligned pair with one geometry: B is resized to A's frame, then both are cut alike."""
        size = self.preprocessing.resized_size(*a.shape[-2:])
        a, b = resize(a, size), resize(b, size)
        geometry = self.preprocessing.sample(*size, train=self.train, generator=generator)
        return {
            "A": apply_geometry(a, geometry).mul(2).sub(1),
            "B": apply_geometry(b, geometry).mul(2).sub(1),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }

    def _single(self, image: Tensor, generator: torch.Generator | None) -> Tensor:
        size = self.preprocessing.resized_size(*image.shape[-2:])
        image = resize(image, size)
        geometry = self.preprocessing.sample(*size, train=self.train, generator=generator)
        return apply_geometry(image, geometry).mul(2).sub(1)


class AlignedImageDataset(_TranslationDataset):
    """Images holding A | B side by side (left half A, right half B); ``swap`` makes the right half the input.

    Args:
        paths: the side-by-side images.
        preprocessing: the preset; both halves get the same geometry.
        channels: (channels of the input, channels of the target), each 1 or 3.
        train: random crop and flip (True) or centre crop (False).
        swap: ``direction == "BtoA"``.
        limit: keep only the first ``limit`` samples (None: all).
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        preprocessing: Preprocessing,
        channels: tuple[int, int] = (3, 3),
        train: bool = True,
        swap: bool = False,
        limit: int | None = None,
    ) -> None:
        super().__init__(preprocessing, channels, train, limit)
        self.paths = [Path(p) for p in paths]
        self.swap = swap

    def _length(self) -> int:
        return len(self.paths)

    def _sample(self, index: int, generator: torch.Generator | None) -> dict:
        path = self.paths[index]
        input_channels, target_channels = self.channels
        left_channels, right_channels = (target_channels, input_channels) if self.swap else self.channels
        left = self._read(path, left_channels)
        right = left if right_channels == left_channels else self._read(path, right_channels)
        half = left.shape[-1] // 2
        if half < 1:
            raise DataError(f"{path}: {left.shape[-1]} px wide, too narrow to hold A | B side by side")
        a, b = left[..., :half], right[..., half : 2 * half]
        if self.swap:
            a, b = b, a
        return self._pair(a, b, path, path, generator)


class PairedImageDataset(_TranslationDataset):
    """Two folders of pixel-aligned images; each pair gets one geometry (B is resized to A's frame first).

    Args:
        pairs: (input path, target path), already in ``direction`` order.
        preprocessing: the preset.
        channels: (channels of the input, channels of the target), each 1 or 3.
        train: random crop and flip (True) or centre crop (False).
        limit: keep only the first ``limit`` samples (None: all).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str | Path, str | Path]],
        preprocessing: Preprocessing,
        channels: tuple[int, int] = (3, 3),
        train: bool = True,
        limit: int | None = None,
    ) -> None:
        super().__init__(preprocessing, channels, train, limit)
        self.pairs = [(Path(a), Path(b)) for a, b in pairs]

    def _length(self) -> int:
        return len(self.pairs)

    def _sample(self, index: int, generator: torch.Generator | None) -> dict:
        path_a, path_b = self.pairs[index]
        a = self._read(path_a, self.channels[0])
        b = self._read(path_b, self.channels[1])
        return self._pair(a, b, path_a, path_b, generator)


class UnpairedImageDataset(_TranslationDataset):
    """Two independent image sets (junyanz ``unaligned``); each image gets its own random geometry.

    Training pairs ``A[i % len(A)]`` with a random B; evaluation with ``B[i % len(B)]``. The length is
    ``max(len(A), len(B))``.

    Args:
        paths_a: the input domain (already in ``direction`` order).
        paths_b: the target domain.
        preprocessing: the preset.
        channels: (channels of A, channels of B), each 1 or 3.
        train: random crops, flips and B partners (True) or deterministic (False).
        limit: keep only the first ``limit`` samples (None: all).
    """

    def __init__(
        self,
        paths_a: Sequence[str | Path],
        paths_b: Sequence[str | Path],
        preprocessing: Preprocessing,
        channels: tuple[int, int] = (3, 3),
        train: bool = True,
        limit: int | None = None,
    ) -> None:
        super().__init__(preprocessing, channels, train, limit)
        self.paths_a = [Path(p) for p in paths_a]
        self.paths_b = [Path(p) for p in paths_b]
        if not self.paths_a or not self.paths_b:
            raise DataError("UnpairedImageDataset needs at least one image in each domain")

    def _length(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def _sample(self, index: int, generator: torch.Generator | None) -> dict:
        path_a = self.paths_a[index % len(self.paths_a)]
        a = self._read(path_a, self.channels[0])
        if self.train:
            path_b = self.paths_b[int(torch.randint(len(self.paths_b), (), generator=generator))]
        else:
            path_b = self.paths_b[index % len(self.paths_b)]
        b = self._read(path_b, self.channels[1])
        a, b = self._single(a, generator), self._single(b, generator)
        return {"A": a, "B": b, "A_path": str(path_a), "B_path": str(path_b)}


def collate(samples: Sequence[dict]) -> dict:
    """Stack samples into ``{"A": (N, Ca, H, W), "B": (N, Cb, H, W), "A_path": [...], "B_path": [...]}``.

    Raises:
        ValueError: the images differ in size (one line naming two of them).
    """
    batch: dict = {}
    for key in ("A", "B"):
        shapes = [tuple(sample[key].shape) for sample in samples]
        if len(set(shapes)) > 1:
            other = next(i for i, shape in enumerate(shapes) if shape != shapes[0])
            raise DataError(
                f"cannot batch {key} images of different sizes ({samples[0][key + '_path']}: {shapes[0]}, "
                f"{samples[other][key + '_path']}: {shapes[other]}); use batch_size 1 or a cropping preprocess"
            )
        batch[key] = torch.stack([sample[key] for sample in samples])
        batch[key + "_path"] = [sample[key + "_path"] for sample in samples]
    return batch


# ------------------------------------------------------------------------------------------------------- factory


def _check_sizes(preprocessing: Preprocessing, paths: Sequence[Path], sizes: Sequence[tuple[int, int]]) -> None:
    problems = [(path, problem) for path, size in zip(paths, sizes) if (problem := preprocessing.problem(*size))]
    if problems:
        path, problem = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(
            f"{path} is {problem} for preprocess {preprocessing.preprocess!r}{more}; {preprocessing.fix_hint()}"
        )


def check_first_images(root: str | Path, layout: Layout, split: str, preprocessing: Preprocessing,
                       direction: Direction = "AtoB") -> None:
    """A quick look before training: ``split``'s folders exist and the first image file of each (for a paired
    layout only of the input's folder after ``direction``: targets are resized to their inputs), where readable,
    fits the preset. :func:`make_dataset` checks them all."""
    folders = require_split(Path(root), layout, split)
    if layout == "paired":
        folders = folders[1:] if direction == "BtoA" else folders[:1]
    for folder in folders:
        paths = list_images(folder)[:1]
        sizes, _ = _readable_sizes(paths)
        kept = [(path, (size[0], size[1] // 2) if layout == "aligned" else size)
                for path, size in zip(paths, sizes) if size is not None]
        _check_sizes(preprocessing, [path for path, _ in kept], [size for _, size in kept])


def make_dataset(
    root: str | Path,
    layout: Layout,
    split: str,
    *,
    preprocessing: Preprocessing,
    direction: Direction = "AtoB",
    channels: tuple[int, int] = (3, 3),
    train: bool = True,
    limit: int | None = None,
) -> AlignedImageDataset | PairedImageDataset | UnpairedImageDataset:
    """Scan, check and wrap one split of a data root.

    Checks, each failing with a one-line error that names the folder or file and the fix: the split's folders
    exist and hold images; every paired file has its partner; every image is large enough for the preset.
    Files whose header cannot be read are left out with one :class:`UnreadableImageWarning`.

    Args:
        root: the data root.
        layout: ``aligned | paired | unpaired`` (see the module docstring).
        split: ``train``, ``val`` or ``test``.
        preprocessing: the preset and its sizes.
        direction: ``AtoB`` or ``BtoA`` (swaps input and target, or the two domains).
        channels: (channels of the input, channels of the target) after ``direction``.
        train: training transforms (random crop, flip, random unpaired partner) or evaluation ones.
        limit: keep only the first ``limit`` samples (None: all).

    Raises:
        FileNotFoundError: a split folder is missing.
        ValueError: an empty folder, files without a partner, an image too small for the preset.
    """
    if direction not in DIRECTIONS:
        raise DataError(f"unknown direction {direction!r}; valid directions: {', '.join(DIRECTIONS)}")
    folders = require_split(Path(root), layout, split)
    swap = direction == "BtoA"
    if layout == "aligned":
        return _aligned_dataset(folders[0], preprocessing, channels, train, limit, swap)
    if layout == "paired":
        return _paired_dataset(folders, preprocessing, channels, train, limit, swap)
    return _unpaired_dataset(folders, preprocessing, channels, train, limit, swap)


def _readable(folder: Path) -> list[tuple[Path, tuple[int, int]]]:
    """The images of ``folder`` whose header reads, with their sizes; the others left out with one warning."""
    paths = images_in(folder)
    sizes, bad = _readable_sizes(paths)
    _warn_unreadable(bad, len(paths), str(folder), stacklevel=5)  # _readable <- _*_dataset <- make_dataset
    kept = [(path, size) for path, size in zip(paths, sizes) if size is not None]
    if not kept:
        raise DataError(f"no readable images in {folder}; re-export them ({_README})")
    return kept


def _aligned_dataset(folder: Path, preprocessing: Preprocessing, channels: tuple[int, int], train: bool,
                     limit: int | None, swap: bool) -> AlignedImageDataset:
    kept = [(path, (size[0], size[1] // 2)) for path, size in _readable(folder)][:limit]  # each half's size
    paths, sizes = [path for path, _ in kept], [size for _, size in kept]
    _check_sizes(preprocessing, paths, sizes)
    dataset = AlignedImageDataset(paths, preprocessing, channels, train, swap)
    dataset.image_sizes, dataset.image_paths = {"A": sizes, "B": sizes}, {"A": paths, "B": paths}
    return dataset


def _paired_dataset(folders: tuple[Path, ...], preprocessing: Preprocessing, channels: tuple[int, int], train: bool,
                    limit: int | None, swap: bool) -> PairedImageDataset:
    pairs = find_pairs(*folders)
    sizes_a, bad_a = _readable_sizes([a for a, _ in pairs])
    sizes_b, bad_b = _readable_sizes([b for _, b in pairs])
    _warn_unreadable(bad_a + bad_b, 2 * len(pairs), f"{folders[0]} and {folders[1]} (their pairs are left out)",
                     stacklevel=4)  # _paired_dataset <- make_dataset
    kept = [(pair, sa, sb) for pair, sa, sb in zip(pairs, sizes_a, sizes_b) if sa is not None and sb is not None]
    if not kept:
        raise DataError(f"no readable pairs in {folders[0]} and {folders[1]}; re-export them ({_README})")
    if swap:
        kept = [((b, a), sb, sa) for (a, b), sa, sb in kept]
    kept = kept[:limit]
    inputs, sizes = [pair[0] for pair, _, _ in kept], [sa for _, sa, _ in kept]
    _check_sizes(preprocessing, inputs, sizes)
    dataset = PairedImageDataset([pair for pair, _, _ in kept], preprocessing, channels, train)
    # B is resized to A's frame, so A's files decide the output sizes of both: "B" lists A's files on purpose
    # (size_conflict names the file whose size it reports; the B files are dataset.pairs[i][1]).
    dataset.image_sizes, dataset.image_paths = {"A": sizes, "B": sizes}, {"A": inputs, "B": inputs}
    mismatched = [(pair, sa, sb) for pair, sa, sb in kept if sa != sb]
    if mismatched:
        (a, b), sa, sb = mismatched[0]
        warnings.warn(
            f"{len(mismatched)} pairs differ in size (first: {a} {sa[1]}x{sa[0]}, {b} {sb[1]}x{sb[0]}); "
            "each target is resized to its input's size",
            UserWarning,
            stacklevel=3,
        )
    return dataset


def _unpaired_dataset(folders: tuple[Path, ...], preprocessing: Preprocessing, channels: tuple[int, int],
                      train: bool, limit: int | None, swap: bool) -> UnpairedImageDataset:
    domains = []
    for folder in folders:
        kept = _readable(folder)
        _check_sizes(preprocessing, [path for path, _ in kept], [size for _, size in kept])
        domains.append(kept)
    if swap:
        domains.reverse()
    # the first ``limit`` samples pair A[i % len(A)] with B[i % len(B)] in evaluation
    dataset = UnpairedImageDataset(
        [path for path, _ in domains[0]], [path for path, _ in domains[1]], preprocessing, channels, train, limit
    )
    dataset.image_sizes = {"A": [size for _, size in domains[0]], "B": [size for _, size in domains[1]]}
    dataset.image_paths = {"A": [path for path, _ in domains[0]], "B": [path for path, _ in domains[1]]}
    return dataset
