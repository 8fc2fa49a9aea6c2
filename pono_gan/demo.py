"""The main job (``make demo``): build a real data set, train a PONO-MS model on CPU, translate a folder, show it.

1. Builds ``data/gray2photo``: 64 px crops of photos bundled in scikit-image, grayscale (A) -> colour (B);
   the test photos are never seen in training.
2. Trains ``configs/demo.yaml`` (a small PONO-MS pix2pix-style model) with ``train.py``'s CLI: checkpoints in
   ``runs/demo/checkpoints``, sample panels in ``runs/demo/samples``, a W&B run (offline without a login).
   A killed demo resumes where it stopped; a finished one is not retrained (delete ``runs/demo`` to retrain).
3. Runs ``infer.py`` over ``data/gray2photo/testA`` into ``outputs/demo/translated``.
4. Writes ``outputs/demo/comparison.png``: grayscale input | translation | real photo, and the PONO moment maps.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch
from torchvision.utils import save_image

from pono_gan.checkpoint import generator_from_checkpoint, read_checkpoint
from pono_gan.cli import checkpoint_dir
from pono_gan.cli import main as train_cli
from pono_gan.data import build_gray2photo, list_images, load_image
from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel
from pono_gan.packaged import CONFIGS

CONFIG = CONFIGS / "demo.yaml"


def train(data: Path, run_dir: Path, steps: int | None) -> Path:
    last = Path(checkpoint_dir(str(run_dir))) / "last.ckpt"
    args = ["fit", "--config", str(CONFIG), "--data.root", str(data), "--trainer.default_root_dir", str(run_dir)]
    if steps is not None:
        args += ["--trainer.max_steps", str(steps)]
    target = steps or 600
    if last.is_file():
        done = read_checkpoint(last)["global_step"]
        if done >= target:
            print(f"[demo] {last} already holds {done} iterations; delete {run_dir} to train again")
            return last
        print(f"[demo] resuming the demo run from iteration {done}")
        args += ["--ckpt_path", "last"]
    train_cli(args)
    return last


#: the demo's data set: ``build_gray2photo``'s arguments (``datasets/build_demo.py`` builds the same)
DEMO_DATA = {"size": 64, "num_train": 400, "num_test": 24}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/gray2photo"))
    parser.add_argument("--run-dir", type=Path, default=Path("runs/demo"))
    parser.add_argument("--output", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--steps", type=int, default=None, help="training iterations (default: the config's 600)")
    args = parser.parse_args(argv)

    print(f"[demo] building {args.data} (skipped when it is already there)")
    build_gray2photo(args.data, **DEMO_DATA)
    checkpoint_path = train(args.data, args.run_dir, args.steps)

    translated = args.output / "translated"
    command = [sys.executable, "-m", "pono_gan.commands", "infer", "--checkpoint", str(checkpoint_path),
               "--input", str(args.data / "testA"), "--output", str(translated), "--overwrite", "--save-moments"]
    print("[demo] " + " ".join(command))
    subprocess.run(command, check=True)

    checkpoint = read_checkpoint(checkpoint_path)
    generator = generator_from_checkpoint(checkpoint, checkpoint["pono_gan"]["direction"], checkpoint_path)
    inputs = list_images(args.data / "testA")[:8]
    sources = torch.stack([load_image(p) for p in inputs])
    outputs = torch.stack([load_image(translated / p.name) for p in inputs])
    photos = torch.stack([load_image(args.data / "testB" / p.name) for p in inputs])
    with torch.inference_mode():
        _, moments = generator.forward_with_moments(sources * 2 - 1)
    maps = moment_maps(moments, size=tuple(sources.shape[-2:]))
    args.output.mkdir(parents=True, exist_ok=True)
    comparison = args.output / "comparison.png"
    labels = ["grayscale", "translation", "photo", *moment_labels(maps)]
    save_image(sample_panel([sources, outputs, photos, *maps.values()], labels), comparison)

    wandb_dir = args.run_dir / "wandb"
    print("\n[demo] done. Look at:")
    print(f"  {comparison}  (input | translation | real photo | PONO mean / std maps per encoder stage)")
    print(f"  {translated}/  (infer.py's outputs, one per test image, moment maps beside them)")
    print(f"  {args.run_dir / 'samples'}/  (the fixed sample panel over training)")
    print(f"  {checkpoint_path}  (use it with infer.py)")
    if wandb_dir.is_dir():
        print(f"  {wandb_dir}/  (the W&B run; offline runs upload with `wandb sync {wandb_dir}/offline-run-*`)")


if __name__ == "__main__":
    main()
