import csv
import json
import os

import pytest

from pono_gan.data import load_image
from pono_gan.errors import DataError
from pono_gan.evaluate import Scoring, evaluate, main, select_metrics
from pono_gan.evaluate.features import INCEPTION_FILE, INCEPTION_URL
from pono_gan.evaluate.metrics import paired_metrics
from pono_gan.inference import load_model
from tests.data import make_unpaired
from tests.helpers import run_python, write_random_inception_weights, write_tiny_checkpoint
from tests.tasks.helpers import tiny_run

pytestmark = pytest.mark.usefixtures("no_inception_weights")


@pytest.fixture(scope="module")
def trained_checkpoint(tiny_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("eval_run")
    tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, run, "--trainer.max_steps", "2")
    return run / "checkpoints" / "last.ckpt"


@pytest.mark.slow
def test_evaluate_writes_per_image_csv_and_summary(trained_checkpoint, tiny_dataset, tmp_path):
    model = load_model(trained_checkpoint)
    summary = evaluate(model, tiny_dataset, "paired", "test", tmp_path / "eval",
                       scoring=Scoring(device="cpu", workers=0))
    rows = list(csv.DictReader(open(tmp_path / "eval" / "per_image.csv")))
    assert len(rows) == summary["count"] == 2
    assert json.loads((tmp_path / "eval" / "summary.json").read_text()) == summary
    # the CSV's numbers are the metrics of infer-style translation of that very file
    from pono_gan.inference import Translator

    first = rows[0]
    prediction, _ = Translator(model.generator)(load_image(first["input"])[None])
    expected = paired_metrics(prediction, load_image(first["target"])[None])
    for name in ("l1", "psnr", "ssim"):
        assert float(first[name]) == pytest.approx(expected[name].item(), rel=1e-4)
    mean_psnr = sum(float(r["psnr"]) for r in rows) / len(rows)
    assert summary["metrics"]["psnr"]["mean"] == pytest.approx(mean_psnr)
    # distribution metrics: the 2 translations against the 2 targets; FID / KID skipped without their weights
    fd, kid = summary["distribution_metrics"]["fd_effnet_lite0"], summary["distribution_metrics"]["kid_effnet_lite0"]
    assert "not comparable to FID" in fd["description"] and "EfficientNet-Lite0" in fd["features"]
    assert fd["n_outputs"] == fd["n_targets"] == 2 and fd["value"] > 0
    assert kid["subset_size"] == 2 and kid["subset_size_rule"] == "min(1000, n_outputs, n_targets)" and "std" in kid
    assert set(summary["skipped"]) == {"fid", "kid"} and INCEPTION_FILE in summary["skipped"]["fid"]


@pytest.mark.slow
def test_evaluate_cli_defaults_to_the_training_data(trained_checkpoint):
    result = run_python("-m", "pono_gan.evaluate", "--checkpoint", trained_checkpoint)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 pairs from" in result.stdout
    assert (trained_checkpoint.parent.parent / "eval_test" / "summary.json").is_file()


@pytest.mark.slow
def test_evaluate_needs_ground_truth(trained_checkpoint, tiny_dataset, tmp_path):
    result = run_python("-m", "pono_gan.evaluate", "--checkpoint", trained_checkpoint, "--data", tmp_path / "missing")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("evaluate: error:") and "missing" in result.stderr


@pytest.fixture(scope="module")
def fresh_checkpoint(tmp_path_factory):
    """An untrained tiny paired generator: enough to exercise the metrics."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("fresh") / "last.ckpt")


def test_metrics_choose_what_runs(fresh_checkpoint, tiny_dataset, tmp_path):
    summary = evaluate(load_model(fresh_checkpoint), tiny_dataset, output=tmp_path,
                       scoring=Scoring(device="cpu", workers=0, metrics=["psnr", "fd_effnet_lite0"]))
    assert list(summary["metrics"]) == ["psnr"] and list(summary["distribution_metrics"]) == ["fd_effnet_lite0"]
    assert summary["skipped"] == {}
    assert (tmp_path / "per_image.csv").read_text().splitlines()[0] == "input,target,psnr"
    chosen, skipped, weights = select_metrics(None, "paired")
    assert chosen == ["l1", "psnr", "ssim", "fd_effnet_lite0", "kid_effnet_lite0"]
    assert set(skipped) == {"fid", "kid"} and weights is None
    valid = ("l1, psnr, ssim, content_accuracy, shape_accuracy, style_accuracy, source_font, l1_random, diversity_l1, "
             "fd_effnet_lite0, kid_effnet_lite0, fid, kid")
    with pytest.raises(DataError, match=f"unknown metric 'fid2048'; valid: {valid}"):
        select_metrics(["fid2048"], "paired")
    with pytest.raises(DataError, match="no metric chosen"):
        select_metrics([], "paired")


def test_unpaired_layout_compares_every_output_with_every_target(fresh_checkpoint, tmp_path):
    make_unpaired(tmp_path / "data", "test", count_a=3, count_b=5, size=(32, 32))
    model = load_model(fresh_checkpoint)
    summary = evaluate(model, tmp_path / "data", "unpaired", output=tmp_path / "eval",
                       scoring=Scoring(device="cpu", workers=0))
    assert summary["metrics"] == {} and summary["count"] == 3 and not (tmp_path / "eval" / "per_image.csv").exists()
    fd = summary["distribution_metrics"]["fd_effnet_lite0"]
    assert (fd["n_outputs"], fd["n_targets"]) == (3, 5)
    assert summary["distribution_metrics"]["kid_effnet_lite0"]["subset_size"] == 3
    with pytest.raises(DataError,
                       match="l1: only with ground-truth pairs; the unpaired layout has only the distribution metrics"):
        evaluate(model, tmp_path / "data", "unpaired", scoring=Scoring(device="cpu", workers=0, metrics=["l1", "fid"]))


def test_the_targets_features_are_reused_on_the_same_split_and_recomputed_when_a_file_changes(
        fresh_checkpoint, tmp_path):
    from pono_gan.evaluate import core
    from tests.data import random_rgb, write

    make_unpaired(tmp_path / "data", "test", count_a=3, count_b=4, size=(32, 32))
    model = load_model(fresh_checkpoint)

    def score():
        summary = evaluate(model, tmp_path / "data", "unpaired",
                           scoring=Scoring(device="cpu", workers=0, metrics=["fd_effnet_lite0"]))
        return summary["distribution_metrics"]["fd_effnet_lite0"]["value"]

    def keys():
        return [key for key in core._TARGET_FEATURES if str(tmp_path) in str(key[-1])]

    first = score()
    [key] = keys()
    assert score() == first and keys() == [key]  # a second checkpoint on this split: the stored features
    stored = core._TARGET_FEATURES[key]
    core._TARGET_FEATURES[key] = stored + 1.0  # they are what it uses
    assert score() != pytest.approx(first)
    core._TARGET_FEATURES[key] = stored
    target = tmp_path / "data" / "testB" / "b0.png"
    write(target, random_rgb(32, 32, seed=99)[..., 0])
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))  # a coarse clock
    changed = score()  # another key: computed afresh, as a fresh process computes it
    assert len(keys()) == 2 and changed != pytest.approx(first)
    core._TARGET_FEATURES.clear()
    assert score() == pytest.approx(changed, rel=1e-6)


def test_a_single_pair_skips_the_distribution_metrics_with_a_reason(fresh_checkpoint, tiny_dataset):
    summary = evaluate(load_model(fresh_checkpoint), tiny_dataset,
                       scoring=Scoring(device="cpu", workers=0, limit=1, metrics=["l1", "kid_effnet_lite0"]))
    assert summary["skipped"] == {"kid_effnet_lite0": "needs at least 2 outputs and 2 targets, got 1 and 1"}
    assert summary["distribution_metrics"] == {} and summary["count"] == 1


@pytest.mark.slow
def test_fid_asked_for_without_weights_is_a_one_line_error(fresh_checkpoint, tiny_dataset):
    result = run_python("-m", "pono_gan.evaluate", "--checkpoint", fresh_checkpoint, "--data", tiny_dataset,
                        "--metrics", "fid")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("evaluate: error: FID / KID need the Inception v3 weights " + INCEPTION_FILE)
    assert INCEPTION_URL in line and "--inception-weights" in line


@pytest.mark.slow
def test_fid_and_kid_with_local_inception_weights(fresh_checkpoint, tiny_dataset, tmp_path, capsys):
    """Random weights in the real format (the real file cannot be downloaded here): proves the path, not the values."""
    weights = write_random_inception_weights(tmp_path / "inception.pth")
    summary = main(["--checkpoint", str(fresh_checkpoint), "--data", str(tiny_dataset), "--output",
                    str(tmp_path / "eval"), "--device", "cpu", "--inception-weights", str(weights), "--metrics",
                    "fid,kid", "ssim"])
    fid, kid = summary["distribution_metrics"]["fid"], summary["distribution_metrics"]["kid"]
    assert fid["weights"] == kid["weights"] == str(weights) and "Inception v3" in fid["features"]
    assert fid["value"] >= 0 and kid["subset_size"] == 2 and fid["n_outputs"] == 2
    assert list(summary["metrics"]) == ["ssim"] and summary["skipped"] == {}
    out = capsys.readouterr().out
    assert "2 pairs from" in out and "fid " in out and "kid " in out and "(subsets of 2)" in out


def test_train_mode_reaches_the_translator_and_the_summary(tiny_dataset, tmp_path):
    # a pix2pix U-Net (batch norm, dropout) whose eval-mode and train-mode translations differ
    checkpoint = write_tiny_checkpoint(tmp_path / "unet.ckpt", arch="unet", norm="batch", dropout=0.5,
                                       num_downsampling=5)
    output = {}
    for mode in ("eval", "train"):
        flags = ["--train-mode"] if mode == "train" else []
        output[mode] = main(["--checkpoint", str(checkpoint), "--data", str(tiny_dataset), "--device", "cpu",
                             "--metrics", "l1", "--output", str(tmp_path / mode), *flags])
        assert output[mode]["generator_mode"] == mode
    assert output["eval"]["metrics"]["l1"]["mean"] != output["train"]["metrics"]["l1"]["mean"]


@pytest.mark.slow
def test_wandb_table_lands_in_the_checkpoints_own_offline_run(tiny_dataset, tmp_path):
    from tests.helpers import history_keys, read_records, run_record
    from tests.tasks.test_cli import offline_runs, run_train

    # each process starts its own W&B service, as a user's train.py and evaluate do (one that an earlier test of this
    # process started would be inherited, and would still hold the training run's id as in use)
    own_service = {"WANDB_SERVICE": None}
    trained = run_train(tiny_dataset, tmp_path / "run", "--trainer.max_steps", "2", env=own_service)
    assert trained.returncode == 0, trained.stderr[-2000:]
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_python("-m", "pono_gan.evaluate", "--checkpoint", checkpoint, "--metrics", "l1", "psnr", "ssim",
                        "--wandb", env={"WANDB_MODE": "offline", **own_service})
    assert result.returncode == 0, result.stderr[-2000:]
    training_run, evaluation_run = offline_runs(tmp_path / "run")
    records = read_records(evaluation_run)
    assert run_record(records).run_id == run_record(read_records(training_run)).run_id  # the same run, resumed
    assert {"eval/test/table/_type", "eval/test/table/nrows", "eval/test/psnr", "eval/test/l1"} <= history_keys(records)
    # W&B stores a logged table as an artifact of the run: its manifest lists the table and every image it shows
    [artifact] = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert artifact.type == "run_table"
    entries = {entry.path: entry.local_path for entry in artifact.manifest.contents}
    data = json.loads(open(entries["eval/test/table.table.json"]).read())
    assert data["columns"] == ["name", "input", "output", "target", "moments", "l1", "psnr", "ssim"]
    assert len(data["data"]) == 2 and {row[0] for row in data["data"]} == {"p0.png", "p1.png"}
    for row in data["data"]:
        for cell in row[1:5]:  # input, output, target, moment maps: PNG files the artifact holds
            assert cell["_type"] == "image-file" and open(entries[cell["path"]], "rb").read(4) == b"\x89PNG"
    rows = {row["input"].rsplit("/", 1)[-1]: row
            for row in csv.DictReader(open(tmp_path / "run" / "eval_test" / "per_image.csv"))}
    for row in data["data"]:  # the table's metrics are the CSV's
        assert row[5] == pytest.approx(float(rows[row[0]]["l1"]))
    # and its images are the images, in 8 bits (not black: wandb.Image casts a float array in [0, 1] to 0 or 1)
    import numpy as np
    from PIL import Image

    from pono_gan.data.io import load_image

    for row in data["data"]:
        shown = np.asarray(Image.open(entries[row[1]["path"]]).convert("RGB"), dtype=np.float64) / 255
        source = load_image(rows[row[0]]["input"]).permute(1, 2, 0).numpy()
        assert shown.shape == source.shape and np.abs(shown - source).max() <= 0.5 / 255 + 1e-6


def test_trivial_references_score_the_input_itself_and_the_targets_median_colour(fresh_checkpoint, tmp_path):
    import numpy as np
    import torch

    from pono_gan.evaluate.references import TrivialGenerator, reference_models
    from tests.data import write

    # per channel, the median is the middle colour (not the mean)
    colours = [(10, 20, 30), (50, 60, 70), (250, 240, 230)]
    for index, colour in enumerate(colours):
        image = np.broadcast_to(np.array(colour, dtype=np.uint8), (8, 8, 3)).copy()
        write(tmp_path / "testA" / f"p{index}.png", image)  # the input already is the target
        write(tmp_path / "testB" / f"p{index}.png", image)
    references = reference_models(load_model(fresh_checkpoint), tmp_path, "paired")
    scores = {label: evaluate(model, tmp_path,
                              scoring=Scoring(device="cpu", workers=0, metrics=["l1", "psnr"]))["metrics"]
              for label, model in references.items()}
    unchanged, constant = scores["input unchanged"], scores["constant image (the targets' median colour)"]
    assert unchanged["l1"]["mean"] == 0 and unchanged["psnr"]["mean"] == 100  # PSNR's cap
    assert constant["l1"]["mean"] == pytest.approx((40 + 0 + 180) / 255 / 3, abs=1e-6)
    x = torch.rand(2, 3, 4, 4)
    assert torch.equal(TrivialGenerator(1)(x), x.mean(1, keepdim=True))  # colour to grey, grey to colour
    assert torch.equal(TrivialGenerator(3)(x[:, :1]), x[:, :1].expand(-1, 3, -1, -1))


def test_the_cli_scores_doing_nothing_beside_the_model_on_request(fresh_checkpoint, tiny_dataset, tmp_path, capsys):
    summary = main(["--checkpoint", str(fresh_checkpoint), "--data", str(tiny_dataset), "--metrics", "l1", "psnr",
                    "--output", str(tmp_path), "--device", "cpu", "--references"])
    references = summary["references"]
    assert list(references) == ["input unchanged", "constant image (the targets' median colour)"]
    written = json.loads((tmp_path / "references" / "identity" / "summary.json").read_text())
    # B = 255 - A
    assert written["metrics"]["l1"]["mean"] == references["input unchanged"]["metrics"]["l1"]["mean"] > 0.3
    assert (tmp_path / "references" / "median" / "per_image.csv").is_file()
    assert "doing nothing, input unchanged: l1 " in capsys.readouterr().out
    # a style model scored on its style metrics only: doing nothing has no style, so nothing to compare; one line
    style = write_tiny_checkpoint(tmp_path / "style.ckpt", task="style")
    with pytest.raises(SystemExit) as exit_:
        main(["--checkpoint", str(style), "--direction", "AtoB", "--data", str(tiny_dataset), "--metrics",
              "diversity_l1", "--output", str(tmp_path / "style"), "--device", "cpu", "--references"])
    assert exit_.value.code == 2 and "--references: diversity_l1: only for style models" in capsys.readouterr().err


def test_the_cli_names_a_missing_data_folder_before_it_weighs_the_metrics(fresh_checkpoint, tmp_path, capsys):
    """A wrong --data is named as missing, even with a metric that its (guessed) layout would refuse."""
    with pytest.raises(SystemExit) as exit_:
        main(["--checkpoint", str(fresh_checkpoint), "--data", str(tmp_path / "nope"), "--metrics", "content_accuracy",
              "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1
    missing = tmp_path / "nope"
    assert err[0] == f"evaluate: error: data folder not found: {missing} (pass --data with the folder to score on)"

