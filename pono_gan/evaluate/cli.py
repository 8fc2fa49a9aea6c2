"""``python -m pono_gan.evaluate``: the command line; it parses its flags before it imports torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pono_gan.evaluate import __doc__ as package_doc
from pono_gan.evaluate.names import LAYOUTS, METRICS

__all__ = ["main"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _default_layout(model, root, trained: dict[str, Any]) -> str:
    """``fonts`` for a style model on a font benchmark, else the training layout (``paired`` if it has none)."""
    from pono_gan.evaluate.fonts import is_benchmark

    if model.styled and is_benchmark(root):
        return "fonts"
    return trained.get("layout") if trained.get("layout") in LAYOUTS else "paired"


def _slug(label: str) -> str:
    return label.replace(" ", "_")


def _without_style(metrics: list[str] | None) -> list[str] | None:
    """``metrics`` less those that score style models only (a reference has no style)."""
    from pono_gan.errors import DataError
    from pono_gan.evaluate.names import STYLE_METRICS

    if metrics is None:
        return None
    plain = [name for name in metrics if name not in STYLE_METRICS]
    if not plain:
        raise DataError(f"--references: {', '.join(metrics)}: only for style models, and doing nothing has "
                        "no style; add a metric such as l1 or fd_effnet_lite0")
    return plain


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.evaluate", description=package_doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a .ckpt written by train.py")
    parser.add_argument("--data", help="data root (default: the one the checkpoint was trained on)")
    parser.add_argument("--layout", choices=LAYOUTS, help="default: the training layout")
    parser.add_argument("--split", default="test", help="test | val | train (default: %(default)s)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), help="unpaired checkpoints: which generator")
    parser.add_argument("--output", help="folder for per_image.csv and summary.json (default: beside the checkpoint)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="score only the first N samples")
    parser.add_argument("--metrics", nargs="+", metavar="NAME",
                        help=f"any of {', '.join(METRICS)} (default: all that can run; FID / KID only with their "
                             "weights)")
    parser.add_argument("--inception-weights", metavar="PATH",
                        help="the FID / KID Inception weights (default: $PONO_GAN_INCEPTION_WEIGHTS, then torch hub's "
                             "checkpoints folder)")
    parser.add_argument("--batch-size", type=_positive, default=32,
                        help="images per feature batch (default: %(default)s)")
    parser.add_argument("--num-styles", type=_positive, default=3,
                        help="style models: random styles per input for l1_random and diversity_l1 "
                             "(default: %(default)s)")
    parser.add_argument("--train-mode", action="store_true",
                        help="translate with the generator in training mode (batch norm on each image's statistics, "
                             "dropout on), as junyanz's test.py without --eval")
    parser.add_argument("--references", action="store_true",
                        help="also score doing nothing on the same images, the input unchanged and a constant image of "
                             "the targets' median colour (OUTPUT/references/): what the model's numbers must beat")
    parser.add_argument("--wandb", action="store_true",
                        help="also log a W&B table (input, output, target, moment maps and metrics per image) into the "
                             "checkpoint's run (offline without a login; `wandb sync` uploads it)")
    parser.add_argument("--wandb-rows", type=_positive, default=64,
                        help="images in the W&B table (default: %(default)s)")
    parser.add_argument("--wandb-project", default="pono-gan", help="W&B project (default: %(default)s)")
    return parser


def _scoring(args: argparse.Namespace, metrics: list[str] | None):
    """The flags' :class:`pono_gan.evaluate.core.Scoring` with ``metrics``."""
    from pono_gan.evaluate.core import Scoring

    return Scoring(metrics=metrics, limit=args.limit, device=args.device, batch_size=args.batch_size,
                   num_styles=args.num_styles, inception_weights=args.inception_weights, train_mode=args.train_mode)


def _references(args: argparse.Namespace, model, root, layout: str, output: Path,
                metrics: list[str] | None) -> dict[str, dict[str, Any]]:
    """Doing nothing scored on the same images: the font benchmark's three references, or elsewhere the input
    unchanged and a constant image, by label."""
    from pono_gan.evaluate.core import evaluate

    if layout == "fonts":
        from pono_gan.evaluate.fonts import REFERENCES, evaluate_fonts

        plain = _scoring(args, _without_style(metrics))
        return {label: evaluate_fonts(render, root, args.split, output / "references" / _slug(label), plain)
                for label, render in REFERENCES.items()}
    from pono_gan.evaluate.references import REFERENCES, reference_models

    plain = _scoring(args, _without_style(metrics))
    return {label: evaluate(reference, root, layout, args.split, output / "references" / REFERENCES[label], plain)
            for label, reference in reference_models(model, root, layout, args.split).items()}


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], str, str, Path]:
    """Evaluate as ``args`` say: ``(summary, data root, layout, output folder)``."""
    from pono_gan.errors import DataError, MissingPathError
    from pono_gan.evaluate.core import evaluate
    from pono_gan.inference import load_model

    model = load_model(args.checkpoint, args.direction)
    trained = model.data
    root = args.data or trained.get("root")
    if root is None:
        raise DataError(f"{args.checkpoint}: does not record its data root; pass --data")
    if not Path(root).is_dir():  # before the layout and the metrics, which would otherwise speak of a folder's layout
        raise MissingPathError(f"data folder not found: {root} (pass --data with the folder to score on)")
    layout = args.layout or _default_layout(model, root, trained)
    output = Path(args.output) if args.output else Path(args.checkpoint).resolve().parent.parent / f"eval_{args.split}"
    metrics = [name for value in args.metrics for name in value.split(",") if name] if args.metrics else None
    gallery: list | None = [] if args.wandb else None
    summary = evaluate(model, root, layout, args.split, output, _scoring(args, metrics), gallery, args.wandb_rows)
    if args.references:
        summary["references"] = _references(args, model, root, layout, output, metrics)
    if gallery is not None:
        from pono_gan.evaluate.wandb_table import log_evaluation

        run_id = log_evaluation(model, summary, gallery, args.split, args.wandb_project)
        print(f"evaluate: logged the table to W&B run {run_id}", file=sys.stderr)
    return summary, root, layout, output


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    # torch, the models and the metrics load only now, so --help and flag errors answer at once
    from pono_gan.errors import PonoGanError
    from pono_gan.evaluate.core import describe
    from pono_gan.inference import InferenceError

    try:
        summary, root, layout, output = _run(args)
    except (PonoGanError, InferenceError) as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        sys.exit(2)  # as train.py and infer.py: 2 is a usage / input error
    reasons = {}
    for name, reason in summary["skipped"].items():
        reasons.setdefault(reason, []).append(name)
    for reason, names in reasons.items():
        print(f"evaluate: skipped {', '.join(names)}: {reason}", file=sys.stderr)
    what = f"{summary['count']} pairs" if layout != "unpaired" else f"{summary['count']} inputs"
    print(f"{what} from {root} ({args.split}): {describe(summary)} -> {output}")
    for label, reference in summary.get("references", {}).items():
        print(f"  doing nothing, {label}: {describe(reference)}")
    return summary
