"""The font benchmark: one source font (domain A) against many target fonts (domain B), with ground truth.

A style (MUNIT) model must learn a style that varies *inside* its target domain; the same characters drawn in many
fonts give exactly that, and the right answer for "this character in that font" is known: the font's own drawing.
Domain A is one source font (AR PL SungtiL GB, a Song face, by default); domain B is the union of the same
characters drawn in K target fonts, with no font labels given to training. ``pono_gan.evaluate`` scores a style
model on it with an example-guided protocol (:mod:`pono_gan.evaluate.fonts`).

Building:

1. Each candidate target font draws the characters (``.notdef``, empty and shared bitmaps are dropped, as in
   :func:`pono_gan.data.glyphs.render_glyphs`). A candidate that draws none of them is an error.
2. Near-copies are dropped, in the order given: a candidate whose **font distance** (the mean absolute difference
   in [0, 1] between the two fonts' drawings of the characters both draw) to the source or to a target font
   already kept is below ``min_distance`` is left out, and the distance is printed. At 64 px an AR PL Kai and its
   Big5 twin (``bkai00mp``) are 0.038 apart, Song and BabelStone Han 0.045, Song and AR PL UMing 0.060; two
   different Kai designs (``gkai00mp``, cwTeX Kai) 0.069; two unrelated faces 0.10 to 0.19.
3. Only the characters the source and every kept target font draw are kept (about 2,550 of GB2312 level 1 for
   the defaults, the cwTeX fonts being Big5 fonts); ``max_chars`` takes a seeded subset of them.
4. The characters are split into train / val / test by a seeded permutation: a test character is never seen in
   training, in any font.

Layout (``unpaired`` for training; the style task reads ``trainA`` and ``trainB``, subfolders included)::

    ROOT/{train,val,test}A/uXXXX.png            the source font
    ROOT/{train,val,test}B/FONT/uXXXX.png       each kept target font FONT (its file's stem, lower case)
    ROOT/fonts.json                             the arguments, the fonts (id, name, file, SHA-256), the distances,
                                                the dropped fonts and why, the characters of each split

XXXX is the code point in hex, so an image's path says which font and character it is. The defaults come from
Debian packages that ``make fonts`` installs. Command line::

    python -m pono_gan.data.builders fonts --root data/fonts --size 64
    python -m pono_gan.data.builders fonts --root data/fonts_small --max-chars 300
    python -m pono_gan.data.builders fonts --root data/latin --source-font DejaVuSans.ttf \\
        --target-fonts DejaVuSerif.ttf DejaVuSansMono.ttf DejaVuSans-Bold.ttf --chars "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pono_gan.data.glyphs import (
    DEFAULT_SOURCE_FONT,
    Drawing,
    Split,
    add_rendering_arguments,
    already_built,
    drawing_and_split,
    file_sha256,
    open_font,
    render_glyphs,
    split_characters,
    write_atomically,
    write_glyphs,
)
from pono_gan.errors import DataError

__all__ = ["DEFAULT_TARGET_FONTS", "MANIFEST", "add_arguments", "build_fonts", "font_distance", "font_id", "main"]

log = logging.getLogger(__name__)

_FONTS = "/usr/share/fonts/truetype"
#: the candidate target fonts, in the order near-copies are resolved (the first of two near-copies is kept)
DEFAULT_TARGET_FONTS: tuple[str, ...] = (
    f"{_FONTS}/arphic-gkai00mp/gkai00mp.ttf",  # AR PL KaitiM GB
    f"{_FONTS}/arphic-bkai00mp/bkai00mp.ttf",  # AR PL KaitiM Big5: a near-copy of the GB Kai
    f"{_FONTS}/arphic/uming.ttc",  # AR PL UMing: a Ming face near the Song source
    f"{_FONTS}/cwtex/cwming.ttf",  # cwTeX Ming
    f"{_FONTS}/cwtex/cwheib.ttf",  # cwTeX HeiBold
    f"{_FONTS}/cwtex/cwyen.ttf",  # cwTeX Yen
    f"{_FONTS}/cwtex/cwfs.ttf",  # cwTeX FangSong
    f"{_FONTS}/cwtex/cwkai.ttf",  # cwTeX Kai
    f"{_FONTS}/wqy/wqy-zenhei.ttc",  # WenQuanYi Zen Hei
    f"{_FONTS}/lxgw-wenkai/LXGWWenKai-Regular.ttf",  # LXGW WenKai
    f"{_FONTS}/babelstone/BabelStoneHan.ttf",  # BabelStone Han: near the Song source
)
#: the benchmark's manifest file, in its root
MANIFEST = "fonts.json"
_FORMAT_VERSION = 1


def font_id(path: str | os.PathLike) -> str:
    """A font's id in the layout: its file's stem in lower case (``cwming``, ``lxgwwenkai-regular``)."""
    return Path(path).stem.lower()


def font_distance(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> float:
    """The mean absolute difference (in [0, 1]) between two fonts' drawings of the characters both draw (``nan``
    when they share none)."""
    shared = [char for char in first if char in second]
    if not shared:
        return float("nan")
    a = np.stack([first[c] for c in shared]).astype(np.float32)
    b = np.stack([second[c] for c in shared]).astype(np.float32)
    return float(np.abs(a - b).mean() / 255)


def _describe(path: str | os.PathLike) -> dict[str, str]:
    font = open_font(path, 16)
    return {"id": font_id(path), "name": " ".join(part for part in font.getname() if part), "file": Path(path).name,
            "sha256": file_sha256(path)}


def _select(source: dict[str, np.ndarray], candidates: dict[str, dict[str, np.ndarray]],
            min_distance: float) -> tuple[list[str], dict[str, dict], dict[str, dict[str, float]]]:
    """``(kept ids, {dropped id: {"nearest", "distance"}}, distances between every two fonts)``; the source is
    ``"source"`` in the distances."""
    fonts = {"source": source, **candidates}
    names = list(fonts)
    distances: dict[str, dict[str, float]] = {name: {} for name in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distances[a][b] = distances[b][a] = round(font_distance(fonts[a], fonts[b]), 4)
    kept: list[str] = []
    dropped: dict[str, dict] = {}
    for name in candidates:
        near = [(distances[name][other], other) for other in ["source", *kept] if distances[name][other] < min_distance]
        if near:
            distance, nearest = min(near)
            dropped[name] = {"nearest": nearest, "distance": distance}
        else:
            kept.append(name)
    return kept, dropped, distances


def build_fonts(
    root: str | os.PathLike,
    source_font: str | os.PathLike = DEFAULT_SOURCE_FONT,
    target_fonts: Sequence[str | os.PathLike] = DEFAULT_TARGET_FONTS,
    drawing: Drawing | None = None,
    split: Split | None = None,
    max_chars: int | None = None,
    min_distance: float = 0.065,
    overwrite: bool = False,
    train_fonts: Sequence[str] | None = None,
) -> Path:
    """Build the font benchmark under ``root`` (see the module docstring); returns ``root``.

    Args:
        root: the folder to create.
        source_font: the font of domain A.
        target_fonts: the candidate fonts of domain B (near-copies are dropped, the first of two kept).
        drawing: the characters and the image size (None: :class:`Drawing`'s defaults).
        split: the fractions of kept characters for validation and test, and the seed of the split (and of the
            ``max_chars`` subset).
        max_chars: keep at most this many characters (a seeded subset of those every font draws).
        min_distance: drop a target font nearer than this to the source or to a target font kept before it.
        overwrite: replace a different set already in ``root``.
        train_fonts: the ids of the kept target fonts that domain B holds in training and validation (default: all
            of them); the test split keeps every kept font, as the candidates of style accuracy, and evaluation
            renders the training fonts alone (``fonts.json``'s ``train_fonts``). One font makes a two-domain task
            (Song -> Kai) scored by the same protocol.

    Raises:
        MissingPathError: a font file is missing (the message names the Debian package for the default fonts).
        DataError: a font that draws none of the characters, two fonts with one id, fewer than 2 distinct target
            fonts or fewer than 3 shared characters, bad fractions, or ``root`` holding another set.
    """
    root, drawing, split = Path(root), drawing or Drawing(), split or Split()
    if max_chars is not None and max_chars < 3:
        raise DataError(f"--max-chars {max_chars}: need at least 3 characters")
    text = drawing.text()
    source, described = _describe_fonts(source_font, target_fonts)
    settings = {
        "builder": "fonts", "version": _FORMAT_VERSION, "size": drawing.size, "scale": drawing.scale,
        "val": split.val, "test": split.test, "seed": split.seed, "max_chars": max_chars,
        "min_distance": min_distance, "source": source, "candidates": described, "chars": drawing.chars_record(),
        **({"train_fonts": list(train_fonts)} if train_fonts else {}),
    }
    if already_built(root, MANIFEST, settings, overwrite):
        return root
    source_bitmaps, candidates = _draw_all(source_font, target_fonts, described, text, drawing)
    kept, dropped_fonts, distances = _select(source_bitmaps, candidates, min_distance)
    if len(kept) < 2:
        raise DataError(f"only {len(kept)} target font(s) are at least {min_distance} from the source and each other; "
                        "pass more distinct --target-fonts, or a lower --min-distance")
    unknown = [font for font in train_fonts or () if font not in kept]
    if unknown:
        raise DataError(f"--train-fonts {unknown[0]}: not a kept target font; valid: {', '.join(kept)}")
    trained = list(train_fonts) if train_fonts else kept
    shared = _shared_characters(text, source_bitmaps, [candidates[name] for name in kept], max_chars, split.seed)
    splits = split_characters(shared, split.val, split.test, split.seed)

    def fill(staging: Path) -> None:
        for name, members in splits.items():
            write_glyphs(staging / f"{name}A", source_bitmaps, members)
            for font in kept if name == "test" else trained:
                write_glyphs(staging / f"{name}B" / font, candidates[font], members)
        record = settings | {
            "fonts": [font for font in described if font["id"] in kept],
            "train_fonts": trained,
            "dropped_fonts": dropped_fonts,
            "distances": distances,
            "counts": {name: len(members) for name, members in splits.items()},
            "splits": splits,
        }
        (staging / MANIFEST).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")

    write_atomically(root, fill)
    return root


def _describe_fonts(source_font: str | os.PathLike,
                    target_fonts: Sequence[str | os.PathLike]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The source font's and the target fonts' names, ids and hashes; two fonts with one id are an error."""
    source = _describe(source_font)
    described = [_describe(path) for path in target_fonts]
    ids = [font["id"] for font in described]
    repeated = sorted({i for i in ids if ids.count(i) > 1} | ({source["id"]} & set(ids)))
    if repeated:
        raise DataError(f"two fonts named {repeated[0]!r} (the id is the file's stem); "
                        "pass each font once, or rename one")
    return source, described


def _draw_all(source_font: str | os.PathLike, target_fonts: Sequence[str | os.PathLike], described: list[dict],
              text: str, drawing: Drawing) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """The source font's bitmaps and each target font's (by id); a font that draws none of ``text`` is an error."""
    source_bitmaps, _ = render_glyphs(source_font, text, drawing.size, drawing.scale)
    if not source_bitmaps:
        raise DataError(f"the source font {source_font} draws none of the {len(set(text))} characters; pass another "
                        "--source-font, or characters it has (--chars / --charset)")
    candidates = {}
    for path, font in zip(target_fonts, described):
        bitmaps, _ = render_glyphs(path, text, drawing.size, drawing.scale)
        if not bitmaps:
            raise DataError(f"the target font {path} draws none of the {len(set(text))} characters; leave it out of "
                            "--target-fonts, or pass characters it has (--chars / --charset)")
        candidates[font["id"]] = bitmaps
    return source_bitmaps, candidates


def _shared_characters(text: str, source: dict[str, np.ndarray], targets: list[dict[str, np.ndarray]],
                       max_chars: int | None, seed: int) -> list[str]:
    """The characters of ``text`` every font draws (a seeded subset of ``max_chars`` of them); at least 3."""
    shared = [c for c in dict.fromkeys(text) if c in source and all(c in bitmaps for bitmaps in targets)]
    if max_chars is not None and len(shared) > max_chars:
        chosen = np.random.default_rng([seed, 1]).choice(len(shared), max_chars, replace=False)
        shared = [shared[i] for i in sorted(chosen)]
    if len(shared) < 3:
        raise DataError(f"only {len(shared)} characters are drawn by the source and all {len(targets)} target fonts; "
                        "choose fonts that cover the characters")
    return shared


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``fonts`` builder's command-line options."""
    parser.add_argument("--root", default="data/fonts", help="output folder (default: %(default)s)")
    parser.add_argument("--source-font", default=DEFAULT_SOURCE_FONT, help="font of A, the content (default: Song)")
    parser.add_argument("--target-fonts", nargs="+", default=list(DEFAULT_TARGET_FONTS), metavar="FILE",
                        help="candidate fonts of B, near-copies dropped (default: 11 Debian CJK fonts, `make fonts`)")
    parser.add_argument("--max-chars", type=int, default=None, help="keep at most N characters (a seeded subset)")
    parser.add_argument("--min-distance", type=float, default=0.065,
                        help="drop a target font nearer than this (mean L1 in [0, 1]) to the source or a kept font "
                             "(default: %(default)s)")
    parser.add_argument("--train-fonts", nargs="+", metavar="ID",
                        help="the kept target fonts (ids, e.g. gkai00mp) that B holds in training; the test split "
                             "keeps all of them as style accuracy's candidates (default: all)")
    add_rendering_arguments(parser)


def main(args: argparse.Namespace) -> Path:
    """Run the ``fonts`` builder from parsed arguments and print what it made."""
    root = build_fonts(args.root, args.source_font, args.target_fonts, *drawing_and_split(args), args.max_chars,
                       args.min_distance, args.overwrite, args.train_fonts)
    record = json.loads((root / MANIFEST).read_text())
    counts, fonts = record["counts"], record["fonts"]
    for name, why in record["dropped_fonts"].items():
        print(f"dropped {name}: a near-copy of {why['nearest']} (font distance {why['distance']:.3f} < "
              f"--min-distance {record['min_distance']})")
    trained = record.get("train_fonts", [f["id"] for f in fonts])
    b = f"{len(fonts)} fonts ({', '.join(f['id'] for f in fonts)})"
    if len(trained) < len(fonts):
        b += f", {', '.join(trained)} alone in train and val"
    print(f"ready: {root}: {counts['train']} train, {counts['val']} val, {counts['test']} test characters; A: "
          f"{record['source']['name']}; B: {b}; layout 'unpaired'")
    return root
