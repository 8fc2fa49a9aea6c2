"""Style (MUNIT) models at inference and evaluation: ``load_model`` with a style checkpoint, ``infer.py --style`` /
``--num-styles`` (names, reruns, one decode per content, bad inputs) and ``evaluate``'s style metrics."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from PIL import Image

import infer
import pono_gan.inference.run as inference_run
import pono_gan.inference.style as inference_style
from pono_gan.checkpoint import munit_from_checkpoint, read_checkpoint
from pono_gan.data.io import load_image
from pono_gan.errors import DataError
from pono_gan.evaluate import Scoring, evaluate, select_metrics
from pono_gan.evaluate.metrics import pairwise_l1
from pono_gan.inference import (
    InferenceError,
    InferenceOptions,
    Translator,
    load_model,
    min_input_size,
    run_inference,
    style_codes,
)
from pono_gan.models import StyleTransfer, translate
from tests.data import random_rgb, write
from tests.helpers import write_image_zoo, write_tiny_checkpoint

QUIET = dict(progress=False, workers=0)


def photo(path, size=(24, 32), seed=0, mode="RGB"):
    return write(path, Image.fromarray(random_rgb(*size, seed=seed)).convert(mode))


@pytest.fixture(scope="module")
def style_checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("style") / "style.ckpt", task="style",
                                 data={"preprocess": "none"})


@pytest.fixture()
def folders(tmp_path):
    contents = [photo(tmp_path / "content" / "a.png", seed=1),
                photo(tmp_path / "content" / "sub" / "b.jpg", (20, 20), 2)]
    styles = [photo(tmp_path / "styles" / "s1.png", (40, 28), 3), photo(tmp_path / "styles" / "s2.png", (16, 16), 4)]
    return tmp_path / "content", tmp_path / "styles", contents, styles


def test_load_model_builds_one_direction_of_the_style_model(style_checkpoint):
    with pytest.raises(InferenceError, match="style model holds the domains A and B generators; pass --direction"):
        load_model(style_checkpoint)
    model = load_model(style_checkpoint, "BtoA")
    assert model.styled and model.task == "style" and model.has_pono and model.direction == "BtoA"
    assert isinstance(model.generator, StyleTransfer) and not model.generator.training
    assert min_input_size(model.generator) == 8  # 2 downsamplings; the bottleneck is reflect-padded
    checkpoint = read_checkpoint(style_checkpoint)
    a, b = (munit_from_checkpoint(checkpoint, d) for d in "AB")
    x, style = torch.rand(2, 3, 16, 24) * 2 - 1, torch.randn(2, 8)
    with torch.no_grad():  # B's content encoder and moments, A's decoder
        torch.testing.assert_close(model.generator(x, style), translate(b, a, x, style))
        output, moments = model.generator.forward_with_moments(x, style)
    assert output.shape == (2, 3, 16, 24) and [m.mean.shape[-1] for m in moments] == [12, 6]
    assert not load_model(write_tiny_checkpoint(style_checkpoint.with_name("plain.ckpt"), task="style", pono=False,
                                                shortcut="none"), "AtoB").has_pono


def test_translator_needs_the_style_of_a_style_model(style_checkpoint):
    model = load_model(style_checkpoint, "AtoB")
    images, code = torch.rand(3, 3, 18, 26), torch.randn(1, 8)  # padded to 20 x 28 and cropped back
    whole, _ = Translator(model.generator)(images, code)
    with torch.no_grad():
        padded = torch.nn.functional.pad(images * 2 - 1, (1, 1, 1, 1), mode="reflect")
        expected = (model.generator(padded, code.expand(3, -1))[..., 1:19, 1:27] + 1) / 2
    torch.testing.assert_close(whole, expected.clamp(0, 1))
    tiled, moments = Translator(model.generator, tile=16, with_moments=True)(images, code)
    assert tiled.shape == whole.shape and len(moments) == 3 and len(moments[0]) == 2
    with pytest.raises(TypeError):
        Translator(model.generator)(images)


def test_example_and_random_styles_write_content_style_outputs(style_checkpoint, folders, tmp_path, monkeypatch):
    content, styles, contents, examples = folders
    model = load_model(style_checkpoint, "AtoB")
    decoded = []
    real_load = inference_run.load_image_and_alpha
    for module in (inference_run, inference_style):  # content decoding, style examples
        monkeypatch.setattr(module, "load_image_and_alpha",
                            lambda path, *a: decoded.append(path) or real_load(path, *a))
    options = InferenceOptions(direction="AtoB", style=str(styles), num_styles=2, save_moments=True, **QUIET)
    summary = run_inference(style_checkpoint, content, tmp_path / "out", options)
    assert (summary.written, summary.failed) == (8, 0)
    names = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    expected = sorted(f"{stem}_{style}{suffix}" for stem, suffix in (("a", ".png"), ("sub/b", ".jpg"))
                      for style in ("s1", "s2", "random0", "random1"))
    assert names == sorted(expected + [f"{n.rsplit('.', 1)[0]}_moments.png" for n in expected])
    # two style examples, then each content once for its four styles
    assert decoded.count(contents[0]) == 1 and decoded.count(contents[1]) == 1 and len(decoded) == 4

    # the a_s1 output is a's content in s1's style, as the model computes it
    code = model.generator.encode_style(load_image(examples[0])[None] * 2 - 1)
    expected_image, _ = Translator(model.generator)(load_image(contents[0])[None], code)
    written = load_image(tmp_path / "out" / "a_s1.png")
    assert (written - expected_image[0]).abs().max() <= 1 / 255 + 1e-6
    outputs = {name: load_image(tmp_path / "out" / f"a_{name}.png") for name in ("s1", "s2", "random0", "random1")}
    # the style changes the result (slightly: a freshly initialized model's AdaIN parameters are near zero)
    assert pairwise_l1([o[None] for o in outputs.values()]).item() > 0

    # a rerun skips everything; --overwrite with the same seed rewrites the same random styles, another seed not
    assert run_inference(style_checkpoint, content, tmp_path / "out", options).skipped == 8
    again = run_inference(style_checkpoint, content, tmp_path / "out", InferenceOptions(
        direction="AtoB", num_styles=1, overwrite=True, **QUIET))
    assert again.written == 2
    assert torch.equal(load_image(tmp_path / "out" / "a_random0.png"), outputs["random0"])
    run_inference(style_checkpoint, content, tmp_path / "other", InferenceOptions(
        direction="AtoB", num_styles=1, seed=5, **QUIET))
    assert not torch.equal(load_image(tmp_path / "other" / "a_random0.png"), outputs["random0"])


def test_style_codes_read_odd_examples_and_name_them_by_path(style_checkpoint, tmp_path):
    model = load_model(style_checkpoint, "AtoB")
    sizes = write_image_zoo(tmp_path / "zoo")
    warnings = []
    codes = style_codes(model, tmp_path / "zoo", warn=warnings.append)
    readable = {name.rsplit(".", 1)[0].replace("/", "-") for name, size in sizes.items() if size is not None}
    assert set(codes) == readable and "nested-deeper-deep" in codes and "tiny" in codes  # 3x5: enlarged to 4
    assert all(code.shape == (1, 8) and torch.isfinite(code).all() for code in codes.values())
    assert len(warnings) == 2 and any("truncated.png" in w for w in warnings)
    # a single file is named by its stem; random styles come after the examples, reproducible with the seed
    both = style_codes(model, tmp_path / "zoo" / "gray.png", num_styles=2, seed=3)
    assert list(both) == ["gray", "random0", "random1"]
    torch.testing.assert_close(both["gray"], codes["gray"])
    torch.testing.assert_close(style_codes(model, num_styles=2, seed=3)["random1"], both["random1"])
    # examples are encoded at the size given (the style encoder pools globally, so scale matters)
    assert not torch.allclose(style_codes(model, tmp_path / "zoo" / "ordinary.png", size=64)["ordinary"],
                              codes["ordinary"])


def test_style_errors_are_one_line_and_name_the_fix(style_checkpoint, folders, tmp_path):
    content, _, _, _ = folders
    cases = [
        (dict(), "needs --style IMAGE_OR_DIR .* or --num-styles N"),
        (dict(style=str(tmp_path / "nope")), "style not found: .*nope"),
        (dict(num_styles=-1), "--num-styles -1: must be 0 or more"),
    ]
    (tmp_path / "empty").mkdir()
    cases.append((dict(style=str(tmp_path / "empty")), "no images found in the style folder"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not an image")
    cases.append((dict(style=str(tmp_path / "bad")), "no readable style example"))
    photo(tmp_path / "dupes" / "s.png")
    photo(tmp_path / "dupes" / "s.jpg")
    cases.append((dict(style=str(tmp_path / "dupes")), "would both be named 's'; rename one"))
    photo(tmp_path / "clash" / "random0.png")
    cases.append((dict(style=str(tmp_path / "clash"), num_styles=1), "named 'random0', as a random style"))
    for extra, message in cases:
        options = InferenceOptions(direction="AtoB", **extra, **QUIET)
        with pytest.raises(InferenceError, match=message):
            run_inference(style_checkpoint, content, tmp_path / "out", options, warn=lambda m: None)
    assert not (tmp_path / "out").exists()  # nothing written on a usage error
    paired = write_tiny_checkpoint(tmp_path / "paired.ckpt")
    with pytest.raises(InferenceError, match="need a style model .* this is a paired model"):
        run_inference(paired, content, tmp_path / "out", InferenceOptions(num_styles=2, **QUIET))
    with pytest.raises(InferenceError, match="need a style model"):
        style_codes(load_model(paired), num_styles=1)
    with pytest.raises(InferenceError, match="input not found"):  # input errors come before any style is encoded
        run_inference(style_checkpoint, tmp_path / "missing", tmp_path / "out",
                      InferenceOptions(direction="AtoB", style=str(tmp_path / "bad"), **QUIET))


def test_a_corrupt_content_fails_once_per_style_and_the_rest_go_on(style_checkpoint, folders, tmp_path):
    content, _, _, _ = folders
    (content / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    warnings = []
    summary = run_inference(style_checkpoint, content, tmp_path / "out",
                            InferenceOptions(direction="AtoB", num_styles=3, **QUIET), warn=warnings.append)
    assert (summary.written, summary.failed) == (6, 3)
    assert len(warnings) == 1 and "broken.png" in warnings[0]


def test_infer_cli_with_styles(style_checkpoint, folders, tmp_path, capsys):
    content, styles, _, _ = folders
    code = infer.main(["--checkpoint", str(style_checkpoint), "--direction", "BtoA", "--input", str(content),
                       "--output", str(tmp_path / "out"), "--style", str(styles / "s2.png"), "--num-styles", "1",
                       "--quiet", "--workers", "0", "--ext", "png"])
    assert code == 0 and "4 written" in capsys.readouterr().out
    assert ({p.name for p in (tmp_path / "out").rglob("*.png")}
            == {"a_s2.png", "a_random0.png", "b_s2.png", "b_random0.png"})
    assert infer.main(["--checkpoint", str(style_checkpoint), "--direction", "AtoB", "--input", str(content),
                       "--output", str(tmp_path / "x"), "--quiet"]) == 2
    assert "--num-styles N" in capsys.readouterr().err


def test_evaluate_scores_content_preservation_and_diversity(style_checkpoint, tmp_path):
    root = tmp_path / "data"
    for index in range(4):
        photo(root / "testA" / f"{index}.png", (16, 16), index)
        photo(root / "testB" / f"{index}.png", (16, 16), 10 + index)
    model = load_model(style_checkpoint, "AtoB")
    summary = evaluate(model, root, "paired", "test", tmp_path / "eval",
                       scoring=Scoring(device="cpu", workers=0, num_styles=3,
                                       metrics=["l1", "ssim", "l1_random", "diversity_l1"]))
    assert set(summary["metrics"]) == {"l1", "ssim", "l1_random", "diversity_l1"}
    assert summary["metrics"]["diversity_l1"]["mean"] > 0 and summary["styles"]["random_per_input"] == 3
    rows = list(csv.DictReader(open(tmp_path / "eval" / "per_image.csv")))
    assert [r["style"].rsplit("/", 1)[-1] for r in rows] == ["1.png", "2.png", "3.png", "0.png"]  # the next target
    # the guided score is the example's style applied to the input, as infer.py computes it
    code = model.generator.encode_style(load_image(root / "testB" / "1.png")[None] * 2 - 1)
    output, _ = Translator(model.generator)(load_image(root / "testA" / "0.png")[None], code)
    target = load_image(root / "testB" / "0.png")[None]
    assert float(rows[0]["l1"]) == pytest.approx((output - target).abs().mean().item(), abs=1e-6)
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["styles"]["seed"] == 0
    # the same numbers on a rerun (seeded random styles)
    again = evaluate(model, root, "paired", "test", None,
                     scoring=Scoring(device="cpu", workers=0, metrics=["diversity_l1"]))
    assert again["metrics"]["diversity_l1"]["mean"] == pytest.approx(summary["metrics"]["diversity_l1"]["mean"])


def test_style_metric_selection():
    assert "diversity_l1" in select_metrics(None, "paired", styled=True)[0]
    assert "l1_random" not in select_metrics(None, "unpaired", styled=True)[0]
    assert "diversity_l1" not in select_metrics(None, "paired")[0]
    with pytest.raises(DataError, match=r"diversity_l1: only for style \(MUNIT\) models"):
        select_metrics(["diversity_l1"], "paired")
    with pytest.raises(DataError, match="l1_random: only with ground-truth pairs"):
        select_metrics(["l1_random"], "unpaired", styled=True)
