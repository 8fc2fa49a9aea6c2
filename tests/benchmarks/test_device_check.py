"""benchmarks/device_check.py, the prepared GPU check: its --quick CPU dry run, so it cannot rot before a GPU comes."""

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.helpers import run_python

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "device_check.py"


def test_a_missing_package_is_named_and_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts its folders first; undone after the test
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "NEEDED", ("torch", "no_such_package_kornia"))
    assert module.main(["--quick", "--out", "/nonexistent/never.md"]) == 2
    assert "missing packages: no_such_package_kornia; install them or carry their wheels" in capsys.readouterr().err


@pytest.mark.slow
def test_the_quick_dry_run_does_every_step_and_writes_the_table(tmp_path):
    result = run_python(SCRIPT, "--quick", "--out", tmp_path / "check.md", timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = (tmp_path / "check.md").read_text()
    for task in ("paired", "unpaired"):
        for setting in ("fp32", "bf16", "bf16 + channels_last"):
            assert f"| train {task}, {setting} | " in table and "s/iteration" in table
    assert "| resume: 2 + 2 against 4 iterations | largest weight difference 0.00e+00 |" in table  # exact on a CPU
    assert "| infer.py --precision bf16 | " in table and "| infer.py bf16 against fp32 | worst PSNR " in table
    assert "| pono_speed.py | " in table and "failed" not in table
