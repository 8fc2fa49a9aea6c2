"""One prepared check for a lent GPU: both tasks trained at 256 px in fp32, bf16 and with compile, a resume, infer.py
on a folder, the speed benchmarks, and the numbers as a markdown table (``docs/benchmarks_gpu.md``).

    python benchmarks/device_check.py                         # on a CUDA machine: 256 px, about 5 minutes
    python benchmarks/device_check.py --quick --out /tmp/q.md # any CPU: the same steps at 32 px, tiny networks

Steps, each a row of the table (a failed step is a row that says why; the check goes on):

1. training speed: the paired and unpaired tasks (ResNet 9 blocks / 64 channels, PONO-MS, PatchGAN) on random
   images, seconds per iteration and peak GPU memory in fp32, bf16-mixed, bf16 + channels_last and bf16 +
   ``torch.compile``, each with its speed-up over fp32 in the same run (``benchmarks/train_speed.py``'s measure);
2. resume: ``train.py fit`` on the demo's gray2photo pairs for N iterations, and again for N/2 then ``--ckpt_path
   last`` to N: the largest weight difference between the two (exact on CPU; a GPU's kernels may differ slightly);
3. ``infer.py`` over the test folder of that data in fp32 and bf16: images/s and the worst PSNR between the two;
4. ``benchmarks/pono_speed.py``: PONO against GroupNorm.

It needs the packages of ``pyproject.toml`` (a lent GPU machine lacks kornia and wandb: carry their wheels, as the
device README says); it names any that is missing and stops. ``--quick`` runs on a CPU in about a minute and is
what the test suite runs, so the script cannot rot before a GPU comes. Tests and CI never need a GPU.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

NEEDED = ("torch", "torchvision", "pytorch_lightning", "jsonargparse", "kornia", "wandb", "skimage", "scipy",
          "torchmetrics", "PIL")


def missing_packages() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def python(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` from the project root; one past ``timeout`` seconds comes back as a failure (status 124)."""
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    try:
        return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {timeout:.0f} s")


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:150] if lines else "no output"


def training_rows(quick: bool, cuda: bool) -> list[str]:
    import torch
    from train_speed import measure

    from pono_gan.models import GeneratorConfig
    from pono_gan.tasks import PairedTask, UnpairedTask

    args = SimpleNamespace(size=32 if quick else 256, batch_size=1, steps=2 if quick else 20, warmup=1 if quick else 5)
    generator = GeneratorConfig(base_channels=8 if quick else 64, num_blocks=1 if quick else 9, pono=True,
                                shortcut="ms")
    settings = ([("fp32", "32-true", False, False), ("bf16", "bf16-mixed", False, False),
                 ("bf16 + channels_last", "bf16-mixed", False, True)]
                + ([] if quick else [("bf16 + compile", "bf16-mixed", True, False)]))
    rows = []
    for task_class in (PairedTask, UnpairedTask):
        reference = None
        for label, precision, compiled, channels_last in settings:
            try:
                gc.collect()  # the last setting's networks, before the peak is measured anew
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                seconds = measure(args, precision, compiled, channels_last, task_class, "gpu" if cuda else "cpu",
                                  generator)
                memory = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if cuda else "-"
                reference = seconds if label == "fp32" else reference
                ratio = f"{reference / seconds:.2f}x fp32" if reference else "no fp32 reference"
                rows.append(f"| train {task_class.task_name}, {label} | {seconds:.4f} s/iteration | {ratio} | "
                            f"{memory} |")
            except Exception as error:  # one failed setting is a row, not the end of the check
                rows.append(f"| train {task_class.task_name}, {label} | failed: {type(error).__name__}: "
                            f"{str(error).splitlines()[0][:150]} | | |")
    return rows


def resume_row(work: Path, data: Path, quick: bool) -> str:
    import torch

    steps = 4 if quick else 200
    common = ["train.py", "fit", "--config", "configs/demo.yaml", "--data.root", str(data), "--trainer.logger", "false",
              "--trainer.enable_progress_bar", "false", "--images.every_n_steps", "0", "--data.num_workers", "0",
              "--checkpoint.every_n_train_steps", str(steps // 2), "--trainer.precision", "32-true"]
    if quick:
        common += ["--model.init_args.generator.base_channels", "4", "--model.init_args.generator.num_blocks", "1",
                   "--data.crop_size", "32"]
    whole, halves = work / "whole", work / "halves"
    for args in ([*common, "--trainer.max_steps", str(steps), "--trainer.default_root_dir", str(whole)],
                 [*common, "--trainer.max_steps", str(steps // 2), "--trainer.default_root_dir", str(halves)],
                 [*common, "--trainer.max_steps", str(steps), "--trainer.default_root_dir", str(halves),
                  "--ckpt_path", "last"]):
        result = python(*args)
        if result.returncode:
            return f"| resume ({steps} iterations) | failed: {last_line(result.stderr)} | | |"
    weights = [torch.load(folder / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
               for folder in (whole, halves)]
    difference = max((weights[0][k].float() - weights[1][k].float()).abs().max().item() for k in weights[0])
    return (f"| resume: {steps // 2} + {steps // 2} against {steps} iterations | largest weight difference "
            f"{difference:.2e} | | |")


def infer_rows(work: Path, data: Path) -> list[str]:
    from infer_speed import worst_psnr

    checkpoint = work / "halves" / "checkpoints" / "last.ckpt"
    rows, outputs = [], {}
    for precision in ("32", "bf16"):
        outputs[precision] = work / f"infer_{precision}"
        start = time.perf_counter()
        result = python("infer.py", "--checkpoint", str(checkpoint), "--input", str(data / "testA"), "--output",
                        str(outputs[precision]), "--precision", precision, "--ext", "png", "--quiet")
        if result.returncode:
            rows.append(f"| infer.py --precision {precision} | failed: {last_line(result.stderr)} | | |")
            continue
        line = result.stdout.strip().splitlines()[-1]
        rows.append(f"| infer.py --precision {precision} | {line.split('(')[-1].split(')')[0]} "
                    f"(process {time.perf_counter() - start:.1f} s) | | |")
    if all(folder.is_dir() for folder in outputs.values()):
        rows.append(f"| infer.py bf16 against fp32 | worst PSNR {worst_psnr(outputs['32'], outputs['bf16']):.1f} dB "
                    "| | |")
    return rows


def pono_row(quick: bool) -> str:
    args = (["benchmarks/pono_speed.py", "--rounds", "3" if quick else "15"]
            + (["--shape", "2", "16", "16", "16"] if quick else []))
    result = python(*args)
    lines = [line for line in result.stdout.splitlines() if "ratio vs" in line]
    return f"| pono_speed.py | {'; '.join(' '.join(line.split()) for line in lines)[:400] or 'failed'} | | |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, on any CPU (what the test suite runs)")
    parser.add_argument("--out", help="the markdown written (default: docs/benchmarks_gpu.md on a GPU; with --quick, "
                                      "none: the table is printed)")
    args = parser.parse_args(argv)
    missing = missing_packages()
    if missing:
        print(f"device_check: missing packages: {', '.join(missing)}; install them or carry their wheels (the device "
              "README says how), then run this again", file=sys.stderr)
        return 2
    import torch

    from pono_gan.data import build_gray2photo

    cuda = torch.cuda.is_available()
    if not cuda and not args.quick:
        print("device_check: no CUDA GPU here; run it on a GPU machine, or --quick for the CPU dry run",
              file=sys.stderr)
        return 2
    device = torch.cuda.get_device_name(0) if cuda else f"CPU ({platform.processor() or platform.machine()})"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pono_gan_device_check_") as folder:
        work = Path(folder)
        data = build_gray2photo(work / "data", size=32 if args.quick else 256, num_train=16 if args.quick else 400,
                                num_test=4 if args.quick else 24)
        rows = training_rows(args.quick, cuda)
        rows.append(resume_row(work, data, args.quick))
        rows += infer_rows(work, data)
        rows.append(pono_row(args.quick))
    text = "\n".join([
        "# Speed and memory on a GPU" if cuda else "# Device check, CPU dry run (--quick)", "",
        f"Measured by `python benchmarks/device_check.py{' --quick' if args.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d')}: {device}, torch {torch.__version__}, {(time.perf_counter() - start) / 60:.1f} "
        "minutes. Ratios are against fp32 measured in the same run.", "",
        "| step | result | vs fp32 | peak GPU memory |", "|---|---|---|---|", *rows, ""])
    print(text)
    out = args.out or (None if args.quick else "docs/benchmarks_gpu.md")
    if out:
        out = Path(out) if Path(out).is_absolute() else ROOT / out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 1 if any("failed" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
