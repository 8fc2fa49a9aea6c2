"""benchmarks/precision_check.py: bf16 against fp32 on the glyph studies, every metric's interval over seeds."""

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.data.test_fonts import SANS, SERIF, needs_dejavu

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def check():
    sys.path.insert(0, str(BENCHMARKS))  # it imports the ablation presets as the script does
    spec = importlib.util.spec_from_file_location("precision_check", BENCHMARKS / "precision_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def records(variant, values):
    return [{"variant": variant, "values": {"l1": value}} for value in values]


def test_one_seed_is_refused(check, capsys):
    with pytest.raises(SystemExit) as stopped:
        check.main(["--seeds", "0"])
    assert stopped.value.code == 2 and "give at least 2 seeds" in capsys.readouterr().err


def test_a_difference_beyond_noise_fails_the_check(check):
    rows, passes = check.compare(records("instance", [0.10, 0.11, 0.12]), records("instance", [0.11, 0.10, 0.12]),
                                 ("l1",))
    assert passes and rows == ["| IN | L1 | 0.1100 | 0.1100 | +0.0000 [-0.0227, +0.0227] |"]
    rows, passes = check.compare(records("instance", [0.10, 0.11, 0.12]), records("instance", [0.20, 0.21, 0.22]),
                                 ("l1",))
    assert not passes and rows[0].endswith("**beyond noise** |")


@pytest.mark.slow
@needs_dejavu
def test_the_check_trains_both_precisions_and_writes_the_table(check, tmp_path, monkeypatch):
    from pono_gan.data.glyphs import Drawing, Split, build_glyphs

    latin = "".join(chr(c) for c in range(ord("A"), ord("Z") + 1)) + "abcdefghijklmn"
    monkeypatch.setattr(sys.modules["ablation"], "build_glyphs",
                        lambda root, drawing: build_glyphs(root, SANS, SERIF, drawing=Drawing(chars=latin, size=32),
                                                               split=Split(val=0.1, test=0.2)))
    assert check.main(["--tasks", "paired", "--variants", "instance", "--seeds", "0", "1", "--steps", "2", "--anyway",
                       "--data", str(tmp_path / "glyphs"), "--runs", str(tmp_path / "runs"),
                       "--report", str(tmp_path / "check.md")]) == 0
    text = (tmp_path / "check.md").read_text()
    assert "## paired: 2 seeds, 2 iterations" in text and "Training CPU time: fp32 " in text
    assert text.count("| IN | ") == 5  # L1, PSNR, SSIM, FD-EffNet, KID-EffNet
    for precision in ("32-true", "bf16-mixed"):
        config = (tmp_path / "runs" / "paired" / precision / "instance" / "steps2" / "seed1"
                  / "config.yaml").read_text()
        assert f"precision: {precision}" in config


def test_data_is_refused_for_tasks_that_train_on_different_data(check, capsys, monkeypatch):
    monkeypatch.setattr(check, "prepare_data", lambda preset, data: pytest.fail("planned a study"))
    with pytest.raises(SystemExit) as stopped:
        check.main(["--tasks", "paired", "fonts_kai", "--data", "data/song2kai"])
    assert stopped.value.code == 2 and "check them one at a time" in capsys.readouterr().err
    planned = []  # the glyph studies share their data: --data is theirs

    def stop(preset, data):
        planned.append(data)
        raise check.PonoGanError("stopped after planning")

    monkeypatch.setattr(check, "prepare_data", stop)
    with pytest.raises(SystemExit):
        check.main(["--tasks", "paired", "unpaired", "--data", "data/song2kai"])
    assert planned == ["data/song2kai"] and "stopped after planning" in capsys.readouterr().err


def test_each_task_is_checked_at_its_studys_budget(check, tmp_path, monkeypatch, capsys):
    planned = []

    def stop(plan, log):
        planned.append(plan)
        raise check.PonoGanError("stopped after planning")

    monkeypatch.setattr(check, "prepare_data", lambda preset, data: tmp_path)
    monkeypatch.setattr(check, "run_plan", stop)
    with pytest.raises(SystemExit):
        check.main(["--tasks", "fonts_kai", "--anyway", "--runs", str(tmp_path / "runs")])
    assert {run.steps for run in planned[0].runs} == {check.PRESETS["fonts_kai"].steps} == {2000}
    assert planned[0].metrics == check.PRESETS["fonts_kai"].metrics
    assert "stopped after planning" in capsys.readouterr().err
