"""infer.py end to end: subprocess runs on a tiny real checkpoint and a folder of awkward images (marked slow),
plus the one-line usage errors through ``infer.main`` in-process (fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import infer
from pono_gan.inference import load_model
from tests.helpers import ROOT, run_python, write_image_zoo, write_tiny_checkpoint

INFER = ROOT / "infer.py"


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_python(INFER, *args, timeout=timeout)


def decode_all(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` fully decoded (raises on a truncated one): relative path -> size."""
    sizes = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part")):
        with Image.open(path) as image:
            image.load()
            sizes[path.relative_to(folder).as_posix()] = image.size
    return sizes


@pytest.mark.slow
def test_folder_of_awkward_images_end_to_end(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "model.ckpt")
    sizes = write_image_zoo(tmp_path / "in")
    readable = {name: size for name, size in sizes.items() if size}

    first = run_cli("--checkpoint", checkpoint, "--input", tmp_path / "in", "--output", tmp_path / "out",
                    "--batch-size", "2")
    assert first.returncode == 1, first.stderr  # two inputs are corrupt
    assert f"{len(readable)} written, 0 skipped, 2 failed" in first.stdout
    warnings = [line for line in first.stderr.splitlines() if line.startswith("warning:")]
    assert (len(warnings) == 2 and any("truncated.png" in w for w in warnings)
            and any("not_an_image.png" in w for w in warnings))
    assert "Traceback" not in first.stderr
    assert decode_all(tmp_path / "out") == readable  # names and tree mirrored, sizes kept, nothing else written
    with Image.open(tmp_path / "out" / "rgba.png") as image:
        assert image.mode == "RGBA"

    second = run_cli("--checkpoint", checkpoint, "--input", tmp_path / "in", "--output", tmp_path / "out", "--quiet")
    assert second.returncode == 1
    assert f"0 written, {len(readable)} skipped, 2 failed" in second.stdout


@pytest.mark.slow
def test_killed_run_leaves_no_truncated_file_and_rerun_completes(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "model.ckpt", base_channels=16, num_blocks=2)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{'sub/' if i % 3 == 0 else ''}image_{i:03d}.png" for i in range(40)]
    for name in names:
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(tmp_path / "in" / name)
    output = tmp_path / "out"
    command = [sys.executable, str(INFER), "--checkpoint", str(checkpoint), "--input", str(tmp_path / "in"),
               "--output", str(output), "--batch-size", "1", "--workers", "0", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(output.rglob("*.png")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    survivors = decode_all(output)  # whatever the kill left decodes completely
    assert 0 < len(survivors) < len(names)
    (output / "sub").mkdir(exist_ok=True)
    (output / "sub" / ".image_039.png.k1ll3d.part").write_bytes(b"\x89PNG half")  # what a kill during a write leaves

    rerun = run_cli("--checkpoint", checkpoint, "--input", tmp_path / "in", "--output", output)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(names) - len(survivors)} written, {len(survivors)} skipped, 0 failed" in rerun.stdout
    assert sorted(decode_all(output)) == sorted(names)
    assert not [p for p in output.rglob("*") if p.name.endswith(".part")]  # the stale temporary was removed


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_export_torchscript_from_the_command_line(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "model.ckpt", task="unpaired")
    result = run_cli("--checkpoint", checkpoint, "--direction", "BtoA", "--export", "torchscript", tmp_path / "g.pt")
    assert result.returncode == 0, result.stderr
    assert "wrote torchscript generator" in result.stdout
    exported = torch.jit.load(str(tmp_path / "g.pt"))
    x = torch.rand(1, 3, 32, 20) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(exported(x), load_model(checkpoint, "BtoA").generator(x), atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_missing_checkpoint_is_one_line_without_traceback(tmp_path):
    (tmp_path / "in").mkdir()
    result = run_cli("--checkpoint", tmp_path / "nope.ckpt", "--input", tmp_path / "in", "--output", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "checkpoint not found" in result.stderr
    assert "Traceback" not in result.stderr


class TestUsageErrors:
    """Each error is one line on stderr and exit status 2 (in-process: the same ``main`` the script runs)."""

    @pytest.fixture
    def setup(self, tmp_path):
        checkpoint = write_tiny_checkpoint(tmp_path / "model.ckpt")
        (tmp_path / "in").mkdir()
        Image.new("RGB", (16, 16), "white").save(tmp_path / "in" / "a.png")
        return tmp_path, checkpoint

    def error_of(self, capsys, *args) -> str:
        assert infer.main([str(a) for a in args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("infer.py: error: ") and err.count("\n") == 1
        return err

    def test_non_pono_gan_file(self, setup, capsys):
        tmp_path, _ = setup
        torch.save({"state_dict": {"w": torch.zeros(1)}}, tmp_path / "other.ckpt")
        assert "not a pono-gan checkpoint" in self.error_of(
            capsys, "--checkpoint", tmp_path / "other.ckpt", "--input", tmp_path / "in", "--output", tmp_path / "out")

    def test_truncated_checkpoint(self, setup, capsys):
        tmp_path, checkpoint = setup
        data = checkpoint.read_bytes()
        (tmp_path / "cut.ckpt").write_bytes(data[: len(data) // 3])
        assert "truncated" in self.error_of(
            capsys, "--checkpoint", tmp_path / "cut.ckpt", "--input", tmp_path / "in", "--output", tmp_path / "out")

    def test_empty_input_folder(self, setup, capsys):
        tmp_path, checkpoint = setup
        (tmp_path / "empty").mkdir()
        assert "no images found" in self.error_of(
            capsys, "--checkpoint", checkpoint, "--input", tmp_path / "empty", "--output", tmp_path / "out")

    def test_direction_on_paired_model(self, setup, capsys):
        tmp_path, checkpoint = setup
        err = self.error_of(capsys, "--checkpoint", checkpoint, "--direction", "BtoA", "--input", tmp_path / "in",
                            "--output", tmp_path / "out")
        assert "drop --direction" in err

    def test_output_inside_input(self, setup, capsys):
        tmp_path, checkpoint = setup
        assert "inside the input folder" in self.error_of(
            capsys, "--checkpoint", checkpoint, "--input", tmp_path / "in", "--output", tmp_path / "in" / "out")

    def test_bad_tile(self, setup, capsys):
        tmp_path, checkpoint = setup
        assert "--tile 30" in self.error_of(capsys, "--checkpoint", checkpoint, "--input", tmp_path / "in", "--output",
                                            tmp_path / "out", "--tile", "30")

    def test_input_and_output_required_without_export(self, setup, capsys):
        _, checkpoint = setup
        with pytest.raises(SystemExit) as info:
            infer.main(["--checkpoint", str(checkpoint)])
        assert info.value.code == 2 and "--input and --output are required" in capsys.readouterr().err

    def test_success_prints_the_summary(self, setup, capsys):
        tmp_path, checkpoint = setup
        assert infer.main(["--checkpoint", str(checkpoint), "--input", str(tmp_path / "in"), "--output",
                           str(tmp_path / "out"), "--quiet"]) == 0
        assert "1 written, 0 skipped, 0 failed" in capsys.readouterr().out


def test_train_mode_flag_runs_the_generator_as_junyanzs_test_without_eval(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "unet.ckpt", arch="unet", norm="batch", dropout=0.5,
                                       num_downsampling=5)
    (tmp_path / "in").mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
        tmp_path / "in" / "a.png")
    outputs = {}
    for mode, flags in (("eval", []), ("train", ["--train-mode"])):
        assert infer.main(["--checkpoint", str(checkpoint), "--input", str(tmp_path / "in"), "--output",
                           str(tmp_path / mode), "--quiet", "--workers", "0", *flags]) == 0
        outputs[mode] = np.asarray(Image.open(tmp_path / mode / "a.png"), dtype=np.int16)
    assert np.abs(outputs["eval"] - outputs["train"]).max() > 2  # batch norm on the image's own statistics
