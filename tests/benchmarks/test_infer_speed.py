"""benchmarks/infer_speed.py: the pipeline against a plain loop, on a given checkpoint's generator."""

import pytest

from tests.helpers import ROOT, run_python, write_tiny_checkpoint

SCRIPT = ROOT / "benchmarks" / "infer_speed.py"


@pytest.mark.slow
def test_it_times_a_given_checkpoint_with_its_channels_and_direction(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "gray.ckpt", task="unpaired", in_channels=1, out_channels=1)
    result = run_python(SCRIPT, "--checkpoint", checkpoint, "--direction", "BtoA", "--images", "2", "--size", "32",
                        "--rounds", "1", "--no-compile")
    assert result.returncode == 0, result.stderr
    assert f"{checkpoint} (trained)" in result.stdout
    assert "pipeline fp32" in result.stdout and "PSNR vs fp32: inf dB" in result.stdout  # same math, same outputs
    style = write_tiny_checkpoint(tmp_path / "style.ckpt", task="style")
    refused = run_python(SCRIPT, "--checkpoint", style, "--direction", "AtoB", "--images", "1", "--size", "32",
                         "--rounds", "1", "--no-compile")
    assert refused.returncode != 0 and "a style checkpoint needs style codes" in refused.stderr
