"""combine / split / split-sets: layouts the data sets read, pixel-exact round trips, seeded splits, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pono_gan.data import tools
from pono_gan.data.datasets import make_dataset
from pono_gan.data.glyphs import Split
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError
from tests.data import make_aligned, make_paired, random_rgb, write

EVAL = Preprocessing(preprocess="none")


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def pairs(tmp_path) -> Path:
    """ROOT/allA + ROOT/allB: 10 matching pairs of 12x10 PNGs (B = 255 - A), one of them in a subfolder."""
    root = tmp_path / "pairs"
    make_paired(root, "all", count=9, size=(12, 10))
    a = random_rgb(12, 10, seed=42)
    write(root / "allA" / "sub" / "deep.png", a)
    write(root / "allB" / "sub" / "deep.png", 255 - a)
    return root


# ------------------------------------------------------------------------------------------- combine and split


def test_combine_then_split_round_trips_pixel_exact(tmp_path, pairs):
    out = tmp_path / "aligned"
    written = tools.combine(pairs / "allA", pairs / "allB", out)
    assert _files(out) == _files(pairs / "allA")
    assert len(written) == 10
    combined = _pixels(out / "sub" / "deep.png")
    assert combined.shape == (12, 20, 3)
    np.testing.assert_array_equal(combined[:, :10], _pixels(pairs / "allA" / "sub" / "deep.png"))
    np.testing.assert_array_equal(combined[:, 10:], _pixels(pairs / "allB" / "sub" / "deep.png"))

    tools.split(out, tmp_path / "A", tmp_path / "B")
    for side in ("A", "B"):
        assert _files(tmp_path / side) == _files(pairs / f"all{side}")
        for name in _files(tmp_path / side):
            np.testing.assert_array_equal(_pixels(tmp_path / side / name), _pixels(pairs / f"all{side}" / name))


def test_combine_matches_names_across_extensions_and_writes_the_asked_one(tmp_path):
    a, b = random_rgb(8, 6, seed=1), random_rgb(8, 6, seed=2)
    write(tmp_path / "A" / "x.png", a)
    write(tmp_path / "B" / "x.bmp", b)
    [output] = tools.combine(tmp_path / "A", tmp_path / "B", tmp_path / "out", ext="tif")
    assert output == tmp_path / "out" / "x.tif"
    np.testing.assert_array_equal(_pixels(output), np.concatenate([a, b], axis=1))


def test_combine_reports_unmatched_names_in_one_line_and_writes_nothing(tmp_path, pairs):
    (pairs / "allB" / "p3.png").unlink()
    write(pairs / "allB" / "stray.png", random_rgb(12, 10))
    with pytest.raises(DataError) as caught:
        tools.combine(pairs / "allA", pairs / "allB", tmp_path / "out")
    message = str(caught.value)
    assert "\n" not in message
    assert f"1 files in {pairs / 'allA'} without a partner in {pairs / 'allB'} (p3.png)" in message
    assert "1 in" in message and "(stray.png)" in message
    assert "--skip-unmatched to combine the 9 matched pairs" in message
    assert not (tmp_path / "out").exists()
    written = tools.combine(pairs / "allA", pairs / "allB", tmp_path / "out", skip_unmatched=True)
    assert len(written) == 9 and not (tmp_path / "out" / "p3.png").exists()


def test_combine_refuses_pairs_of_different_sizes_unless_resize(tmp_path):
    write(tmp_path / "A" / "x.png", random_rgb(8, 6))
    write(tmp_path / "B" / "x.png", random_rgb(16, 12))
    with pytest.raises(DataError, match=r"x.png is 12x16 but .*x.png is 6x8; pass --resize"):
        tools.combine(tmp_path / "A", tmp_path / "B", tmp_path / "out")
    [output] = tools.combine(tmp_path / "A", tmp_path / "B", tmp_path / "out", resize_b=True)
    assert _pixels(output).shape == (8, 12, 3)


def test_outputs_must_be_empty_and_outside_the_inputs(tmp_path, pairs):
    with pytest.raises(DataError, match="overlaps input"):
        tools.combine(pairs / "allA", pairs / "allB", pairs / "allA" / "out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"out is not empty; pass --overwrite"):
        tools.combine(pairs / "allA", pairs / "allB", tmp_path / "out")
    assert len(tools.combine(pairs / "allA", pairs / "allB", tmp_path / "out", overwrite=True)) == 10


def test_split_refuses_odd_widths(tmp_path):
    write(tmp_path / "in" / "even.png", random_rgb(4, 8))
    write(tmp_path / "in" / "odd.png", random_rgb(4, 9))
    with pytest.raises(DataError, match=r"1 of 2 images .* odd width \(first: .*odd.png, 9 px\); .*crop them"):
        tools.split(tmp_path / "in", tmp_path / "A", tmp_path / "B")
    assert not (tmp_path / "A").exists() and not (tmp_path / "B").exists()


def test_split_output_makes_a_paired_dataset(tmp_path):
    make_aligned(tmp_path / "aligned", "train", count=3, size=(8, 8))
    tools.split(tmp_path / "aligned" / "train", tmp_path / "root" / "trainA", tmp_path / "root" / "trainB")
    dataset = make_dataset(tmp_path / "root", "paired", "train", preprocessing=EVAL, train=False)
    sample = dataset[0]
    np.testing.assert_allclose(sample["B"].numpy(), -sample["A"].numpy(), atol=1e-6)  # B = 255 - A


# ----------------------------------------------------------------------------------------------------- split-sets


def _assignment(root: Path, layout: str) -> dict[str, set[str]]:
    """split -> names in it (A's folder for the two-folder layouts)."""
    tag = "" if layout == "aligned" else "A"
    return {split: set(_files(root / f"{split}{tag}")) if (root / f"{split}{tag}").is_dir() else set()
            for split in tools.SPLITS}


def test_split_sets_is_deterministic_disjoint_and_complete(tmp_path, pairs):
    tools.combine(pairs / "allA", pairs / "allB", tmp_path / "all")
    names = set(_files(tmp_path / "all"))
    counts = tools.split_sets(tmp_path / "one", folder=tmp_path / "all", split=Split(val=0.2, test=0.1, seed=3))
    assert counts == {"train": 7, "val": 2, "test": 1}
    first = _assignment(tmp_path / "one", "aligned")
    assert set().union(*first.values()) == names
    assert sum(len(part) for part in first.values()) == len(names)
    tools.split_sets(tmp_path / "two", folder=tmp_path / "all", split=Split(val=0.2, test=0.1, seed=3))
    assert _assignment(tmp_path / "two", "aligned") == first
    others = []
    for seed in range(4, 9):
        tools.split_sets(tmp_path / f"seed{seed}", folder=tmp_path / "all", split=Split(val=0.2, test=0.1, seed=seed))
        others.append(_assignment(tmp_path / f"seed{seed}", "aligned"))
    assert any(other != first for other in others)
    for split in ("train", "val", "test"):
        dataset = make_dataset(tmp_path / "one", "aligned", split, preprocessing=EVAL, train=False)
        assert len(dataset) == counts[split]
    assert not list((tmp_path / "one").glob(".split-sets-*"))


def test_split_sets_paired_keeps_pairs_together_and_loads(tmp_path, pairs):
    counts = tools.split_sets(tmp_path / "root", folder_a=pairs / "allA", folder_b=pairs / "allB", link=True,
                              split=Split(val=0.1, test=0.2, seed=0))
    assert counts == {"train": 7, "val": 1, "test": 2}
    root = tmp_path / "root"
    for split in tools.SPLITS:
        assert _files(root / f"{split}A") == _files(root / f"{split}B")
        dataset = make_dataset(root, "paired", split, preprocessing=EVAL, train=False)
        assert len(dataset) == counts[split]
        np.testing.assert_allclose(dataset[0]["B"].numpy(), -dataset[0]["A"].numpy(), atol=1e-6)
    assert "sub/deep.png" in set().union(*(_files(root / f"{split}A") for split in tools.SPLITS))
    linked = next((root / "trainA").rglob("*.png"))
    assert linked.stat().st_nlink == 2  # hard-linked, not copied


def test_split_sets_single_twice_makes_an_unpaired_set(tmp_path, pairs):
    (pairs / "allB" / "p0.png").unlink()  # the domains need not match
    tools.split_sets(tmp_path / "root", folder=pairs / "allA", layout="single", split=Split(val=0, test=0.2))
    tools.split_sets(tmp_path / "root", folder=pairs / "allB", layout="single", side="B",
                     split=Split(val=0, test=0.2, seed=1))
    root = tmp_path / "root"
    assert sorted(p.name for p in root.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert len(_files(root / "trainA")) == 8 and len(_files(root / "trainB")) == 7
    assert len(make_dataset(root, "unpaired", "train", preprocessing=EVAL, train=False)) == 8
    assert len(make_dataset(root, "unpaired", "test", preprocessing=EVAL, train=False)) == 2


def test_split_sets_unpaired_splits_each_domain(tmp_path, pairs):
    counts = tools.split_sets(tmp_path / "root", folder_a=pairs / "allA", folder_b=pairs / "allB",
                              layout="unpaired", split=Split(val=0.0, test=0.3))
    assert counts == {"train": 14, "val": 0, "test": 6}
    assert len(make_dataset(tmp_path / "root", "unpaired", "test", preprocessing=EVAL, train=False)) == 3


def test_split_sets_refuses_a_non_empty_target_unless_overwrite(tmp_path, pairs):
    root = tmp_path / "root"
    tools.split_sets(root, folder_a=pairs / "allA", folder_b=pairs / "allB", split=Split(val=0.2, test=0.2, seed=0))
    before = _assignment(root, "paired")
    with pytest.raises(DataError, match=r"trainA is not empty; pass --overwrite"):
        tools.split_sets(root, folder_a=pairs / "allA", folder_b=pairs / "allB", split=Split(val=0.0, test=0.5, seed=1))
    assert _assignment(root, "paired") == before
    tools.split_sets(root, folder_a=pairs / "allA", folder_b=pairs / "allB", overwrite=True,
                     split=Split(val=0.0, test=0.5, seed=1))
    assert not (root / "valA").exists() and len(_files(root / "testA")) == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": Split(val=0.5, test=0.5)}, "leave no training files"),
        ({"split": Split(val=1.0)}, r"fractions in \[0, 1\)"),
        ({"layout": "paired"}, "layout 'paired' takes --a and --b"),
        ({"layout": "nope"}, "unknown layout 'nope'"),
    ],
)
def test_split_sets_argument_errors(tmp_path, pairs, kwargs, match):
    with pytest.raises(DataError, match=match):
        tools.split_sets(tmp_path / "root", folder=pairs / "allA", **kwargs)
    assert not (tmp_path / "root" / "trainA").exists()


def test_split_sets_refuses_unmatched_pairs(tmp_path, pairs):
    (pairs / "allB" / "p1.png").unlink()
    with pytest.raises(DataError, match=r"unpaired files: 1 in .*allA without a partner"):
        tools.split_sets(tmp_path / "root", folder_a=pairs / "allA", folder_b=pairs / "allB")


# ----------------------------------------------------------------------------------------------------------- CLI


def test_cli_prints_the_data_config_and_exits_2_on_errors(tmp_path, pairs, capsys):
    tools.main(["combine", "--a", str(pairs / "allA"), "--b", str(pairs / "allB"), "--out", str(tmp_path / "all"),
                "--quiet"])
    assert capsys.readouterr().out.startswith(f"combined 10 pairs into {tmp_path / 'all'}")
    tools.main(["split-sets", "--input", str(tmp_path / "all"), "--out", str(tmp_path / "root"), "--seed", "1",
                "--quiet"])
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'root'}: train 8, val 1, test 1 (layout 'aligned')")
    assert f"data:\n  root: {(tmp_path / 'root').as_posix()}\n  layout: aligned\n" in out
    with pytest.raises(SystemExit) as caught:
        tools.main(["split", "--input", str(tmp_path / "missing"), "--out-a", str(tmp_path / "A"), "--out-b",
                    str(tmp_path / "B"), "--quiet"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tools: error: folder not found:") and len(err.strip().splitlines()) == 1


def _names(folder: Path) -> set[str]:
    return {p.stem for p in folder.iterdir()}


def test_unpair_splits_training_pairs_into_disjoint_domains_and_keeps_test_pairs(tmp_path):
    make_paired(tmp_path / "paired", "train", count=9, size=(8, 8))
    make_paired(tmp_path / "paired", "test", count=3, size=(8, 8))
    counts = tools.unpair(tmp_path / "paired", tmp_path / "unpaired", seed=1)
    assert counts == {"trainA": 5, "trainB": 4, "val": 0, "test": 3}
    a, b = _names(tmp_path / "unpaired" / "trainA"), _names(tmp_path / "unpaired" / "trainB")
    assert len(a) == 5 and len(b) == 4 and not a & b  # no training image has its partner in the other domain
    assert a | b == _names(tmp_path / "paired" / "trainA")  # every training pair gives one side
    for name in a:  # A files are the paired set's A side, B files its B side
        assert ((tmp_path / "unpaired" / "trainA" / f"{name}.png").read_bytes()
                == (tmp_path / "paired" / "trainA" / f"{name}.png").read_bytes())
    for name in b:
        assert ((tmp_path / "unpaired" / "trainB" / f"{name}.png").read_bytes()
                == (tmp_path / "paired" / "trainB" / f"{name}.png").read_bytes())
    assert _names(tmp_path / "unpaired" / "testA") == _names(tmp_path / "unpaired" / "testB") == {"p0", "p1", "p2"}
    assert not (tmp_path / "unpaired" / "valA").exists()
    unpaired = make_dataset(tmp_path / "unpaired", "unpaired", "train", preprocessing=Preprocessing("none"))
    paired_test = make_dataset(tmp_path / "unpaired", "paired", "test", preprocessing=Preprocessing("none"),
                               train=False)
    assert len(unpaired) == 5 and len(paired_test) == 3
    again = tools.unpair(tmp_path / "paired", tmp_path / "again", seed=1)  # deterministic for the seed
    assert again == counts and _names(tmp_path / "again" / "trainA") == a
    tools.unpair(tmp_path / "paired", tmp_path / "other", seed=2)
    assert _names(tmp_path / "other" / "trainA") != a
    with pytest.raises(DataError, match="not empty"):
        tools.unpair(tmp_path / "paired", tmp_path / "unpaired", seed=1)


def test_unpair_cli(tmp_path, capsys):
    make_paired(tmp_path / "paired", "train", count=4, size=(8, 8))
    tools.main(["unpair", "--input", str(tmp_path / "paired"), "--out", str(tmp_path / "u"), "--link", "--quiet"])
    assert "trainA 2, trainB 2" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        tools.main(["unpair", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "u2"), "--quiet"])
    assert exit_info.value.code == 2 and "nope" in capsys.readouterr().err
