"""Evaluate a checkpoint on a held-out split with paired metrics; writes a per-image CSV and a summary JSON.

    python -m pono_gan.evaluate --checkpoint runs/demo/checkpoints/last.ckpt            # the data it trained on
    python -m pono_gan.evaluate --checkpoint last.ckpt --data data/facades --layout aligned --split val
    python -m pono_gan.evaluate --checkpoint cyclegan.ckpt --direction AtoB --data data/paired_test

Each input is translated at its own resolution exactly as ``infer.py`` does (padded to the generator's multiple,
cropped back) and compared with its target in [0, 1]: L1 (mean absolute error), PSNR in dB (one value per image,
then the mean: kornia's psnr would pool the whole batch) and SSIM (11 x 11 Gaussian window, averaged over the
image). Needs ground-truth pairs: layout ``paired`` (``testA/`` + ``testB/`` with matching names) or
``aligned``. Outputs: ``OUTPUT/per_image.csv`` (input, target, l1, psnr, ssim) and ``OUTPUT/summary.json``
(mean and standard deviation of each metric, the count, the checkpoint and the data).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from pono_gan.data.datasets import make_dataset
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError, PonoGanError
from pono_gan.inference import Model, Translator, load_model, resolve_device
from pono_gan.metrics import paired_metrics
from pono_gan.viz import to_unit_range

__all__ = ["evaluate", "main"]

METRICS = ("l1", "psnr", "ssim")


def evaluate(
    model: Model,
    root: str | Path,
    layout: str = "paired",
    split: str = "test",
    output: str | Path | None = None,
    device: str = "auto",
    limit: int | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Score ``model`` on ``root``'s ``split``; returns the summary (also written under ``output`` when given).

    Raises:
        DataError / MissingPathError: no ground truth (unpaired layout), missing folders, unmatched pairs.
    """
    if layout not in ("paired", "aligned"):
        raise DataError(f"evaluate needs ground-truth pairs: layout 'paired' or 'aligned', not {layout!r}")
    config = model.config
    dataset = make_dataset(
        root, layout, split, preprocessing=Preprocessing("none", size_multiple=1), direction=model.direction,
        channels=(config.in_channels, config.out_channels), train=False, limit=limit,
    )
    translator = Translator(model.generator, resolve_device(device))
    rows = []
    with torch.inference_mode():
        for sample in DataLoader(dataset, batch_size=None, num_workers=workers if len(dataset) > 1 else 0):
            prediction, _ = translator(to_unit_range(sample["A"][None]))
            scores = paired_metrics(prediction, to_unit_range(sample["B"][None]))
            rows.append({"input": sample["A_path"], "target": sample["B_path"], **{k: scores[k].item() for k in METRICS}})
    values = torch.tensor([[row[k] for k in METRICS] for row in rows], dtype=torch.float64)
    summary = {
        "checkpoint": str(model.path),
        "direction": model.direction,
        "data": str(root),
        "layout": layout,
        "split": split,
        "count": len(rows),
        "metrics": {
            name: {"mean": values[:, i].mean().item(), "std": values[:, i].std(unbiased=False).item()}
            for i, name in enumerate(METRICS)
        },
    }
    if output is not None:
        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        with open(output / "per_image.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["input", "target", *METRICS])
            writer.writeheader()
            writer.writerows(rows)
        (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a .ckpt written by train.py")
    parser.add_argument("--data", help="data root (default: the one the checkpoint was trained on)")
    parser.add_argument("--layout", choices=("paired", "aligned"), help="default: the training layout, or paired")
    parser.add_argument("--split", default="test", help="test | val | train (default: %(default)s)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), help="unpaired checkpoints: which generator")
    parser.add_argument("--output", help="folder for per_image.csv and summary.json (default: beside the checkpoint)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="score only the first N pairs")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.checkpoint, args.direction)
        trained = model.data
        root = args.data or trained.get("root")
        if root is None:
            raise DataError(f"{args.checkpoint}: does not record its data root; pass --data")
        layout = args.layout or (trained.get("layout") if trained.get("layout") in ("paired", "aligned") else "paired")
        output = Path(args.output) if args.output else Path(args.checkpoint).resolve().parent.parent / f"eval_{args.split}"
        summary = evaluate(model, root, layout, args.split, output, args.device, args.limit)
    except PonoGanError as error:
        sys.exit(f"evaluate: error: {error}")
    metrics = ", ".join(f"{name} {v['mean']:.4f} +- {v['std']:.4f}" for name, v in summary["metrics"].items())
    print(f"{summary['count']} pairs from {root} ({args.split}): {metrics} -> {output}")
    return summary


if __name__ == "__main__":
    main()
