"""``python -m pono_gan.ablate``: the command line; it parses its flags before it imports torch."""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pono_gan.ablate import __doc__ as package_doc
from pono_gan.packaged import CONFIGS, find_config

__all__ = ["main", "variant_file", "default_layout", "contrast", "study_precision"]

TASKS = ("paired", "unpaired", "style")
DEFAULT_METRICS = ("l1", "psnr", "ssim", "content_accuracy", "shape_accuracy", "style_accuracy", "source_font",
                   "l1_random", "diversity_l1", "fd_effnet_lite0", "kid_effnet_lite0", "fid", "kid")


def variant_file(task: str, variant: str, configs: Path = CONFIGS) -> tuple[str, Path]:
    """``(name, path)`` of a variant: ``<configs>/<task>/VARIANT.yaml`` (the packaged ``configs/``), or a path to a YAML
    file (named by its stem)."""
    path = Path(variant)
    if path.suffix in (".yaml", ".yml"):
        return path.stem, path
    return variant, configs / task / f"{variant}.yaml"


def contrast(text: str, variants: Sequence[str]) -> tuple[str, str]:
    """``VARIANT:REFERENCE`` of ``--contrast`` as a pair of two of the study's variant names."""
    from pono_gan.errors import PonoGanError

    pair = tuple(text.split(":"))
    if len(pair) != 2 or not set(pair) <= set(variants) or pair[0] == pair[1]:
        raise PonoGanError(f"--contrast {text}: give VARIANT:REFERENCE, two different names of the study's variants "
                           f"({', '.join(variants)})")
    return pair


def default_layout(data: Path) -> str:
    """``fonts`` for a font benchmark (its ``fonts.json``); ``aligned`` where the data has ``test/``; ``paired`` where
    every ``testA`` file has a ``testB`` partner of the same name; else ``unpaired``."""
    if (data / "fonts.json").is_file():
        return "fonts"
    if (data / "test").is_dir():
        return "aligned"
    names = [{p.stem for p in (data / folder).rglob("*") if p.is_file()} for folder in ("testA", "testB")]
    return "paired" if names[0] and names[0] <= names[1] else "unpaired"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pono_gan.ablate", description=package_doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, required=True, help="which task's config folder the variants come from")
    p.add_argument("--data", required=True, help="the data root (trained on; its test split is scored)")
    p.add_argument("--variants", nargs="+", default=["instance", "pono_ms"],
                   help="config names in configs/<task>/ or YAML paths (default: %(default)s)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="default: %(default)s")
    p.add_argument("--steps", type=int, nargs="+", default=[1000],
                   help="training budgets in iterations (default: %(default)s)")
    p.add_argument("--config", action="append", metavar="YAML",
                   help="shared config file(s), in order, before each variant's (default: configs/<task>/base.yaml)")
    p.add_argument("--baselines", nargs="+", default=["instance", "group"],
                   help="the variants others are compared with (default: %(default)s)")
    p.add_argument("--contrast", action="append", default=[], metavar="VARIANT:REFERENCE",
                   help="also compare VARIANT with REFERENCE (repeatable); the paper's questions (PONO-MS / DMS "
                        "against pono, group_pono_ms against group, ...) are asked wherever both variants ran")
    p.add_argument("--layout", choices=("paired", "aligned", "unpaired", "fonts"),
                   help="evaluation layout (default: fonts for a font benchmark, aligned / paired where the test split "
                        "has pairs, else unpaired)")
    p.add_argument("--direction", choices=("AtoB", "BtoA"),
                   help="unpaired and style models: the direction scored (default: AtoB)")
    p.add_argument("--metrics", nargs="+", metavar="NAME", help="evaluate's metrics (default: all that can run)")
    p.add_argument("--runs", default="runs/ablate", help="run folders (default: %(default)s)")
    p.add_argument("--report", default="ablation.md", help="the markdown report to write (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="runs trained at once (default: %(default)s)")
    p.add_argument("--title", help="the report's title")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: score the runs that have finished and write the report (marked partial)")
    p.add_argument("--precision", choices=("auto", "32-true", "bf16-mixed"), default="auto",
                   help="every run's trainer.precision, the same for all (default: auto, bf16-mixed where the device "
                        "computes bfloat16 natively, whose training quality docs/precision_check.md checked against "
                        "fp32, else 32-true; the report says which)")
    p.add_argument("overrides", nargs="*", metavar="-- TRAIN_FLAG", help="flags after -- go to every train.py run")
    return p


def study_precision(name: str) -> str:
    """``auto`` -> ``bf16-mixed`` where this machine computes bfloat16 natively (a GPU that supports it, a CPU with
    AVX512-BF16 / AMX), else ``32-true``; any other name as it is. One choice for the whole study."""
    if name != "auto":
        return name
    import torch

    from pono_gan.hardware import auto_bf16

    return "bf16-mixed" if auto_bf16("cuda" if torch.cuda.is_available() else "cpu")[0] else "32-true"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from pono_gan.ablate.report import Page, default_contrasts, precision_line, render, study_figures
    from pono_gan.ablate.runner import Plan, Run, run_plan, score_references
    from pono_gan.errors import PonoGanError
    from pono_gan.models.variants import variant_label

    if any(flag.split("=")[0] == "--trainer.precision" for flag in args.overrides):
        print("ablate: error: --trainer.precision after -- would differ from what the report says; use ablate's "
              "--precision", file=sys.stderr)
        return 2
    data = Path(args.data)
    files = dict(variant_file(args.task, v) for v in args.variants)
    configs = [Path(find_config(c)) for c in args.config] if args.config else [CONFIGS / args.task / "base.yaml"]
    layout = args.layout or default_layout(data)
    direction = args.direction or (None if args.task == "paired" else "AtoB")
    report = Path(args.report)
    files_folder = report.parent / f"{report.stem}_images"  # the report's figures and its runs' archive
    plan = Plan(
        task=args.task, data=data, variant_files=files,
        runs=[Run(v, s, n) for n, s, v in itertools.product(args.steps, args.seeds, files)],
        configs=configs, runs_folder=Path(args.runs), layout=layout, direction=direction, metrics=args.metrics,
        jobs=max(1, args.jobs), group=f"ablate-{args.task}-{data.name}", overrides=list(args.overrides),
        precision=study_precision(args.precision),
        archive=files_folder / "runs.json",
    )
    command = "python -m pono_gan.ablate " + " ".join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    try:
        if not data.is_dir():
            raise PonoGanError(f"data root {data} not found; pass --data with a folder in one of the layouts of "
                               "datasets/README.md")
        contrasts = default_contrasts(list(files)) + [contrast(text, files) for text in args.contrast]
        records = run_plan(plan, log=lambda line: print(f"[ablate {time.strftime('%H:%M:%S')}] {line}", flush=True),
                           train=not args.report_only)
        figures = study_figures(plan, records, files_folder)
        setup = (f"- **Task:** `{args.task}`; shared configs: {', '.join(f'`{c}`' for c in configs)}; variant files: "
                 + ", ".join(f"{variant_label(v)} `{p}`" for v, p in files.items()) + ".\n"
                 f"- **Data:** `{data}`, scored on its test split in the `{layout}` layout"
                 + (f", direction {direction}" if direction else "") + " with `pono_gan.evaluate`.\n"
                 f"{precision_line(plan)}\n"
                 "- **Statistics:** each cell is the mean over seeds +- the standard deviation across seeds; "
                 "differences are variant minus the best baseline with Welch's 95% t interval over seeds, "
                 "beyond noise only where it excludes zero.")
        page = Page(args.metrics or DEFAULT_METRICS, args.baselines, args.title or f"Ablation: {args.task} on "
                    f"{data.name}", command, setup, figures, f"{report.stem}_images/", time.perf_counter() - start,
                    contrasts=list(dict.fromkeys(contrasts)), references=score_references(plan))
        text = render(plan, records, page)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text)
        from pono_gan.evaluate.wandb_table import log_study

        log_study(records, args.metrics or DEFAULT_METRICS, plan.group, plan.runs_folder)
    except PonoGanError as error:
        print(f"ablate: error: {error}", file=sys.stderr)
        return 2
    print(f"ablate: wrote {report}")
    return 0
