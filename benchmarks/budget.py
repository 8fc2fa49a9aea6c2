"""Find the budget at which a run has learned: score each periodic checkpoint of one training run against the
references and the learning gates of ``python -m pono_gan.ablate`` (a pilot before a study).

    python train.py fit --config configs/style/base.yaml --config configs/ablation/fonts_style.yaml \\
        --config configs/style/instance.yaml --data.root data/fonts --trainer.max_steps 8000 \\
        --model.init_args.optimizer.schedule constant --checkpoint.every_n_train_steps 1000 \\
        --trainer.default_root_dir runs/pilot/instance
    python benchmarks/budget.py --run runs/pilot/instance --data data/fonts --limit 64 --report runs/pilot/instance.md

Each ``checkpoints/step*.ckpt`` is scored by ``pono_gan.evaluate`` (the font benchmark's protocol on a font
benchmark, else the layout it trained on); its discriminators' verdict is the one its checkpoint keeps (over the
50 steps before it). A run trained at a constant learning rate stands in for runs at each budget (whose rate
would decay over their last third): a pilot's approximation, said in the report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pono_gan.ablate.report import GATE_METRICS, LABELS, health_label, passes_gates  # noqa: E402
from pono_gan.ablate.runner import reference_scores, summary_values  # noqa: E402
from pono_gan.checkpoint import read_checkpoint  # noqa: E402
from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.evaluate import Scoring, evaluate  # noqa: E402
from pono_gan.evaluate.fonts import is_benchmark  # noqa: E402
from pono_gan.inference import load_model  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a training run's folder (its checkpoints/step*.ckpt are scored)")
    parser.add_argument("--data", required=True, help="the data it trained on (its test split is scored)")
    parser.add_argument("--direction", default="AtoB", help="unpaired and style models: the direction (default: AtoB)")
    parser.add_argument("--limit", type=int,
                        help="score only the first N test samples (characters on a font benchmark)")
    parser.add_argument("--metrics", nargs="+", help="evaluate's metrics (default: the gates' and l1, ssim, diversity)")
    parser.add_argument("--report", help="also write the table as markdown here")
    args = parser.parse_args(argv)
    run, data = Path(args.run), Path(args.data)
    checkpoints = sorted((run / "checkpoints").glob("step*.ckpt"))
    try:
        if not checkpoints:
            raise PonoGanError(f"no checkpoints/step*.ckpt under {run}; train with --checkpoint.every_n_train_steps")
        first = load_model(checkpoints[0], args.direction)
        layout = "fonts" if first.styled and is_benchmark(data) else first.data.get("layout", "paired")
        gates = GATE_METRICS.get(layout, ())
        styled = ("diversity_l1",) if first.styled else ()
        metrics = args.metrics or list(dict.fromkeys(("l1", "ssim", *gates, *styled)))
        references = reference_scores(data, layout, metrics, checkpoints[0], args.direction, args.limit)
        rows = []
        for checkpoint in checkpoints:
            start = time.perf_counter()
            model = load_model(checkpoint, args.direction)
            values = summary_values(evaluate(model, data, layout, "test",
                                             scoring=Scoring(limit=args.limit, workers=0, metrics=metrics)))
            saved = read_checkpoint(checkpoint)
            record = {"values": values, "discriminators": saved["pono_gan"].get("discriminators")}
            steps = int(saved["global_step"])
            rows.append((steps, record))
            scores = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
            print(f"[budget] {checkpoint.name}: {steps} iterations, {scores} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    except PonoGanError as error:
        parser.exit(2, f"budget: error: {error}\n")
    text = _table(rows, references, metrics, gates, " ".join(argv if argv is not None else sys.argv[1:]))
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


def _table(rows, references, metrics, gates, command: str) -> str:
    names = [m for m in metrics if all(m in record["values"] for _, record in rows)]
    lines = [f"Measured by `python benchmarks/budget.py {command}` on {time.strftime('%Y-%m-%d')}: one run at a "
             "constant learning rate, scored at each periodic checkpoint (a run at each budget would decay its rate "
             "over its last third).", "",
             "| iterations | discriminators | " + " | ".join(LABELS.get(m, (m,))[0] for m in names) + " | learned |",
             "|---" * (len(names) + 3) + "|"]
    for label, values in references.items():
        lines.append(f"| {label} | | " + " | ".join(f"{values[m]:.4f}" if m in values else "-" for m in names) + " | |")
    for steps, record in rows:
        alive = health_label(record)
        learned = "**yes**" if passes_gates(record, references, gates) else "no"
        cells = " | ".join(f"{record['values'][m]:.4f}" for m in names)
        lines.append(f"| {steps} | {alive} | {cells} | {learned} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
