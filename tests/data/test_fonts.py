"""The font benchmark's builder: near-copies dropped, the characters every font draws, the split by character, the
layout and manifest, re-runs, and the one-line errors."""

import json
import shutil
from pathlib import Path

import pytest

from pono_gan.data.builders import main as builders_main
from pono_gan.data.fonts import MANIFEST, build_fonts, font_distance
from pono_gan.data.glyphs import DEFAULT_SOURCE_FONT, Drawing, Split, render_glyphs
from pono_gan.errors import DataError
from tests.requirements import requires

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SANS, SERIF, MONO, BOLD = (DEJAVU / f"DejaVu{name}.ttf" for name in ("Sans", "Serif", "SansMono", "Sans-Bold"))
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
needs_dejavu = requires(all(p.is_file() for p in (SANS, SERIF, MONO, BOLD)), "the DejaVu fonts are not installed",
                        "make test-fonts")


def latin_benchmark(root: Path, twin: Path, **overrides) -> Path:
    """Sans against Serif, Mono, Bold and a byte copy of Sans (a near-copy), 32 px, 30% of the characters in test."""
    shutil.copy(SANS, twin)
    arguments = dict(drawing=Drawing(chars=LATIN + "一", size=32), split=Split(val=0.1, test=0.3, seed=3),
                     min_distance=0.03)
    return build_fonts(root, SANS, [SERIF, MONO, BOLD, twin], **{**arguments, **overrides})


@needs_dejavu
def test_a_benchmark_of_three_fonts_and_a_near_copy(tmp_path):
    root = latin_benchmark(tmp_path / "latin", tmp_path / "twin.ttf")
    record = json.loads((root / MANIFEST).read_text())
    assert [font["id"] for font in record["fonts"]] == ["dejavuserif", "dejavusansmono", "dejavusans-bold"]
    assert record["dropped_fonts"] == {"twin": {"nearest": "source", "distance": 0.0}}  # a byte copy of the source
    assert record["source"]["name"] == "DejaVu Sans Book" and len(record["source"]["sha256"]) == 64
    assert record["distances"]["source"]["dejavuserif"] == record["distances"]["dejavuserif"]["source"] > 0.03
    splits = record["splits"]
    assert record["counts"] == {"train": 37, "val": 6, "test": 19}
    assert sorted("".join(splits.values())) == sorted(LATIN)  # "一" is drawn by none: left out; splits disjoint
    for split, chars in splits.items():
        names = sorted(f"u{ord(c):04x}.png" for c in chars)
        assert sorted(p.name for p in (root / f"{split}A").iterdir()) == names
        assert (sorted(p.name for p in (root / f"{split}B").iterdir())
                == ["dejavusans-bold", "dejavusansmono", "dejavuserif"])
        for font in record["fonts"]:
            assert sorted(p.name for p in (root / f"{split}B" / font["id"]).iterdir()) == names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


@needs_dejavu
def test_rerun_is_a_no_op_another_build_needs_overwrite_and_max_chars_subsets(tmp_path):
    root = latin_benchmark(tmp_path / "set", tmp_path / "twin.ttf")
    stamp = (root / MANIFEST).stat().st_mtime_ns
    latin_benchmark(root, tmp_path / "twin.ttf")
    assert (root / MANIFEST).stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="--overwrite"):
        latin_benchmark(root, tmp_path / "twin.ttf", max_chars=20)
    latin_benchmark(root, tmp_path / "twin.ttf", max_chars=20, overwrite=True)
    record = json.loads((root / MANIFEST).read_text())
    assert sum(record["counts"].values()) == 20 and set("".join(record["splits"].values())) < set(LATIN)


@needs_dejavu
def test_font_distance_is_the_mean_l1_over_shared_characters():
    sans, _ = render_glyphs(SANS, "AB", 16)
    serif, _ = render_glyphs(SERIF, "BC", 16)
    assert font_distance(sans, sans) == 0
    only_b = abs(sans["B"].astype(float) - serif["B"].astype(float)).mean() / 255
    assert font_distance(sans, serif) == pytest.approx(only_b)


@needs_dejavu
def test_one_line_errors_exit_2(tmp_path, capsys):
    def error(*args):
        with pytest.raises(SystemExit) as stop:
            builders_main(["fonts", "--root", str(tmp_path / "out"), *map(str, args)])
        assert stop.value.code == 2
        message = capsys.readouterr().err.strip()
        assert "\n" not in message and "Traceback" not in message
        return message

    missing = error("--source-font", SANS, "--target-fonts", SERIF, tmp_path / "nope.ttf", "--chars", "AB")
    assert f"font not found: {tmp_path / 'nope.ttf'}" in missing
    assert "apt-get install fonts-cwtex-kai" in error("--source-font", SANS, "--target-fonts", SERIF,
                                                      "/nowhere/cwkai.ttf", "--chars", "AB")
    assert "only 0 target font(s) are at least 0.05 from the source" in error(
        "--source-font", SANS, "--target-fonts", SERIF, MONO, "--chars", LATIN, "--min-distance", "0.05")
    assert "two fonts named 'dejavuserif'" in error("--source-font", SANS, "--target-fonts", SERIF, SERIF,
                                                    "--chars", "AB")
    assert not (tmp_path / "out").exists()


@requires(Path(DEFAULT_SOURCE_FONT).is_file() and SANS.is_file(), "the Arphic Song font is not installed",
          "make test-fonts")
def test_a_font_that_draws_none_of_the_characters_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        builders_main(["fonts", "--root", str(tmp_path / "out"), "--target-fonts", str(SANS), str(SERIF),
                       "--chars", "一二三"])
    assert stop.value.code == 2
    assert f"the target font {SANS} draws none of the 3 characters" in capsys.readouterr().err
