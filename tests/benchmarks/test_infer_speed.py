"""benchmarks/infer_speed.py: the pipeline against a plain loop, on a given checkpoint's generator."""

import argparse
import importlib.util
import sys

import pytest

from tests.helpers import ROOT, write_tiny_checkpoint


@pytest.fixture(scope="module")
def infer_speed():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # it imports benchmarks/common.py as the script does
    spec = importlib.util.spec_from_file_location("infer_speed", ROOT / "benchmarks" / "infer_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def options(checkpoint, direction):
    return argparse.Namespace(images=2, size=32, rounds=1, batch_size=None, workers=0, no_compile=True,
                              checkpoint=str(checkpoint), direction=direction)


@pytest.mark.slow
def test_it_times_a_given_checkpoint_with_its_channels_and_direction(infer_speed, tmp_path, capsys):
    checkpoint = write_tiny_checkpoint(tmp_path / "gray.ckpt", task="unpaired", in_channels=1, out_channels=1)
    infer_speed.run(options(checkpoint, "BtoA"), tmp_path / "work")
    printed = capsys.readouterr().out
    assert f"{checkpoint} (trained)" in printed
    assert "pipeline fp32" in printed and "PSNR vs fp32: inf dB" in printed  # same math, same outputs
    style = write_tiny_checkpoint(tmp_path / "style.ckpt", task="style")
    with pytest.raises(infer_speed.InferenceError, match="a style checkpoint needs style codes"):
        infer_speed.run(options(style, "AtoB"), tmp_path / "work2")


def test_a_bad_checkpoint_is_one_line_and_exit_status_2(infer_speed, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["infer_speed.py", "--checkpoint", str(tmp_path / "missing.ckpt")])
    with pytest.raises(SystemExit) as stopped:
        infer_speed.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith("infer_speed: error: checkpoint not found: ")
