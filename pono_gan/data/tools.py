"""Turn folders of images into the layouts pono-gan reads.

* ``combine``: an A folder and a B folder -> aligned images (A | B side by side, as pix2pix's
  ``combine_A_and_B.py``); files match on their path relative to the folder without the extension.
* ``split``: aligned images -> an A folder (left halves) and a B folder (right halves); the inverse of combine.
* ``split-sets``: one folder (or matched A / B folders) -> a seeded train / val / test split in a layout.
* ``unpair``: a paired data root -> an unpaired one whose two training domains share no item (a seeded half of
  the training pairs gives its A side, the other half its B side); val and test stay paired, so a model trained
  without pairs can still be scored against true targets.

Images are read and written by :mod:`pono_gan.data.io` (3 channels, 8 bits; writes are atomic), so PNGs
round-trip pixel-exact through ``combine`` and ``split``. ``split-sets`` copies (or hard-links) the files as
they are.

Command line::

    python -m pono_gan.data.tools combine --a photos/A --b photos/B --out data/mine/all
    python -m pono_gan.data.tools split --input data/facades/train --out-a facades/A --out-b facades/B
    python -m pono_gan.data.tools split-sets --input data/mine/all --out data/mine --val 0.1 --test 0.1 --seed 0
    python -m pono_gan.data.tools split-sets --a photos/A --b photos/B --out data/mine2 --layout paired --link
    python -m pono_gan.data.tools unpair --input data/song2kai --out data/song2kai_unpaired --link
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from pono_gan.data.datasets import find_pairs, image_size, images_in, match_images, some_names
from pono_gan.data.download import data_config
from pono_gan.data.glyphs import Split
from pono_gan.data.io import load_image, save_image
from pono_gan.data.transforms import resize
from pono_gan.errors import DataError, PonoGanError

__all__ = ["SPLIT_LAYOUTS", "combine", "main", "split", "split_sets", "unpair"]

#: Layouts ``split-sets`` writes: ``aligned`` (train/ val/ test/), ``paired`` and ``unpaired`` (trainA/ trainB/
#: ...), ``single`` (one side: trainA/ valA/ testA/, or B with ``side="B"``).
SPLIT_LAYOUTS = ("aligned", "paired", "unpaired", "single")
SPLITS = ("train", "val", "test")

_WORKERS = 4  # writes wait on fsync more than on the CPU


def _run(function: Callable[[object], object], items: Sequence, label: str, progress: bool) -> None:
    """``function`` on every item in a few threads, with a progress bar; the first error stops the run."""
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool, tqdm(
        total=len(items), desc=label, unit="img", file=sys.stderr, disable=not progress, leave=False
    ) as bar:
        for _ in pool.map(function, items):
            bar.update()


def _inside(path: Path, other: Path) -> bool:
    path, other = path.resolve(), other.resolve()
    return path == other or other in path.parents


def _refuse_overlap(outputs: Sequence[Path], inputs: Sequence[Path]) -> None:
    for output in outputs:
        for source in inputs:
            if _inside(output, source) or _inside(source, output):
                raise DataError(f"output {output} overlaps input {source}; choose an output folder outside the input")


def _refuse_non_empty(folders: Sequence[Path], overwrite: bool) -> None:
    for folder in folders:
        if not overwrite and folder.is_dir() and any(folder.iterdir()):
            raise DataError(f"{folder} is not empty; pass --overwrite to write over it, or choose another folder")


# ------------------------------------------------------------------------------------------------------ combine


def combine(
    folder_a: str | Path, folder_b: str | Path, out: str | Path, *, resize_b: bool = False,
    skip_unmatched: bool = False, ext: str | None = None, overwrite: bool = False, progress: bool = False,
) -> list[Path]:
    """Write every A | B pair side by side into ``out`` (pix2pix's ``combine_A_and_B``), mirroring A's tree.

    Args:
        folder_a: the left halves.
        folder_b: the right halves, matched to A on the relative path without the extension.
        out: the folder of aligned images (layout ``aligned`` reads ``ROOT/train/`` and so on).
        resize_b: resize a B image to its A's size (bicubic); without it, pairs of different sizes are an error.
        skip_unmatched: combine the matched pairs and leave out the files without a partner.
        ext: the output extension (``png``, ``.jpg``); default: the A file's.
        overwrite: write into a folder that already holds files.
        progress: show a progress bar on stderr.

    Returns:
        The written files.

    Raises:
        DataError: files without a partner (unless ``skip_unmatched``), pairs of different sizes (unless
            ``resize_b``), an output folder that is not empty or overlaps an input; checked before anything
            is written.
    """
    folder_a, folder_b, out = Path(folder_a), Path(folder_b), Path(out)
    _refuse_overlap([out], [folder_a, folder_b])
    _refuse_non_empty([out], overwrite)
    pairs, lonely_a, lonely_b = match_images(folder_a, folder_b)
    if (lonely_a or lonely_b) and not skip_unmatched or not pairs:
        raise DataError(
            f"{len(lonely_a)} files in {folder_a} without a partner in {folder_b} ({some_names(lonely_a, 5) or '-'}), "
            f"{len(lonely_b)} in {folder_b} without one in {folder_a} ({some_names(lonely_b, 5) or '-'}); "
            f"names match on the path without extension: "
            + (f"pass --skip-unmatched to combine the {len(pairs)} matched pairs" if pairs else "no pair matches")
        )
    if not resize_b:
        for path_a, path_b in pairs:
            size_a, size_b = image_size(path_a), image_size(path_b)
            if size_a != size_b:
                raise DataError(
                    f"{path_b} is {size_b[1]}x{size_b[0]} but {path_a} is {size_a[1]}x{size_a[0]}; pass --resize to "
                    "resize B images to their A's size"
                )
    suffix = None if ext is None else "." + ext.lstrip(".")
    outputs = [out / path_a.relative_to(folder_a).with_suffix(suffix or path_a.suffix) for path_a, _ in pairs]

    def write(index: int) -> None:
        path_a, path_b = pairs[index]
        a, b = load_image(path_a, 3), load_image(path_b, 3)
        save_image(torch.cat([a, resize(b, tuple(a.shape[-2:]))], dim=-1), outputs[index])

    _run(write, range(len(pairs)), "combine", progress)
    return outputs


# -------------------------------------------------------------------------------------------------------- split


def split(
    folder: str | Path, out_a: str | Path, out_b: str | Path, *, ext: str | None = None, overwrite: bool = False,
    progress: bool = False,
) -> list[tuple[Path, Path]]:
    """Cut every aligned image of ``folder`` into its left half (``out_a``) and right half (``out_b``).

    The inverse of :func:`combine`: the files keep their path relative to ``folder``.

    Raises:
        DataError: an image of odd width, an empty folder, output folders that are one folder, not empty or
            overlap the input; checked before anything is written.
    """
    folder, out_a, out_b = Path(folder), Path(out_a), Path(out_b)
    if out_a.resolve() == out_b.resolve():
        raise DataError(f"--out-a and --out-b are both {out_a}; give two folders")
    _refuse_overlap([out_a, out_b], [folder])
    _refuse_non_empty([out_a, out_b], overwrite)
    files = images_in(folder)
    odd = [(path, width) for path in files if (width := image_size(path)[1]) % 2]
    if odd:
        raise DataError(
            f"{len(odd)} of {len(files)} images in {folder} have an odd width (first: {odd[0][0]}, {odd[0][1]} px); "
            "an aligned image is two halves of equal width: crop them to an even width"
        )
    suffix = None if ext is None else "." + ext.lstrip(".")
    outputs = [
        tuple(root / path.relative_to(folder).with_suffix(suffix or path.suffix) for root in (out_a, out_b))
        for path in files
    ]

    def write(index: int) -> None:
        image = load_image(files[index], 3)
        half = image.shape[-1] // 2
        save_image(image[..., :half], outputs[index][0])
        save_image(image[..., half:], outputs[index][1])

    _run(write, range(len(files)), "split", progress)
    return outputs


# --------------------------------------------------------------------------------------------------- split-sets


def _assign(count: int, val: float, test: float, seed: int, what: str) -> list[str]:
    """The split of each of ``count`` sorted items: a seeded permutation, test first, then val, then train."""
    n_val, n_test = int(val * count + 0.5), int(test * count + 0.5)
    if count - n_val - n_test < 1:
        raise DataError(
            f"{count} files in {what}: val {val} and test {test} leave no training files; lower --val / --test"
        )
    order = np.random.default_rng(seed).permutation(count)
    splits = [""] * count
    for rank, index in enumerate(order):
        splits[index] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def split_sets(
    out: str | Path, *, folder: str | Path | None = None, folder_a: str | Path | None = None,
    folder_b: str | Path | None = None, layout: str | None = None, split: Split | None = None, side: str = "A",
    link: bool = False, overwrite: bool = False, progress: bool = False,
) -> dict[str, int]:
    """Split a folder (or matched A / B folders) into train / val / test under ``out``, deterministic for ``seed``.

    Layouts (default: ``aligned`` with ``folder``, ``paired`` with ``folder_a`` and ``folder_b``):

    * ``aligned``: ``folder`` -> ``out/train/``, ``val/``, ``test/``.
    * ``single``: ``folder`` -> ``out/trainA/``, ``valA/``, ``testA/`` (``side="B"``: ``trainB/`` ...), so two
      runs build the two domains of an unpaired set.
    * ``paired``: ``folder_a`` and ``folder_b`` matched on the name (every file needs its partner) -> a pair
      lands in one split: ``out/trainA/`` + ``trainB/``, ...
    * ``unpaired``: ``folder_a`` and ``folder_b`` split independently into the same folders.

    Files keep their path relative to their folder and are copied (``link``: hard-linked). The split folders
    are written into a hidden folder inside ``out`` and renamed into place at the end; a split with no files
    (``val=0``) gets no folder.

    Args:
        split: the fractions of files for validation and test (rounded to the nearest count) and the seed
            (None: ``Split(val=0.1, test=0.1, seed=0)``, the command line's defaults; a ``Split`` given keeps its
            own defaults for what it leaves out, ``val=0.05, test=0.1, seed=0``, the glyph builders').
        overwrite: replace the layout's split folders when they already hold files.

    Returns:
        The number of files (pairs for ``paired``) per split.

    Raises:
        DataError: wrong inputs for the layout, fractions that leave no training file, files without a partner
            (``paired``), split folders that already hold files (unless ``overwrite``), outputs that overlap the
            inputs, a hard link that cannot be made.
    """
    out, split = Path(out), split or Split(val=0.1, test=0.1, seed=0)
    val, test, seed = split.val, split.test, split.seed
    if layout is None:
        layout = "paired" if folder is None else "aligned"
    if layout not in SPLIT_LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; valid: {', '.join(SPLIT_LAYOUTS)}")
    two = layout in ("paired", "unpaired")
    if two != (folder is None) or two != (folder_a is not None and folder_b is not None):
        given = "--a and --b" if two else "--input"
        raise DataError(f"layout {layout!r} takes {given} (and not {'--input' if two else '--a / --b'})")
    if not (0 <= val < 1 and 0 <= test < 1):
        raise DataError(f"--val and --test are fractions in [0, 1), got {val} and {test}")
    if side not in ("A", "B"):
        raise DataError(f"--side is A or B, got {side!r}")

    sources = [Path(folder_a), Path(folder_b)] if two else [Path(folder)]
    tags = {"aligned": [""], "single": [side]}.get(layout, ["A", "B"])
    targets = [out / f"{split}{tag}" for split in SPLITS for tag in tags]
    _refuse_overlap(targets, sources)
    _refuse_non_empty(targets, overwrite)

    # (source file, split, destination folder tag, path relative to its source folder)
    plan: list[tuple[Path, str, str, Path]] = []
    if layout == "paired":
        pairs = find_pairs(*sources)
        for (path_a, path_b), split_name in zip(pairs, _assign(len(pairs), val, test, seed, f"{sources[0]}")):
            plan += [(path_a, split_name, "A", path_a.relative_to(sources[0])),
                     (path_b, split_name, "B", path_b.relative_to(sources[1]))]
    else:
        for source, tag in zip(sources, tags):
            files = images_in(source)
            for path, split_name in zip(files, _assign(len(files), val, test, seed, str(source))):
                plan.append((path, split_name, tag, path.relative_to(source)))

    _place_all(out, plan, targets, link, progress, "split-sets")
    unit = 2 if layout == "paired" else 1
    return {name: sum(1 for _, split_name, _, _ in plan if split_name == name) // unit for name in SPLITS}


def _place_all(out: Path, plan: list[tuple[Path, str, str, Path]], targets: Sequence[Path], link: bool,
               progress: bool, label: str) -> None:
    """Copy (or hard-link) each ``(source, split, tag, relative path)`` of ``plan`` to ``out/<split><tag>/relative``:
    written into a hidden folder inside ``out``, then the ``targets`` folders are replaced by what it holds."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{label}-", dir=out))
    try:
        def place(index: int) -> None:
            source, split_name, tag, relative = plan[index]
            destination = staging / f"{split_name}{tag}" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not link:
                shutil.copy2(source, destination)
                return
            try:
                os.link(source, destination)
            except OSError as error:
                raise DataError(f"cannot hard-link {source} to {destination} ({error.strerror}); use --copy") from None

        _run(place, range(len(plan)), label, progress)
        for target in targets:
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if (staging / target.name).is_dir():
                os.rename(staging / target.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpair(
    root: str | Path, out: str | Path, *, seed: int = 0, link: bool = False, overwrite: bool = False,
    progress: bool = False,
) -> dict[str, int]:
    """A ``paired`` data root -> an ``unpaired`` one whose training domains share no item, deterministic for ``seed``.

    The training pairs (``root/trainA`` + ``trainB``, matched on the name) are split in two halves by a seeded
    permutation: ``out/trainA`` gets the A side of the first half, ``out/trainB`` the B side of the second (one
    more in A for an odd count), so no training image of one domain has its partner in the other. ``val`` and
    ``test`` pairs are written with both sides, so a model trained without pairs is scored against true targets.
    Files are copied (``link``: hard-linked) into a hidden folder inside ``out`` and renamed into place.

    Returns:
        ``{"trainA": n, "trainB": n, "val": pairs, "test": pairs}``.

    Raises:
        DataError / MissingPathError: no training pairs, fewer than 2, files without a partner, split folders in
            ``out`` that already hold files (unless ``overwrite``), ``out`` overlapping ``root``.
    """
    root, out = Path(root), Path(out)
    pairs = find_pairs(root / "trainA", root / "trainB")
    if len(pairs) < 2:
        raise DataError(f"{root / 'trainA'}: {len(pairs)} training pair(s); unpair needs at least 2")
    splits = {"val": [], "test": []}
    for name in splits:
        if (root / f"{name}A").is_dir() or (root / f"{name}B").is_dir():
            splits[name] = find_pairs(root / f"{name}A", root / f"{name}B")
    targets = [out / f"{split}{tag}" for split in SPLITS for tag in "AB"]
    _refuse_overlap(targets, [root])
    _refuse_non_empty(targets, overwrite)
    order = np.random.default_rng(seed).permutation(len(pairs))
    half = (len(pairs) + 1) // 2
    plan: list[tuple[Path, str, str, Path]] = []
    for rank, index in enumerate(order):
        tag = "A" if rank < half else "B"
        source = pairs[index][0 if tag == "A" else 1]
        plan.append((source, "train", tag, source.relative_to(root / f"train{tag}")))
    for name, split_pairs in splits.items():
        for path_a, path_b in split_pairs:
            plan += [(path_a, name, "A", path_a.relative_to(root / f"{name}A")),
                     (path_b, name, "B", path_b.relative_to(root / f"{name}B"))]
    _place_all(out, plan, targets, link, progress, "unpair")
    return {"trainA": half, "trainB": len(pairs) - half, "val": len(splits["val"]), "test": len(splits["test"])}


# --------------------------------------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.data.tools", description=__doc__.split("\n\n")[0],
                                     epilog="Examples: see datasets/README.md.")
    commands = parser.add_subparsers(dest="command", required=True)
    overwrite_help = "write into output folders that already hold files"

    sub = commands.add_parser("combine", help="A and B folders -> aligned A | B images (pix2pix combine_A_and_B)")
    sub.add_argument("--a", required=True, help="folder of A images (left halves)")
    sub.add_argument("--b", required=True, help="folder of B images, matched to A on the name without extension")
    sub.add_argument("--out", required=True, help="folder for the aligned images (mirrors A's tree)")
    sub.add_argument("--resize", action="store_true", help="resize each B image to its A's size instead of failing")
    sub.add_argument("--skip-unmatched", action="store_true", help="leave out files without a partner")
    sub.add_argument("--ext", help="output extension, e.g. png (default: the A file's)")
    sub.add_argument("--overwrite", action="store_true", help=overwrite_help)

    sub = commands.add_parser("split", help="aligned A | B images -> an A folder and a B folder")
    sub.add_argument("--input", required=True, help="folder of aligned images")
    sub.add_argument("--out-a", required=True, help="folder for the left halves")
    sub.add_argument("--out-b", required=True, help="folder for the right halves")
    sub.add_argument("--ext", help="output extension, e.g. png (default: the input file's)")
    sub.add_argument("--overwrite", action="store_true", help=overwrite_help)

    sub = commands.add_parser("split-sets", help="a folder (or A / B folders) -> seeded train / val / test splits")
    sub.add_argument("--input", help="one folder (layouts aligned, single)")
    sub.add_argument("--a", help="folder of A images (layouts paired, unpaired)")
    sub.add_argument("--b", help="folder of B images (layouts paired, unpaired)")
    sub.add_argument("--out", required=True, help="the data root that receives the split folders")
    sub.add_argument("--layout", choices=SPLIT_LAYOUTS, help="default: aligned with --input, paired with --a / --b")
    sub.add_argument("--side", default="A", choices=("A", "B"), help="layout single: the domain (default: A)")
    sub.add_argument("--val", type=float, default=0.1, help="fraction for validation (default: %(default)s)")
    sub.add_argument("--test", type=float, default=0.1, help="fraction for test (default: %(default)s)")
    sub.add_argument("--seed", type=int, default=0, help="random seed of the split (default: %(default)s)")
    how = sub.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="link", action="store_false", help="copy the files (default)")
    how.add_argument("--link", dest="link", action="store_true", help="hard-link the files (same file system)")
    sub.add_argument("--overwrite", action="store_true", help="replace split folders that already hold files")

    sub = commands.add_parser("unpair",
                              help="a paired data root -> an unpaired one whose training domains share no item")
    sub.add_argument("--input", required=True, help="a data root in the paired layout (trainA/ trainB/, val*, test*)")
    sub.add_argument("--out", required=True, help="the unpaired data root to write")
    sub.add_argument("--seed", type=int, default=0, help="random seed of the halves (default: %(default)s)")
    sub.add_argument("--link", action="store_true", help="hard-link the files (same file system) instead of copying")
    sub.add_argument("--overwrite", action="store_true", help="replace split folders that already hold files")

    for sub in commands.choices.values():
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _combine(args: argparse.Namespace) -> list[Path]:
    written = combine(args.a, args.b, args.out, resize_b=args.resize, skip_unmatched=args.skip_unmatched,
                      ext=args.ext, overwrite=args.overwrite, progress=not args.quiet)
    print(f"combined {len(written)} pairs into {args.out} (aligned A | B images; a data root reads them "
          "from ROOT/train/, val/, test/)")
    return written


def _split(args: argparse.Namespace) -> list[Path]:
    written = split(args.input, args.out_a, args.out_b, ext=args.ext, overwrite=args.overwrite,
                    progress=not args.quiet)
    print(f"split {len(written)} images into {args.out_a} (left halves) and {args.out_b} (right halves)")
    return written


def _unpair(args: argparse.Namespace) -> dict[str, int]:
    counts = unpair(args.input, args.out, seed=args.seed, link=args.link, overwrite=args.overwrite,
                    progress=not args.quiet)
    print(f"{args.out}: " + ", ".join(f"{name} {count}" for name, count in counts.items())
          + " (train A and B from disjoint halves; val and test stay paired); train with layout 'unpaired', "
            "score with evaluate --layout paired")
    return counts


def _split_sets(args: argparse.Namespace) -> dict[str, int]:
    counts = split_sets(args.out, folder=args.input, folder_a=args.a, folder_b=args.b, layout=args.layout,
                        split=Split(args.val, args.test, args.seed), side=args.side, link=args.link,
                        overwrite=args.overwrite, progress=not args.quiet)
    layout = args.layout or ("aligned" if args.input else "paired")
    summary = ", ".join(f"{name} {count}" for name, count in counts.items())
    if layout == "single":
        print(f"{args.out}: {summary} (side {args.side}); split the other side with --side "
              f"{'B' if args.side == 'A' else 'A'}, then train with layout 'unpaired' (or 'paired' if names match)")
    else:
        print(f"{args.out}: {summary} (layout {layout!r}); train with:")
        print(data_config(args.out, layout))
    return counts


def main(argv: Sequence[str] | None = None) -> object:
    parser = _parser()
    args = parser.parse_args(argv)
    command = {"combine": _combine, "split": _split, "unpair": _unpair, "split-sets": _split_sets}[args.command]
    try:
        return command(args)
    except PonoGanError as error:
        parser.exit(2, f"tools: error: {error}\n")


if __name__ == "__main__":
    main()
