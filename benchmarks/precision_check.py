"""Does bf16 train as well as fp32 on this machine? The paired and unpaired glyph studies' IN and PONO-MS (and with
``--tasks fonts_kai`` the style study's), trained in fp32 (``32-true``) and in ``bf16-mixed`` at the same budget
over the same seeds, scored as the studies score them;
each metric's bf16 - fp32 difference with Welch's 95% interval over seeds, and the training CPU time of each
precision measured in the same runs (issue 24: the studies use bf16 only where this check passes).

    python benchmarks/precision_check.py                   # both tasks, IN and PONO-MS, seeds 0-2, 600 iterations
    python benchmarks/precision_check.py --tasks paired --seeds 0 1 --steps 100 --report /tmp/check.md
    python benchmarks/precision_check.py --tasks fonts_kai   # the style study's, 2,000 iterations: its own report

Every run is a resumable ``train.py fit`` in ``RUNS/TASK/PRECISION/VARIANT/stepsN/seedS`` (a killed check resumes);
bf16 on a CPU without AVX512-BF16 / AMX is emulated and far slower, so the check says so and stops there unless
``--anyway``. "Passes" means no interval of any metric excludes zero: no difference found at that many seeds, not a
proof of none (exit status 0; 1 where it does not pass).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import PRESETS, absolute, default_data, prepare_data, preset_plan  # noqa: E402

from pono_gan.ablate.report import LABELS  # noqa: E402
from pono_gan.ablate.runner import Run, run_plan  # noqa: E402
from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.evaluate.stats import mean_std, welch_interval  # noqa: E402
from pono_gan.hardware import auto_bf16  # noqa: E402
from pono_gan.models.variants import variant_label  # noqa: E402

PRECISIONS = ("32-true", "bf16-mixed")


def compare(fp32: list[dict], bf16: list[dict], metrics: tuple[str, ...]) -> tuple[list[str], bool]:
    """Table rows (variant, metric, fp32 mean, bf16 mean, difference [interval]) and whether every interval holds 0."""
    rows, passes = [], True
    for variant in dict.fromkeys(record["variant"] for record in fp32):
        for metric in metrics:
            a = [r["values"][metric] for r in bf16 if r["variant"] == variant and metric in r["values"]]
            b = [r["values"][metric] for r in fp32 if r["variant"] == variant and metric in r["values"]]
            if not a or not b:
                continue
            c = welch_interval(a, b)
            passes &= not c.beyond_noise
            rows.append(f"| {variant_label(variant)} | {LABELS.get(metric, (metric,))[0]} | {mean_std(b)[0]:.4f} | "
                        f"{mean_std(a)[0]:.4f} | {c.difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}]"
                        f"{' **beyond noise**' if c.beyond_noise else ''} |")
    return rows, passes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=("paired", "unpaired", "fonts_kai"),
                        default=["paired", "unpaired"],
                        help="the studies checked (default: %(default)s; fonts_kai: the style study, Song -> Kai)")
    parser.add_argument("--variants", nargs="+", default=["instance", "pono_ms"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int,
                        help="iterations of every run (default: each study's budget: 600 for the glyph studies)")
    parser.add_argument("--data", help="the data, built if missing (default: each study's, as benchmarks/ablation.py "
                                       "builds it); only for tasks that share their data")
    parser.add_argument("--runs", default="runs/precision_check", help="run folders (default: %(default)s)")
    parser.add_argument("--report", help="the markdown written (default: docs/precision_check.md; "
                                         "docs/precision_check_style.md for --tasks fonts_kai alone)")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default: %(default)s)")
    parser.add_argument("--anyway", action="store_true", help="run bf16 even where the CPU emulates it")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < 2:
        parser.error("--seeds: give at least 2 seeds (an interval over one seed says nothing)")
    if args.data and len({default_data(PRESETS[task]) for task in args.tasks}) > 1:
        parser.error("--data: the glyph studies and fonts_kai train on different data; check them one at a time")
    native, why = auto_bf16("cuda" if torch.cuda.is_available() else "cpu")
    if not native and not args.anyway:
        print("precision_check: this machine has no native bfloat16 (no AVX512-BF16 / AMX, no bf16 GPU): bf16 would "
              "be emulated here, so there is nothing to gain; run it where bf16 is native (or pass --anyway)")
        return 0
    command = "python benchmarks/precision_check.py " + " ".join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    sections, passes_all = [], True
    try:
        for task in args.tasks:
            preset = PRESETS[task]
            data = prepare_data(preset, args.data)
            steps = preset.steps if args.steps is None else args.steps
            runs = [Run(variant, seed, steps) for variant in args.variants for seed in args.seeds]
            records = {}
            for precision in PRECISIONS:
                plan = preset_plan(preset, data, runs, absolute(args.runs) / task / precision, args.jobs, precision)
                log = lambda line, t=task, p=precision: print(f"[precision_check {t} {p}] {line}", flush=True)  # noqa: E731
                records[precision] = run_plan(plan, log=log)
            rows, passes = compare(records["32-true"], records["bf16-mixed"], preset.metrics)
            passes_all &= passes
            cpu = {p: sum(r.get("cpu_seconds") or 0 for r in records[p]) for p in PRECISIONS}
            sections += [f"## {task}: {len(args.seeds)} seeds, {steps} iterations", "",
                         f"Training CPU time: fp32 {cpu['32-true'] / 60:.1f} min, "
                         f"bf16 {cpu['bf16-mixed'] / 60:.1f} min "
                         f"(fp32 / bf16 = {cpu['32-true'] / max(cpu['bf16-mixed'], 1e-9):.2f}x). "
                         + ("Every difference is within noise." if passes
                            else "**Some differences are beyond noise.**"),
                         "", "| variant | metric | fp32 | bf16 | bf16 - fp32 [95% interval] |", "|---|---|---|---|---|",
                         *rows, ""]
    except PonoGanError as error:
        parser.exit(2, f"precision_check: error: {error}\n")
    verdict = ("**Passes:** bf16-mixed trains as well as fp32 within noise on every metric of every task checked."
               if passes_all else "**Does not pass:** at least one metric differs beyond noise; keep fp32 for studies.")
    text = "\n".join([
        "# bf16 against fp32: the training quality check", "",
        f"Measured by `{command}` on {time.strftime('%Y-%m-%d')}: {platform.processor() or platform.machine()}, "
        f"{why}, torch {torch.__version__}, {(time.perf_counter() - start) / 60:.0f} minutes "
        "of wall time. Each row: the mean over seeds in each precision, and bf16 minus fp32 with Welch's 95% interval "
        "over seeds (beyond noise only where it excludes zero).", "", verdict, "", *sections])
    report = absolute(args.report or ("docs/precision_check_style.md" if args.tasks == ["fonts_kai"]
                                      else "docs/precision_check.md"))
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text)
    print(f"precision_check: {verdict}\nprecision_check: wrote {report}")
    return 0 if passes_all else 1


if __name__ == "__main__":
    sys.exit(main())
