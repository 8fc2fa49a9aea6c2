"""Glyph pairs from two fonts: the "zi2zi" font style transfer task (A = a character in one font, B = in another).

The default is Song -> Kai over the 3,755 GB2312 level-1 hanzi with two free Debian fonts (Arphic Public
License): ``fonts-arphic-gbsn00lp`` (AR PL SungtiL GB) and ``fonts-arphic-gkai00mp`` (AR PL KaitiM GB), which
``make fonts`` installs (``apt-get install fonts-arphic-gbsn00lp fonts-arphic-gkai00mp``). Any two TrueType /
OpenType fonts and any characters work.

Each glyph is drawn black on white in a ``size`` x ``size`` grayscale image at a font size of ``scale * size``,
centred on its ink box, so relative sizes inside one font are kept. A character is dropped when either font
lacks it: its bitmap is empty, equals the font's drawing of a character no font has (the ``.notdef`` box), or is
shared by several characters (a placeholder). The kept characters are split into train / val / test by a seeded
permutation, so the same arguments always give the same split, and written as ``ROOT/{train,val,test}{A,B}/uXXXX.png``
(layout ``paired``; XXXX is the code point in hex) with ``ROOT/glyphs.json`` holding the arguments, the fonts'
checksums, the counts and the dropped characters. The set is built in a temporary folder and renamed into place,
so a killed build leaves nothing half-written.

Command line::

    python -m pono_gan.data.builders glyphs --root data/song2kai --size 64
    python -m pono_gan.data.builders glyphs --root data/latin --source-font DejaVuSans.ttf \\
        --target-font DejaVuSerif.ttf --chars "ABCDEFGHIJKLMNOPQRSTUVWXYZ" --val 0 --test 0.2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pono_gan.errors import DataError, MissingPathError

__all__ = [
    "CHARSETS",
    "DEBIAN_PACKAGES",
    "Drawing",
    "Split",
    "DEFAULT_SOURCE_FONT",
    "DEFAULT_TARGET_FONT",
    "add_arguments",
    "add_rendering_arguments",
    "already_built",
    "build_glyphs",
    "charset",
    "drawing_and_split",
    "file_sha256",
    "glyph_name",
    "main",
    "open_font",
    "render_glyphs",
    "split_characters",
    "write_atomically",
    "write_glyphs",
]

log = logging.getLogger(__name__)

DEFAULT_SOURCE_FONT = "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"
DEFAULT_TARGET_FONT = "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf"
#: the Debian package of each font file this project names by default (``make fonts`` installs them)
DEBIAN_PACKAGES = {
    "gbsn00lp.ttf": "fonts-arphic-gbsn00lp", "gkai00mp.ttf": "fonts-arphic-gkai00mp",
    "bkai00mp.ttf": "fonts-arphic-bkai00mp", "uming.ttc": "fonts-arphic-uming", "cwming.ttf": "fonts-cwtex-ming",
    "cwheib.ttf": "fonts-cwtex-heib", "cwyen.ttf": "fonts-cwtex-yen", "cwfs.ttf": "fonts-cwtex-fs",
    "cwkai.ttf": "fonts-cwtex-kai", "wqy-zenhei.ttc": "fonts-wqy-zenhei", "LXGWWenKai-Regular.ttf": "fonts-lxgw-wenkai",
    "BabelStoneHan.ttf": "fonts-babelstone-han",
}

#: GB2312 rows (first byte) of each named character set: level 1 (3,755 common hanzi, by pinyin) and level 2.
CHARSETS = {"gb2312-1": range(0xB0, 0xD8), "gb2312-2": range(0xD8, 0xF8), "gb2312": range(0xB0, 0xF8)}
_FORMAT_VERSION = 1
_MISSING = "\U0010fffd"  # a private-use code point: every font draws its .notdef for it


def charset(name: str) -> str:
    """The characters of a named set (``gb2312-1``: 3,755; ``gb2312-2``: 3,008; ``gb2312``: 6,763) in code order."""
    if name not in CHARSETS:
        raise DataError(f"unknown character set {name!r}; valid: {', '.join(CHARSETS)} "
                        "(or pass the characters with --chars)")
    chars = []
    for high in CHARSETS[name]:
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:  # the unassigned cells at the end of row 55
                continue
    return "".join(chars)


def open_font(path: str | os.PathLike, pixels: int) -> ImageFont.FreeTypeFont:
    """A font file at ``pixels`` size; a missing or unreadable file is a one-line error naming the fix."""
    path = Path(path)
    if not path.is_file():
        package = DEBIAN_PACKAGES.get(path.name)
        fix = f"install it with `apt-get install {package}` (or `make fonts`)" if package else "check the path"
        raise MissingPathError(f"font not found: {path}; {fix}, or pass another font file")
    try:
        return ImageFont.truetype(str(path), pixels)
    except OSError as error:
        raise DataError(f"{path}: not a font FreeType can read ({error}); pass a .ttf / .otf / .ttc file") from None


def _draw(font: ImageFont.FreeTypeFont, char: str, size: int) -> np.ndarray:
    """One glyph, black on white, centred on its ink box in a (size, size) uint8 image."""
    image = Image.new("L", (size, size), 255)
    left, top, right, bottom = font.getbbox(char)
    position = ((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top)
    ImageDraw.Draw(image).text(position, char, font=font, fill=0)
    return np.asarray(image)


def render_glyphs(
    font_path: str | os.PathLike, chars: str, size: int = 64, scale: float = 0.8
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Draw ``chars`` in one font; returns (kept bitmaps by character, reason by dropped character).

    A character is dropped when its bitmap is empty, equals the font's ``.notdef`` drawing, or is shared with
    another character (fonts that lack a glyph often draw the same box or blank for all of them).
    """
    font = open_font(font_path, max(1, round(scale * size)))
    notdef = _draw(font, _MISSING, size).tobytes()
    bitmaps = {char: _draw(font, char, size) for char in dict.fromkeys(chars)}
    counts = Counter(bitmap.tobytes() for bitmap in bitmaps.values())
    kept, dropped = {}, {}
    for char, bitmap in bitmaps.items():
        key = bitmap.tobytes()
        if bitmap.min() > 127:
            dropped[char] = "empty"
        elif key == notdef:
            dropped[char] = "notdef"
        elif counts[key] > 1:
            dropped[char] = "repeated"
        else:
            kept[char] = bitmap
    return kept, dropped


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _split_sizes(count: int, val: float, test: float) -> tuple[int, int, int]:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise DataError(f"need 0 <= val, test and val + test < 1, got val={val}, test={test}")
    num_val, num_test = round(count * val), round(count * test)
    return count - num_val - num_test, num_val, num_test


def already_built(root: Path, manifest: str, settings: dict, overwrite: bool) -> bool:
    """Whether ``root`` already holds the set these ``settings`` describe (its ``manifest`` says so).

    Raises:
        DataError: ``root`` holds other files and ``overwrite`` is False.
    """
    path = root / manifest
    if path.is_file():
        previous = json.loads(path.read_text())
        if {key: previous.get(key) for key in settings} == settings:
            log.info("%s already holds this set; nothing to do", root)
            return True
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise DataError(f"{root} already holds other files; pass --overwrite to replace them, or choose another --root")
    return False


@dataclass(frozen=True)
class Drawing:
    """What a glyph builder draws: ``chars`` (None: the named ``charset_name``, ``gb2312-1``, ``gb2312-2`` or
    ``gb2312``) on ``size`` x ``size`` images, the font at ``scale`` of the side."""

    chars: str | None = None
    charset_name: str = "gb2312-1"
    size: int = 64
    scale: float = 0.8

    def __post_init__(self) -> None:
        if self.size < 8 or self.scale <= 0:
            raise DataError(f"need size >= 8 and scale > 0, got size={self.size}, scale={self.scale}")

    def text(self) -> str:
        """The characters to draw."""
        return charset(self.charset_name) if self.chars is None else self.chars

    def chars_record(self) -> str:
        """What a set's manifest records of the characters: the charset's name, or the SHA-256 of ``chars``."""
        return self.charset_name if self.chars is None else hashlib.sha256(self.chars.encode()).hexdigest()


@dataclass(frozen=True)
class Split:
    """A seeded split into train / val / test: the fractions for validation and test, the rest trains."""

    val: float = 0.05
    test: float = 0.1
    seed: int = 0


def split_characters(chars: Sequence[str], val: float, test: float, seed: int) -> dict[str, str]:
    """``{"train", "val", "test"}`` -> their characters (each in code order), by a permutation seeded with ``seed``."""
    order = np.random.default_rng(seed).permutation(len(chars))
    num_train, num_val, _ = _split_sizes(len(chars), val, test)
    bounds = {"train": (0, num_train), "val": (num_train, num_train + num_val),
              "test": (num_train + num_val, len(chars))}
    return {split: "".join(sorted((chars[i] for i in order[start:stop]), key=ord))
            for split, (start, stop) in bounds.items()}


def glyph_name(char: str) -> str:
    """The file name of a character's glyph: ``uXXXX.png`` (its code point in hex)."""
    return f"u{ord(char):04x}.png"


def write_glyphs(folder: Path, bitmaps: dict[str, np.ndarray], chars: str) -> None:
    """Write the bitmaps of ``chars`` into ``folder`` (created) as ``uXXXX.png``."""
    folder.mkdir(parents=True)
    for char in chars:
        Image.fromarray(bitmaps[char], "L").save(folder / glyph_name(char), compress_level=1)


def write_atomically(root: Path, fill: Callable[[Path], None]) -> None:
    """Let ``fill`` write a whole set into a staging folder beside ``root``, then rename it into place (replacing
    ``root``): a killed build leaves nothing half-written."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        fill(staging)
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_glyphs(
    root: str | os.PathLike,
    source_font: str | os.PathLike = DEFAULT_SOURCE_FONT,
    target_font: str | os.PathLike = DEFAULT_TARGET_FONT,
    drawing: Drawing | None = None,
    split: Split | None = None,
    overwrite: bool = False,
) -> Path:
    """Build the glyph pairs under ``root`` (layout ``paired``); returns ``root``.

    Args:
        root: the folder to create.
        source_font: the font of A (the input).
        target_font: the font of B (the target).
        drawing: the characters and the image size (None: :class:`Drawing`'s defaults).
        split: the fractions of kept characters for validation and test, and the seed of the split.
        overwrite: replace a different set already in ``root``.

    Raises:
        MissingPathError: a font file is missing (the message names the Debian package for the default fonts).
        DataError: bad fractions, fewer than 2 characters both fonts have, or ``root`` holds another set.
    """
    root, drawing, split = Path(root), drawing or Drawing(), split or Split()
    text = drawing.text()
    settings = {
        "builder": "glyphs", "version": _FORMAT_VERSION, "size": drawing.size, "scale": drawing.scale,
        "val": split.val, "test": split.test, "seed": split.seed, "source_font": Path(source_font).name,
        "target_font": Path(target_font).name, "source_sha256": file_sha256(open_font(source_font, 1).path),
        "target_sha256": file_sha256(open_font(target_font, 1).path), "chars": drawing.chars_record(),
    }
    if already_built(root, "glyphs.json", settings, overwrite):
        return root
    sources, dropped_source = render_glyphs(source_font, text, drawing.size, drawing.scale)
    targets, dropped_target = render_glyphs(target_font, text, drawing.size, drawing.scale)
    kept = [char for char in dict.fromkeys(text) if char in sources and char in targets]
    if len(kept) < 2:
        raise DataError(
            f"only {len(kept)} of {len(set(text))} characters are drawn by both {Path(source_font).name} and "
            f"{Path(target_font).name}; choose fonts that cover the characters"
        )
    splits = split_characters(kept, split.val, split.test, split.seed)

    def fill(staging: Path) -> None:
        for name, members in splits.items():
            for side, bitmaps in (("A", sources), ("B", targets)):
                write_glyphs(staging / f"{name}{side}", bitmaps, members)
        dropped = {"source": dropped_source, "target": dropped_target}
        record = settings | {"counts": {name: len(members) for name, members in splits.items()},
                             "splits": splits, "dropped": dropped}
        (staging / "glyphs.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")

    write_atomically(root, fill)
    for side, reasons in (("source", dropped_source), ("target", dropped_target)):
        if reasons:
            log.warning("%s font lacks %d characters (%s); they were left out",
                        side, len(reasons), ", ".join(f"{n} {r}" for r, n in Counter(reasons.values()).items()))
    return root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``glyphs`` builder's command-line options."""
    parser.add_argument("--root", default="data/song2kai", help="output folder (default: %(default)s)")
    parser.add_argument("--source-font", default=DEFAULT_SOURCE_FONT, help="font of A, the input (default: Song)")
    parser.add_argument("--target-font", default=DEFAULT_TARGET_FONT, help="font of B, the target (default: Kai)")
    add_rendering_arguments(parser)


def add_rendering_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every glyph builder shares: the characters, the drawing, the split, ``--overwrite``."""
    parser.add_argument("--charset", default="gb2312-1", choices=list(CHARSETS),
                        help="characters (default: %(default)s)")
    parser.add_argument("--chars", default=None, help="draw these characters instead of --charset")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default: %(default)s)")
    parser.add_argument("--scale", type=float, default=0.8, help="font size / image side (default: %(default)s)")
    parser.add_argument("--val", type=float, default=0.05, help="validation fraction (default: %(default)s)")
    parser.add_argument("--test", type=float, default=0.1, help="test fraction (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace another set in --root")


def drawing_and_split(args: argparse.Namespace) -> tuple[Drawing, Split]:
    """The :class:`Drawing` and :class:`Split` of :func:`add_rendering_arguments`' options."""
    return Drawing(args.chars, args.charset, args.size, args.scale), Split(args.val, args.test, args.seed)


def main(args: argparse.Namespace) -> Path:
    """Run the ``glyphs`` builder from parsed arguments and print what it made."""
    root = build_glyphs(args.root, args.source_font, args.target_font, *drawing_and_split(args), args.overwrite)
    counts = json.loads((root / "glyphs.json").read_text())["counts"]
    print(f"ready: {root}: {counts['train']} train, {counts['val']} val, {counts['test']} test pairs "
          "(trainA/ trainB/ ...), layout 'paired', 1 channel")
    return root
