import csv
import json
import subprocess
import sys

import pytest

from pono_gan.evaluate import evaluate
from pono_gan.inference import load_model
from pono_gan.metrics import paired_metrics
from pono_gan.data import load_image
from tests.tasks.helpers import tiny_run


@pytest.fixture(scope="module")
def trained_checkpoint(tiny_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("eval_run")
    tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, run, "--trainer.max_steps", "2")
    return run / "checkpoints" / "last.ckpt"


def test_evaluate_writes_per_image_csv_and_summary(trained_checkpoint, tiny_dataset, tmp_path):
    model = load_model(trained_checkpoint)
    summary = evaluate(model, tiny_dataset, "paired", "test", tmp_path / "eval", device="cpu", workers=0)
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


def test_evaluate_cli_defaults_to_the_training_data(trained_checkpoint):
    result = subprocess.run([sys.executable, "-m", "pono_gan.evaluate", "--checkpoint", str(trained_checkpoint)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 pairs from" in result.stdout
    assert (trained_checkpoint.parent.parent / "eval_test" / "summary.json").is_file()


def test_evaluate_needs_ground_truth(trained_checkpoint, tiny_dataset, tmp_path):
    result = subprocess.run([sys.executable, "-m", "pono_gan.evaluate", "--checkpoint", str(trained_checkpoint),
                             "--data", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("evaluate: error:") and "missing" in result.stderr
