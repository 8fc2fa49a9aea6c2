"""The glyph-pair builder: character sets, missing-glyph filtering, the seeded split, the layout, re-runs."""

import json
from pathlib import Path

import numpy as np
import pytest

from pono_gan.data.builders import main as builders_main
from pono_gan.data.datasets import make_dataset
from pono_gan.data.glyphs import (
    DEFAULT_SOURCE_FONT,
    DEFAULT_TARGET_FONT,
    Drawing,
    Split,
    build_glyphs,
    charset,
    render_glyphs,
)
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError, MissingPathError
from tests.requirements import requires

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SANS, SERIF = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSerif.ttf"
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
needs_dejavu = requires(SERIF.is_file() and SANS.is_file(), "the DejaVu fonts are not installed", "make fonts")
needs_arphic = requires(
    Path(DEFAULT_SOURCE_FONT).is_file() and Path(DEFAULT_TARGET_FONT).is_file(),
    "the Arphic fonts are not installed", "make fonts"
)


def test_gb2312_character_sets():
    level1, level2 = charset("gb2312-1"), charset("gb2312-2")
    assert len(level1) == 3755 and len(level2) == 3008 and charset("gb2312") == level1 + level2
    assert level1[0] == "啊" and level1[-1] == "座"  # the first and last level-1 hanzi (sorted by pinyin)
    with pytest.raises(DataError, match="gb2312-1"):
        charset("big5")


@needs_dejavu
def test_characters_a_font_lacks_are_dropped():
    kept, dropped = render_glyphs(SANS, "AB一二 ", size=32)
    assert set(kept) == {"A", "B"}
    assert dropped == {"一": "notdef", "二": "notdef", " ": "empty"}
    assert kept["A"].shape == (32, 32) and kept["A"].dtype == np.uint8
    ink_rows, ink_cols = np.nonzero(kept["A"] < 128)
    centre = (ink_rows.min() + ink_rows.max()) / 2, (ink_cols.min() + ink_cols.max()) / 2
    assert abs(centre[0] - 15.5) <= 1 and abs(centre[1] - 15.5) <= 1  # centred on its ink box


@needs_dejavu
def test_build_a_seeded_paired_set(tmp_path, caplog):
    root = build_glyphs(tmp_path / "latin", SANS, SERIF, drawing=Drawing(chars=LATIN + "一", size=32),
                        split=Split(val=0.1, test=0.2, seed=3))
    record = json.loads((root / "glyphs.json").read_text())
    assert record["counts"] == {"train": 44, "val": 6, "test": 12}
    assert record["dropped"]["source"] == {"一": "notdef"}
    splits = record["splits"]
    assert sorted("".join(splits.values())) == sorted(LATIN)  # disjoint and complete
    for split, chars in splits.items():
        names = sorted(f"u{ord(c):04x}.png" for c in chars)
        assert sorted(p.name for p in (root / f"{split}A").iterdir()) == names
        assert sorted(p.name for p in (root / f"{split}B").iterdir()) == names
    assert "source font lacks 1 characters" in caplog.text

    dataset = make_dataset(root, "paired", "test", preprocessing=Preprocessing("none"), channels=(1, 1), train=False)
    sample = dataset[0]
    assert sample["A"].shape == sample["B"].shape == (1, 32, 32)
    assert not sample["A"].equal(sample["B"])  # two different fonts

    again = build_glyphs(tmp_path / "again", SANS, SERIF, drawing=Drawing(chars=LATIN + "一", size=32),
                         split=Split(val=0.1, test=0.2, seed=3))
    assert json.loads((again / "glyphs.json").read_text())["splits"] == splits
    other = build_glyphs(tmp_path / "other", SANS, SERIF, drawing=Drawing(chars=LATIN, size=32),
                         split=Split(val=0.1, test=0.2, seed=4))
    assert json.loads((other / "glyphs.json").read_text())["splits"] != splits


@needs_dejavu
def test_rerun_is_a_no_op_and_another_build_needs_overwrite(tmp_path):
    root = build_glyphs(tmp_path / "set", SANS, SERIF, drawing=Drawing(chars=LATIN, size=16))
    stamp = (root / "glyphs.json").stat().st_mtime_ns
    build_glyphs(root, SANS, SERIF, drawing=Drawing(chars=LATIN, size=16))
    assert (root / "glyphs.json").stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="--overwrite"):
        build_glyphs(root, SANS, SERIF, drawing=Drawing(chars=LATIN, size=24))
    build_glyphs(root, SANS, SERIF, overwrite=True, drawing=Drawing(chars=LATIN, size=24))
    assert json.loads((root / "glyphs.json").read_text())["size"] == 24
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_missing_font_names_the_fix(tmp_path):
    with pytest.raises(MissingPathError, match="apt-get install fonts-arphic-gbsn00lp"):
        build_glyphs(tmp_path / "x", source_font=tmp_path / "gbsn00lp.ttf")
    with pytest.raises(MissingPathError, match="font not found: .*other.ttf; check the path"):
        build_glyphs(tmp_path / "x", source_font=tmp_path / "other.ttf")
    assert not (tmp_path / "x").exists()


@needs_dejavu
def test_fonts_without_common_characters(tmp_path):
    with pytest.raises(DataError, match="drawn by both"):
        build_glyphs(tmp_path / "x", SANS, SERIF, drawing=Drawing(chars="一二三"))


@needs_arphic
def test_song_to_kai_from_the_debian_fonts(tmp_path, capsys):
    root = builders_main(["glyphs", "--root", str(tmp_path / "song2kai"), "--size", "32"])
    record = json.loads((root / "glyphs.json").read_text())
    assert sum(record["counts"].values()) == 3755  # both fonts draw every GB2312 level-1 hanzi
    assert record["counts"] == {"train": 3191, "val": 188, "test": 376}
    assert "ready:" in capsys.readouterr().out


def test_the_builder_cli_exits_2_on_a_missing_font(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        builders_main(["glyphs", "--root", str(tmp_path / "g"), "--source-font", str(tmp_path / "nope.ttf")])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.ttf" in err[0] and not (tmp_path / "g").exists()
