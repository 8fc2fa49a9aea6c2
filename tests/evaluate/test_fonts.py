"""The font benchmark's example-guided protocol: the triples, the two accuracies on outputs whose answers are known,
the references, a style checkpoint through ``python -m pono_gan.evaluate``, and its errors."""

import csv
import json
import re

import pytest
import torch
import torch.nn.functional as F

from pono_gan.errors import DataError, MissingPathError
from pono_gan.evaluate import Scoring
from pono_gan.evaluate.fonts import (
    REFERENCES,
    SHAPE_SPREAD,
    Benchmark,
    evaluate_fonts,
    glyph_distances,
    moment_normalized,
    sample_triples,
)
from tests.data.test_fonts import latin_benchmark, needs_dejavu
from tests.helpers import run_python, write_tiny_checkpoint

CHEAP = ["l1", "psnr", "ssim", "content_accuracy", "shape_accuracy", "style_accuracy", "source_font"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fonts")
    return latin_benchmark(folder / "latin", folder / "twin.ttf")


def oracle(root):
    """A renderer that knows the answer: it looks the content and the example up among the test glyphs and returns
    the content's character drawn in the example's font (what a perfect model draws)."""
    bench = Benchmark.load(root)
    chars = bench.splits["test"]
    glyphs = bench.glyphs("test", chars)  # (1 + K, N, 1, H, W); 0 is the source

    def find(image, fonts):
        matches = [(k, i) for k in fonts for i in range(len(chars)) if torch.equal(glyphs[k, i], image)]
        assert len(matches) == 1
        return matches[0]

    def render(contents, examples):
        out = []
        for content, example in zip(contents, examples):
            _, char = find(content, [0])
            font, _ = find(example, range(1, len(bench.fonts) + 1))
            out.append(glyphs[font, char])
        return torch.stack(out)

    return render


@needs_dejavu
def test_triples_pair_every_character_and_font_with_another_character():
    triples = sample_triples("abcdef", ["x", "y"], seed=1)
    assert [(t.font, t.char) for t in triples] == [(f, c) for f in "xy" for c in "abcdef"]
    assert all(t.example != t.char for t in triples)
    assert triples == sample_triples("abcdef", ["x", "y"], seed=1) != sample_triples("abcdef", ["x", "y"], seed=2)
    with pytest.raises(DataError, match="at least 2 test characters"):
        sample_triples("a", ["x"])


def moved(images, scale=0.8, shift=(0.15, -0.1)):
    """``images`` (ink on white) shrunk by ``scale`` about the centre and shifted by ``shift`` (of the half side)."""
    theta = torch.tensor([[1 / scale, 0, -shift[0] / scale], [0, 1 / scale, -shift[1] / scale]])
    grid = F.affine_grid(theta.expand(len(images), 2, 3), images.shape, align_corners=False)
    return F.grid_sample(images - 1, grid, align_corners=False) + 1


def ink_moments(images):
    """Each image's ink centroid (y, x) and spread (root mean square distance from it, per axis), in pixels."""
    ink = (1 - images[:, 0]).clamp(min=0)
    weight = ink / ink.sum((1, 2))[:, None, None]
    rows, cols = torch.arange(images.shape[-2]).float()[:, None], torch.arange(images.shape[-1]).float()[None]
    y, x = (weight * rows).sum((1, 2)), (weight * cols).sum((1, 2))
    spread = ((weight * ((rows - y[:, None, None]) ** 2 + (cols - x[:, None, None]) ** 2)).sum((1, 2)) / 2).sqrt()
    return y, x, spread


def differ(a, b):
    """The mean absolute difference of two image batches."""
    return (a - b).abs().mean().item()


def test_moment_normalization_centres_and_scales_the_ink_and_undoes_a_move():
    glyphs = torch.ones(3, 1, 64, 64)
    glyphs[0, 0, 5:20, 40:44] = 0  # a small L off centre
    glyphs[0, 0, 17:20, 40:50] = 0
    glyphs[1, 0, 10:50, 12:16] = 0.2  # a long grey one
    glyphs[1, 0, 30:34, 12:52] = 0.2
    normalized = moment_normalized(glyphs)
    y, x, spread = ink_moments(normalized[:2])
    torch.testing.assert_close(y, torch.full((2,), 31.5), atol=0.3, rtol=0)
    torch.testing.assert_close(x, torch.full((2,), 31.5), atol=0.3, rtol=0)
    torch.testing.assert_close(spread, torch.full((2,), 64 * SHAPE_SPREAD), atol=0.3, rtol=0)
    assert torch.equal(normalized[2], glyphs[2])  # a blank page has no ink to move
    assert differ(moment_normalized(normalized[:1]), normalized[:1]) < 0.005  # normalized already: no flip, no move
    assert differ(normalized[:1], normalized[:1].flip(-1, -2)) > 0.02  # (which a flip would be)
    tinted = moment_normalized(glyphs[:1] * 0.96)  # a grey page moves nothing: only the glyph is ink
    assert differ(tinted, normalized[:1] * 0.96) < 0.005
    # the same glyph shrunk and moved normalizes to (nearly) the same image
    shifted = moved(glyphs[1:2])
    assert differ(moment_normalized(shifted), normalized[1:2]) < 0.1 * differ(shifted, glyphs[1:2])


@needs_dejavu
def test_shape_accuracy_ignores_size_and_placement_which_content_accuracy_sees(bench):
    perfect = oracle(bench)
    values = evaluate_fonts(lambda contents, examples: moved(perfect(contents, examples)), bench,
                            scoring=Scoring(metrics=CHEAP))["metrics"]
    assert values["shape_accuracy"]["mean"] >= 0.95
    assert values["content_accuracy"]["mean"] < 0.5


@needs_dejavu
def test_a_perfect_output_scores_one_and_each_reference_fails_its_accuracy(bench, tmp_path):
    perfect = evaluate_fonts(oracle(bench), bench, output=tmp_path / "perfect", scoring=Scoring(metrics=CHEAP))
    assert perfect["count"] == 19 * 3 and perfect["layout"] == "fonts"
    values = {name: entry["mean"] for name, entry in perfect["metrics"].items()}
    assert values["content_accuracy"] == values["shape_accuracy"] == values["style_accuracy"] == 1.0
    assert values["l1"] == values["source_font"] == 0
    assert set(perfect["per_font"]) == {"dejavuserif", "dejavusansmono", "dejavusans-bold"}
    assert all(font["content_accuracy"] == 1.0 for font in perfect["per_font"].values())
    rows = list(csv.DictReader(open(tmp_path / "perfect" / "per_image.csv", encoding="utf-8")))
    assert list(rows[0])[:6] == ["input", "example", "target", "font", "char", "example_char"]
    assert all(row["nearest_char"] == row["char"] and row["nearest_font"] == row["font"] for row in rows)
    assert all(row["target"].endswith(f"testB/{row['font']}/u{ord(row['char']):04x}.png") for row in rows)

    scores = {label: evaluate_fonts(render, bench, output=tmp_path / label, scoring=Scoring(metrics=CHEAP))
              for label, render in REFERENCES.items()}
    copied = scores["example glyph copied"]["metrics"]
    assert copied["content_accuracy"]["mean"] == 0  # the nearest character is the example's own
    source = list(csv.DictReader(open(tmp_path / "source glyph unchanged" / "per_image.csv", encoding="utf-8")))
    assert {row["nearest_font"] for row in source} == {"dejavusans"}  # the source font, never the target
    assert scores["source glyph unchanged"]["metrics"]["style_accuracy"]["mean"] == 0
    assert scores["source glyph unchanged"]["metrics"]["source_font"]["mean"] == 1  # it stayed in the source font
    blank = scores["blank page"]["metrics"]
    assert blank["content_accuracy"]["mean"] < 0.2 and blank["l1"]["mean"] > 0


@needs_dejavu
def test_the_glyph_distance_tolerates_a_shift_and_tells_characters_apart(bench):
    benchmark = Benchmark.load(bench)
    glyphs = benchmark.glyphs("test", benchmark.splits["test"])[1]  # 19 Latin characters in DejaVu Serif, 32 px
    assert (glyph_distances(glyphs, glyphs).argmin(1) == torch.arange(len(glyphs))).all()
    assert glyph_distances(glyphs, glyphs).diagonal().abs().max() < 1e-6
    shifted = glyph_distances(torch.roll(glyphs, 1, -1), glyphs).argmin(1)
    assert (shifted == torch.arange(len(glyphs))).float().mean() >= 0.85  # at 32 px a shifted I may become a 1


@needs_dejavu
def test_a_style_checkpoint_on_the_benchmark_with_its_references(bench, tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "style.ckpt", task="style", in_channels=1, out_channels=1,
                                       data={"preprocess": "none"})
    result = run_python("-m", "pono_gan.evaluate", "--checkpoint", checkpoint, "--direction", "AtoB", "--data", bench,
                        "--output", tmp_path / "eval", "--references", "--num-styles", "2", "--limit", "8", timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["layout"] == "fonts" and summary["count"] == 8 * 3
    assert {"content_accuracy", "style_accuracy", "diversity_l1"} <= set(summary["metrics"])
    assert {"fd_effnet_lite0", "kid_effnet_lite0"} <= set(summary["distribution_metrics"])
    assert {"fd_effnet_lite0", "content_accuracy"} <= set(summary["per_font"]["dejavuserif"])
    for folder in ("source_glyph_unchanged", "example_glyph_copied", "blank_page"):
        assert (tmp_path / "eval" / "references" / folder / "per_image.csv").is_file()
    assert "doing nothing, example glyph copied:" in result.stdout


@needs_dejavu
def test_protocol_errors(bench, tmp_path):
    with pytest.raises(MissingPathError, match="not a font benchmark; build one with"):
        evaluate_fonts(REFERENCES["blank page"], tmp_path)
    with pytest.raises(DataError, match="l1_random: random styles have no truth on the font benchmark"):
        evaluate_fonts(REFERENCES["blank page"], bench, scoring=Scoring(metrics=["l1_random"]))
    with pytest.raises(DataError, match="split 'nope'"):
        evaluate_fonts(REFERENCES["blank page"], bench, split="nope")


def drawn_correlations(lines: list[str]) -> dict[tuple[int, str], tuple[float, float]]:
    """moment_alignment's swap lines: (stage, part) -> correlation with the content's input, with the moments'."""
    drawn = {}
    for line in lines:
        if line.startswith("  stage "):
            words, (content, moments) = line.split(), re.findall(r"[+-]\d\.\d\d", line)
            drawn[int(words[1].removesuffix("'s")), words[2]] = (float(content), float(moments))
    return drawn


@needs_dejavu
def test_moment_alignment_measures_whether_two_encoders_agree(bench, tmp_path):
    """benchmarks/moment_alignment.py: two copies of one encoder agree exactly (+1.00); the command prints a line a
    set and a line for the translations, and refuses a checkpoint without PONO in one line."""
    checkpoint = write_tiny_checkpoint(tmp_path / "style.ckpt", task="style", in_channels=1, out_channels=1,
                                       data={"preprocess": "none"})
    saved = torch.load(checkpoint, weights_only=False)
    state = saved["state_dict"]
    for key in [k for k in state if k.startswith("generator_a.content_encoder.")]:
        state[key.replace("generator_a.", "generator_b.", 1)] = state[key].clone()
    torch.save(saved, tmp_path / "same.ckpt")
    result = run_python("benchmarks/moment_alignment.py", "--checkpoint", tmp_path / "same.ckpt", "--data", bench,
                        "--limit", "8")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("dejavusans (A) glyphs: mean maps of encoder A vs B +1.00, +1.00; std maps +1.00, +1.00")
    [translations] = [line for line in lines if line.startswith("AtoB translations vs their inputs: correlation ")]
    assert "shared by both domains" in translations
    # which glyph the decoder draws: each stage's mean, then std maps from another input
    drawn = drawn_correlations(lines)
    assert list(drawn) == [(0, "mean"), (0, "std"), (1, "mean"), (1, "std")]
    unswapped = float(re.findall(r"[+-]\d\.\d\d", translations)[0])
    assert drawn[0, "mean"][0] != unswapped and drawn[0, "std"][0] != unswapped  # the maps were swapped
    std_only = write_tiny_checkpoint(tmp_path / "std.ckpt", task="style", shortcut="ms_std", in_channels=1,
                                     out_channels=1, data={"preprocess": "none"})
    lines = run_python("benchmarks/moment_alignment.py", "--checkpoint", std_only, "--data", bench,
                       "--limit", "8").stdout.strip().splitlines()
    unswapped = float(re.findall(r"[+-]\d\.\d\d", next(line for line in lines if line.startswith("AtoB")))[0])
    drawn = drawn_correlations(lines)
    assert drawn[0, "mean"][0] == drawn[1, "mean"][0] == unswapped != drawn[0, "std"][0]  # the mean is not re-injected
    plain = write_tiny_checkpoint(tmp_path / "in.ckpt", task="style", pono=False, shortcut="none", in_channels=1,
                                  out_channels=1, data={"preprocess": "none"})
    refused = run_python("benchmarks/moment_alignment.py", "--checkpoint", plain, "--data", bench)
    assert (refused.returncode == 2
            and "no PONO layers in its content encoders" in refused.stderr.strip().splitlines()[-1])


@needs_dejavu
def test_a_benchmark_trained_on_one_font_renders_that_font_and_picks_among_all(tmp_path):
    root = latin_benchmark(tmp_path / "serif", tmp_path / "twin.ttf", train_fonts=["dejavuserif"])
    # domain B holds the one font in training and validation; the test split keeps every font as a candidate
    assert [p.name for p in (root / "trainB").iterdir()] == [p.name for p in (root / "valB").iterdir()] == [
        "dejavuserif"]
    assert sorted(p.name for p in (root / "testB").iterdir()) == ["dejavusans-bold", "dejavusansmono", "dejavuserif"]
    bench = Benchmark.load(root)
    assert bench.targets == ("dejavuserif",) and len(bench.fonts) == 3
    perfect = evaluate_fonts(oracle(root), root, output=tmp_path / "perfect", scoring=Scoring(metrics=CHEAP))
    assert perfect["count"] == 19 and set(perfect["per_font"]) == {"dejavuserif"}
    assert perfect["metrics"]["style_accuracy"]["mean"] == 1.0
    assert perfect["protocol"]["candidates"] == ["dejavuserif", "dejavusansmono", "dejavusans-bold"]
    # the candidates are all fonts: the other fonts' drawings of the character are nearer than a blank page's
    wrong_font = Benchmark.load(root).glyphs("test", bench.splits["test"])[2]  # mono, in every row
    mono = evaluate_fonts(lambda contents, examples: wrong_font[:len(contents)], root, scoring=Scoring(metrics=CHEAP))
    assert mono["metrics"]["style_accuracy"]["mean"] < 0.2
    with pytest.raises(DataError, match="split 'val' of .* holds only the trained fonts \\(dejavuserif\\), and style"):
        evaluate_fonts(oracle(root), root, "val", scoring=Scoring(metrics=CHEAP))
    with pytest.raises(DataError, match="--train-fonts nope: not a kept target font; valid: dejavuserif"):
        latin_benchmark(tmp_path / "bad", tmp_path / "twin.ttf", train_fonts=["nope"])
