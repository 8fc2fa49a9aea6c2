"""A study's markdown report: results per budget, per-seed values, differences with 95% intervals, pictures.

"Beyond noise" is said of a difference only when its 95% Welch interval over seeds excludes zero
(:func:`pono_gan.evaluate.stats.welch_interval`); each variant is compared with the best baseline of each metric.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pono_gan.evaluate.stats import Comparison, mean_std, welch_interval
from pono_gan.models.variants import variant_label

__all__ = ["GATE_METRICS", "LABELS", "QUESTIONS", "Results", "learned_baselines",
           "discriminators_alive", "gates_section", "health_label", "passes_gates", "results_tables",
           "best_baseline", "comparison_rows", "comparison_section", "contrast_rows", "default_contrasts",
           "contrast_section", "budget_section", "sample_budget", "cost_line", "study_figures", "Page", "render",
           "precision_line"]

#: metric -> (label, higher is better)
LABELS = {
    "l1": ("L1", False), "psnr": ("PSNR (dB)", True), "ssim": ("SSIM", True),
    "fd_effnet_lite0": ("FD-EffNet", False), "kid_effnet_lite0": ("KID-EffNet", False),
    "fid": ("FID", False), "kid": ("KID", False),
    "l1_random": ("L1, random styles", False), "diversity_l1": ("diversity (pairwise L1)", True),
    "content_accuracy": ("content accuracy", True), "shape_accuracy": ("shape accuracy", True),
    "style_accuracy": ("style accuracy", True),
    "source_font": ("nearest to the source font", False),
}
#: the questions the paper's claims raise, as (variant, reference, question); each is asked where both ran
QUESTIONS = (
    ("pono_ms", "pono", "Is it the re-injection of the moments, not the normalization alone?"),
    ("pono_dms", "pono", "Is it the re-injection of the moments, not the normalization alone?"),
    ("group_pono_ms", "group", "Does PONO-MS add to the norm it is combined with (here GroupNorm)?"),
    ("pono_ms_official", "pono_ms", "Does the official code's layout differ from pono-gan's?"),
    ("pono_ms", "pono_ms_no_moment_loss", "Does the official trainer's moment loss matter?"),
    ("pono_ms_std", "pono_ms", "Does re-injecting the std alone (no mean) change PONO-MS?"),
    ("pono_ms_shared", "instance_shared", "With one content encoder for both domains, does PONO-MS beat IN?"),
    ("pono_ms_shared", "pono_ms", "Does one content encoder for both domains change PONO-MS?"),
    ("instance_shared", "instance", "Does sharing the content encoder change the IN baseline?"),
)


def _digits(metric: str) -> int:
    return 2 if metric in ("psnr", "fd_effnet_lite0", "fid") else 4


@dataclass
class Results:
    """The records of one budget: variant -> its runs' records (each with ``seed``, ``values``, ``parameters``)."""

    steps: int
    runs: dict[str, list[dict]]

    def values(self, variant: str, metric: str) -> list[float]:
        return [record["values"][metric] for record in self.runs[variant]]

    def metrics(self, wanted: Sequence[str]) -> list[str]:
        """The metrics of ``wanted`` that every run has."""
        return [m for m in wanted if all(m in r["values"] for runs in self.runs.values() for r in runs)]

    @staticmethod
    def by_budget(records: Sequence[dict], variants: Sequence[str]) -> list[Results]:
        budgets = sorted({record["steps"] for record in records})
        return [
            Results(steps, {v: sorted((r for r in records if r["steps"] == steps and r["variant"] == v),
                                      key=lambda r: r["seed"])
                            for v in variants if any(r["steps"] == steps and r["variant"] == v for r in records)})
            for steps in budgets
        ]


def results_tables(results: Results, metrics: Sequence[str]) -> tuple[list[str], list[str]]:
    """The table (mean +- std over seeds, the number of seeds, the best mean in bold, generator parameters) and the
    per-seed table."""
    names = results.metrics(metrics)
    header = "| variant | seeds | " + " | ".join(
        f"{LABELS.get(m, (m, False))[0]} ({'higher' if LABELS.get(m, (m, False))[1] else 'lower'} is better)"
        for m in names
    ) + " | generator parameters |"
    lines = [header, "|---" * (len(names) + 3) + "|"]
    best = {}
    for metric in names:
        means = {v: mean_std(results.values(v, metric))[0] for v in results.runs}
        best[metric] = (max if LABELS.get(metric, (metric, False))[1] else min)(means, key=means.get)
    for variant, runs in results.runs.items():
        cells = []
        for metric in names:
            mean, std = mean_std(results.values(variant, metric))
            cell = f"{mean:.{_digits(metric)}f} +- {std:.{_digits(metric)}f}"
            cells.append(f"**{cell}**" if best[metric] == variant and len(results.runs) > 1 else cell)
        lines.append(
            f"| {variant_label(variant)} | {len(runs)} | " + " | ".join(cells) + f" | {runs[0]['parameters']:,} |"
        )
    per_seed = ["| variant | seed | " + " | ".join(LABELS.get(m, (m,))[0] for m in names) + " |",
                "|---" * (len(names) + 2) + "|"]
    for variant, runs in results.runs.items():
        for r in runs:
            per_seed.append(f"| {variant_label(variant)} | {r['seed']} | "
                            + " | ".join(f"{r['values'][m]:.4f}" for m in names) + " |")
    return lines, per_seed


def best_baseline(results: Results, metric: str, baselines: Sequence[str]) -> str | None:
    """The baseline with the best mean on ``metric`` among those in ``results``."""
    present = [b for b in baselines if b in results.runs]
    if not present:
        return None
    higher = LABELS.get(metric, (metric, False))[1]
    return (max if higher else min)(present, key=lambda b: mean_std(results.values(b, metric))[0])


def comparison_rows(results: Results, metrics: Sequence[str], baselines: Sequence[str],
                    learned: Sequence[str] | None = None) -> list[tuple[str, str, str, Comparison]]:
    """``(metric, variant, baseline, comparison)`` for every non-baseline variant against the best baseline of each
    metric (``variant - baseline``, 95% Welch interval), the best among ``learned`` where given (the baselines that
    passed the learning gates: one that did not is no yardstick, however good its mean on another metric)."""
    rows = []
    for metric in results.metrics(metrics):
        base = best_baseline(results, metric, baselines if learned is None else learned)
        if base is None:
            continue
        for variant in results.runs:
            if variant not in baselines:
                rows.append((metric, variant, base,
                             welch_interval(results.values(variant, metric), results.values(base, metric))))
    return rows


def contrast_rows(results: Results, metrics: Sequence[str],
                  contrasts: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, Comparison]]:
    """``(metric, variant, reference, comparison)`` for each ``(variant, reference)`` pair of ``contrasts`` that both
    ran at this budget (``variant - reference``, 95% Welch interval)."""
    pairs = [(v, r) for v, r in contrasts if v in results.runs and r in results.runs]
    return [(metric, v, r, welch_interval(results.values(v, metric), results.values(r, metric)))
            for v, r in pairs for metric in results.metrics(metrics)]


def default_contrasts(variants: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs of :data:`QUESTIONS` whose two variants are both in ``variants``."""
    return [(v, r) for v, r, _ in QUESTIONS if v in variants and r in variants]


def _verdict(metric: str, comparison: Comparison) -> str:
    if not comparison.defined:
        return "no interval (fewer than 2 seeds)"
    if not comparison.beyond_noise:
        return "within noise"
    higher = LABELS.get(metric, (metric, False))[1]
    return "**better, beyond noise**" if (comparison.difference > 0) == higher else "**worse, beyond noise**"


def _interval(metric: str, comparison: Comparison) -> str:
    d = _digits(metric)
    if not comparison.defined:
        return "-"
    return f"[{comparison.low:+.{d}f}, {comparison.high:+.{d}f}]"


def comparison_section(results: Results, metrics: Sequence[str], baselines: Sequence[str],
                       learned: Sequence[str] | None = None) -> str:
    """The differences table (:func:`comparison_rows`) and one sentence that counts what is beyond noise."""
    rows = comparison_rows(results, metrics, baselines, learned)
    if not rows:
        return "No baseline ran at this budget, so there is nothing to compare against."
    which = "each baseline is the better of the baselines on that metric."
    failed = [b for b in baselines if b in results.runs and learned is not None and b not in learned]
    if failed:
        passed = ", ".join(variant_label(b) for b in learned)
        which = (f"each baseline is the better on that metric of those that passed the learning gates ({passed}; "
                 f"not {', '.join(variant_label(b) for b in failed)}).")
    return _differences(rows, "baseline", which)


def contrast_section(results: Results, metrics: Sequence[str], contrasts: Sequence[tuple[str, str]]) -> str:
    """The specific comparisons (:func:`contrast_rows`): each pair's question where it is one of
    :data:`QUESTIONS`, then the differences table; empty where no pair ran at this budget."""
    rows = contrast_rows(results, metrics, contrasts)
    if not rows:
        return ""
    asked = dict.fromkeys((v, r) for _, v, r, _ in rows)
    questions = {(v, r): q for v, r, q in QUESTIONS}
    lines = [f"- {variant_label(v)} against {variant_label(r)}"
             + (f": {questions[v, r]}" if (v, r) in questions else "")
             for v, r in asked]
    return "\n".join(lines) + "\n\n" + _differences(rows, "reference", "the reference is the one each row names.")


def _differences(rows: list[tuple[str, str, str, Comparison]], against: str, which: str) -> str:
    """A table of differences with their intervals and verdicts, and one sentence that counts them; ``against``
    names what the variants are compared with (``baseline`` or ``reference``), ``which`` how it was chosen."""
    lines = ["| metric | variant | against | difference | 95% interval | verdict |", "|---|---|---|---|---|---|"]
    for metric, variant, base, comparison in rows:
        lines.append(
            f"| {LABELS.get(metric, (metric,))[0]} | {variant_label(variant)} | {variant_label(base)} | "
            f"{comparison.difference:+.{_digits(metric)}f} | {_interval(metric, comparison)} | "
            f"{_verdict(metric, comparison)} |"
        )
    verdicts = [_verdict(metric, comparison) for metric, _, _, comparison in rows]
    better, worse = sum("better" in v for v in verdicts), sum("worse" in v for v in verdicts)
    lines.append("")
    lines.append(
        f"Of these {len(rows)} comparisons, {better} favour the variant beyond noise, {worse} favour the {against} "
        f"beyond noise and {len(rows) - better - worse} are within noise (their 95% interval holds zero). The "
        f"difference is variant minus {against}; {which}"
    )
    return "\n".join(lines)


def budget_section(all_results: Sequence[Results], metrics: Sequence[str], baselines: Sequence[str]) -> str:
    """For variants trained at several budgets: the difference against the same baseline at each budget."""
    if len(all_results) < 2:
        return ""
    lines = ["| metric | variant | against | " + " | ".join(f"{r.steps} iterations" for r in all_results) + " |",
             "|---" * (3 + len(all_results)) + "|"]
    last = all_results[-1]
    for metric in last.metrics(metrics):
        base = best_baseline(last, metric, baselines)
        if base is None:
            continue
        for variant in last.runs:
            if variant in baselines or not all(variant in r.runs and base in r.runs for r in all_results):
                continue
            cells = []
            for r in all_results:
                c = welch_interval(r.values(variant, metric), r.values(base, metric))
                cells.append(f"{c.difference:+.{_digits(metric)}f} {_interval(metric, c)}")
            lines.append(f"| {LABELS.get(metric, (metric,))[0]} | {variant_label(variant)} | {variant_label(base)} | "
                         + " | ".join(cells) + " |")
    if len(lines) == 2:
        return ""
    return "\n".join(lines)


def run_cpu_seconds(record: dict) -> float:
    """A run's training CPU seconds: the measured user + system time (run time x threads for records from before
    it was measured), scaled up to the whole run where the last leg resumed from a checkpoint (the earlier legs,
    killed, left no measure)."""
    seconds = record["cpu_seconds"] if "cpu_seconds" in record else record["seconds"] * record.get("threads", 1)
    done = record.get("resumed_from", 0)
    return seconds * record["steps"] / (record["steps"] - done) if 0 < done < record["steps"] else seconds


def cost_line(records: Sequence[dict], wall_seconds: float | None = None) -> str:
    """How many runs, iterations and CPU minutes stand behind the numbers, and how the minutes were had."""
    iterations = sum(r["steps"] for r in records)
    cpu_minutes = sum(run_cpu_seconds(r) for r in records) / 60
    measured = sum("cpu_seconds" in r for r in records)
    if measured == len(records):
        how = "user + system time of the training processes"
    elif measured:
        how = (f"user + system time of the training processes for {measured} runs, run time x threads for the "
               f"{len(records) - measured} trained before it was measured")
    else:
        how = "run time x threads"
    resumed = sum(0 < r.get("resumed_from", 0) < r["steps"] for r in records)
    if resumed:
        how += (f"; {resumed} run{'s' if resumed > 1 else ''} resumed from a checkpoint, "
                f"{'their' if resumed > 1 else 'its'} last leg scaled to the whole run")
    wall = (f"; this command ran {wall_seconds / 60:.1f} minutes (runs already finished are reused)"
            if wall_seconds else "")
    machines = Counter(r["machine"] for r in records if "machine" in r)
    where = ""
    if machines:
        where = "; where they trained: " + ", ".join(f"{n} runs on {name}" for name, n in machines.most_common())
        if sum(machines.values()) < len(records):
            where += f", {len(records) - sum(machines.values())} runs on a machine not recorded"
    return (f"{len(records)} runs, {iterations:,} training iterations in all, {cpu_minutes:.1f} CPU minutes of "
            f"training ({how}) on {os.cpu_count()} cores{wall}{where}")


def sample_budget(records: Sequence[dict]) -> int:
    """The budget the sample grid shows: the one most variants ran (the largest of those)."""
    variants = {steps: {r["variant"] for r in records if r["steps"] == steps}
                for steps in {r["steps"] for r in records}}
    return max(variants, key=lambda steps: (len(variants[steps]), steps))


def study_figures(plan, records: Sequence[dict], folder: Path, count: int = 8) -> tuple[str | None, str | None]:
    """A labelled sample grid (input, target where the layout has one, then each variant's output at the first
    seed of :func:`sample_budget`) and the PONO moment maps of the first variant with PONO. Returns the two file
    names written into ``folder`` (None where there is nothing to draw). Where a first seed's checkpoint is not on
    this machine (its record came from the study's archive), the figures already in ``folder`` are kept; without
    them, the variants whose checkpoints are here are drawn."""
    import torch
    from torchvision.utils import save_image

    from pono_gan.inference import load_model
    from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel, to_unit_range

    steps = sample_budget(records)
    first = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        if r["steps"] == steps:
            first.setdefault(r["variant"], r)
    if not first:
        return None, None
    checkpoints = {v: plan.runs_folder / v / f"steps{steps}" / f"seed{r['seed']}" / "checkpoints" / "last.ckpt"
                   for v, r in first.items()}
    if not all(path.is_file() for path in checkpoints.values()) and (folder / "samples.png").is_file():
        # some first seeds come from the study's archive, trained elsewhere: keep the figures drawn from them there
        return "samples.png", "moments.png" if (folder / "moments.png").is_file() else None
    models = {v: load_model(path, plan.direction) for v, path in checkpoints.items() if path.is_file()}
    if not models:
        return None, None
    if plan.layout == "fonts":  # content | example | truth | each variant, in [0, 1]
        from pono_gan.evaluate.fonts import figure_samples, model_renderers

        contents, examples, truths = figure_samples(plan.data, count)
        columns, labels = [contents, examples, truths], ["content", "example", "truth"]
        config = next(iter(models.values())).config
        inputs = contents.expand(-1, config.in_channels, -1, -1) * 2 - 1
        style_examples = examples.expand(-1, config.out_channels, -1, -1) * 2 - 1
        for variant, model in models.items():
            render, _ = model_renderers(model, "cpu")
            columns.append(render(contents, examples))
            labels.append(variant_label(variant))
    else:
        inputs, columns, labels, style_examples = _image_columns(plan, models, count)
    moments, moments_of = None, None
    for variant, model in models.items():
        if model.has_pono:
            with torch.inference_mode():
                style = (model.generator.encode_style(style_examples[:4]),) if model.styled else ()
                _, moments = model.generator.eval().forward_with_moments(inputs[:4], *style)
            moments_of = variant
            break
    folder.mkdir(parents=True, exist_ok=True)
    save_image(sample_panel(columns, labels), folder / "samples.png")
    written_moments = None
    if moments:
        panels = moment_maps(moments, tuple(inputs.shape[-2:]))
        keys = sorted(panels, key=lambda k: (k[-1], k))
        save_image(sample_panel([to_unit_range(inputs[:4]), *(panels[k] for k in keys)],
                                [f"input ({variant_label(moments_of)})", *moment_labels(keys)]), folder / "moments.png")
        written_moments = "moments.png"
    return "samples.png", written_moments


def _image_columns(plan, models: dict, count: int):
    """``(inputs, columns, labels, style examples)`` of the sample grid on image data: the inputs and each input's
    style example (the next target) in [-1, 1]; the columns in [0, 1] (input, the target where the layout has one,
    each variant's output; a style model renders in the style of the next target, as evaluate does)."""
    import torch
    import torch.nn.functional as F

    from pono_gan.data import Preprocessing, make_dataset
    from pono_gan.inference import Translator
    from pono_gan.logging.viz import to_unit_range

    config = next(iter(models.values())).config
    dataset = make_dataset(plan.data, plan.layout, "test", preprocessing=Preprocessing("none", size_multiple=1),
                           channels=(config.in_channels, config.out_channels), train=False, limit=count)
    samples = [dataset[i] for i in range(min(count, len(dataset)))]
    size = samples[0]["A"].shape[-2:]

    def stack(key: str):
        return torch.stack([F.interpolate(s[key][None], size=size, mode="bilinear", align_corners=False)[0]
                            for s in samples])

    inputs, targets = stack("A"), stack("B")
    columns = [to_unit_range(inputs)] + ([to_unit_range(targets)] if plan.layout != "unpaired" else [])
    labels = ["input"] + (["target"] if plan.layout != "unpaired" else [])
    style_examples = torch.roll(targets, -1, 0)
    for variant, model in models.items():
        translator = Translator(model.generator, torch.device("cpu"))
        with torch.inference_mode():
            if model.styled:
                codes = model.generator.encode_style(style_examples)
                output = torch.cat([translator((x[None] + 1) / 2, code[None])[0] for x, code in zip(inputs, codes)])
            else:
                output = translator((inputs + 1) / 2)[0]
        columns.append(output)
        labels.append(variant_label(variant))
    return inputs, columns, labels, style_examples


#: what the references of a report are, by kind of data
REFERENCE_TEXT = {
    "images": "Neither is a model: the input as it is, and one colour everywhere (each channel's median over the test "
              "targets' pixels). A variant that does not beat them on a metric has learned nothing that metric sees.",
    "fonts": "None is a model: the source glyph as it is (right character, the source font's style: its style "
             "accuracy is 0), the example glyph copied (the target font's style, another character: its content "
             "accuracy is 0) and a blank page. A variant that does not beat them on a metric has learned nothing that "
             "metric sees; one that learned content and style beats all three on both accuracies.",
}


def references_section(references: dict[str, dict[str, float]], all_results: Sequence[Results],
                       metrics: Sequence[str]) -> str:
    """The trivial references' scores (:func:`pono_gan.ablate.runner.score_references`) and, per metric, the variants
    whose mean does not beat the better of them."""
    names = [m for m in metrics if any(m in values for values in references.values())]
    if not names:
        return ""
    lines = ["| reference | " + " | ".join(LABELS.get(m, (m,))[0] for m in names) + " |",
             "|---" * (len(names) + 1) + "|"]
    for label, values in references.items():
        lines.append(f"| {label} | "
                     + " | ".join(f"{values[m]:.{_digits(m)}f}" if m in values else "-" for m in names) + " |")
    notes = []
    for metric in names:
        higher = LABELS.get(metric, (metric, False))[1]
        best = (max if higher else min)(values[metric] for values in references.values() if metric in values)
        means = [(variant, results.steps, mean_std(results.values(variant, metric))[0])
                 for results in all_results if results.metrics([metric]) for variant in results.runs]
        losers = [variant_label(variant) + (f" ({steps} its)" if len(all_results) > 1 else "")
                  for variant, steps, mean in means if not (mean > best if higher else mean < best)]
        if losers:
            notes.append(f"- {LABELS.get(metric, (metric,))[0]}: {', '.join(losers)}")
    text = REFERENCE_TEXT["fonts" if "example glyph copied" in references else "images"] + "\n\n" + "\n".join(lines)
    if notes:
        text += "\n\nMeans that do not beat the better reference:\n\n" + "\n".join(notes)
    return text


#: the metrics a run must beat every reference on to pass the learning gate, by evaluation layout
GATE_METRICS = {"fonts": ("content_accuracy", "style_accuracy"), "paired": ("l1", "ssim"), "aligned": ("l1", "ssim"),
                "unpaired": ("fd_effnet_lite0",)}


def _beats(metric: str, value: float, references: dict[str, dict[str, float]]) -> bool:
    higher = LABELS.get(metric, (metric, False))[1]
    return all(value > ref[metric] if higher else value < ref[metric] for ref in references.values() if metric in ref)


def discriminators_alive(record: dict) -> bool | None:
    """Whether every discriminator of the run told real from fake at its end; None where the run did not record it."""
    health = record.get("discriminators")
    return None if not health else all(entry["tells_real_from_fake"] for entry in health.values())


def health_label(record: dict) -> str:
    """The run's discriminators in a table cell: ``tell real from fake``, ``**at chance** (D_B)`` naming those at
    chance, ``**win outright** (D_A)`` naming those the generator no longer fools (it collapsed or diverged), or
    ``not recorded``."""
    from pono_gan.tasks.base import wins_outright

    alive = discriminators_alive(record)
    if alive is None:
        return "not recorded"
    entries = record["discriminators"].items()
    if alive is False:
        return f"**at chance** ({', '.join(name for name, entry in entries if not entry['tells_real_from_fake'])})"
    winners = [name for name, entry in entries if wins_outright(entry)]
    return f"**win outright** ({', '.join(winners)})" if winners else "tell real from fake"


def precision_line(plan) -> str:
    """The setup line that says in which precision a study's runs trained."""
    return f"- **Precision:** every run trained in `{plan.precision}`."


def passes_gates(record: dict, references: dict[str, dict[str, float]], gate_metrics: Sequence[str]) -> bool:
    """A run learned when its discriminators still tell real from fake (where recorded) and it beats every
    reference on every gate metric it has."""
    metrics = [m for m in gate_metrics if m in record["values"]]
    return (discriminators_alive(record) is not False
            and all(_beats(m, record["values"][m], references) for m in metrics))


def learned_baselines(results: Results, baselines: Sequence[str], references: dict[str, dict[str, float]],
                      gate_metrics: Sequence[str]) -> list[str]:
    """The baselines that learned at this budget (their discriminators alive in every run where recorded, their
    mean over seeds beating every reference on every gate metric), in ``baselines``' order."""
    learned = []
    for baseline in (b for b in baselines if b in results.runs):
        runs = results.runs[baseline]
        metrics = [m for m in gate_metrics if all(m in r["values"] for r in runs)]
        alive = all(discriminators_alive(r) is not False for r in runs)
        if alive and all(_beats(m, mean_std(results.values(baseline, m))[0], references) for m in metrics):
            learned.append(baseline)
    return learned


def gates_section(records: Sequence[dict], references: dict[str, dict[str, float]], gate_metrics: Sequence[str]) -> str:
    """Which runs passed the learning gates: a table, one row per run."""
    metrics = [m for m in gate_metrics if any(m in r["values"] for r in records)]
    names = ", ".join(LABELS.get(m, (m,))[0] for m in metrics)
    from pono_gan.tasks.base import HEALTH_MARGIN, HEALTH_WIN, HEALTH_WINDOW  # the verdict's own rule

    lines = [f"A run has learned when its discriminators still tell real from fake at the end (real beats fake by at "
             f"least {HEALTH_MARGIN} over its last {HEALTH_WINDOW} steps) and it beats every reference above on "
             f"{names}. Variants are ranked only at budgets where a baseline learned (its mean over seeds beats the "
             f"references, its discriminators alive in every seed). A discriminator that *wins outright* (real beats "
             f"fake by {HEALTH_WIN} or more) is no longer fooled at all: its generator collapsed or diverged, which "
             "the metrics then show.", "",
             "| variant | iterations | seed | discriminators | " + " | ".join(
                 f"beats the references on {LABELS.get(m, (m,))[0]}" for m in metrics) + " | learned |",
             "|---" * (len(metrics) + 5) + "|"]
    for r in sorted(records, key=lambda r: (r["steps"], r["variant"], r["seed"])):
        health = health_label(r)
        cells = ["yes" if _beats(m, r["values"][m], references) else "no" for m in metrics if m in r["values"]]
        passed = "**yes**" if passes_gates(r, references, gate_metrics) else "no"
        lines.append(f"| {variant_label(r['variant'])} | {r['steps']} | {r['seed']} | {health} | " + " | ".join(cells)
                     + f" | {passed} |")
    passed = sum(passes_gates(r, references, gate_metrics) for r in records)
    lines += ["", f"{passed} of {len(records)} runs passed."]
    return "\n".join(lines)


@dataclass
class Page:
    """What a report says besides its records.

    Args:
        metrics: the metrics to report, in order.
        baselines: the variants the others are compared with (the best of them per metric).
        title: the page's heading.
        command: the command that reproduces the study.
        setup: the setup section's markdown.
        figures: the sample grid's and the moment maps' file names (None where there is none).
        figure_prefix: the figures' folder, relative to the page.
        wall_seconds: the study's wall time, for the cost line.
        notes: markdown put before "Reproduce".
        contrasts: ``(variant, reference)`` pairs compared besides the baselines (None: :func:`default_contrasts`).
        references: the trivial references' scores, by label (:func:`pono_gan.ablate.runner.score_references`).
    """

    metrics: Sequence[str]
    baselines: Sequence[str]
    title: str = "Ablation"
    command: str = ""
    setup: str = ""
    figures: tuple[str | None, str | None] = (None, None)
    figure_prefix: str = ""
    wall_seconds: float | None = None
    notes: str = ""
    contrasts: Sequence[tuple[str, str]] | None = None
    references: dict[str, dict[str, float]] | None = None


def render(plan, records: Sequence[dict], page: Page) -> str:
    """The whole report as markdown (a study with fewer records than planned runs says so at the top)."""
    variants = list(plan.variant_files)
    all_results = Results.by_budget(records, variants)
    parts = _header(plan, records, page, variants)
    trivial = references_section(page.references or {}, all_results, page.metrics)
    gate_metrics = GATE_METRICS.get(getattr(plan, "layout", ""), ())
    if trivial:
        parts += ["## What doing nothing scores", "", trivial, ""]
        parts += ["## Learning gates", "", gates_section(records, page.references or {}, gate_metrics), ""]
    contrasts = default_contrasts(variants) if page.contrasts is None else page.contrasts
    for results in all_results:
        parts += _budget_section(results, page, gate_metrics, contrasts)
    budgets = budget_section(all_results, page.metrics, page.baselines)
    if budgets:
        parts += ["## Does the gap change with training?", "",
                  "Difference against the same baseline (variant minus baseline, 95% interval) at each budget:", "",
                  budgets, ""]
    parts += _figures_section(page, records)
    if page.notes:
        parts += [page.notes, ""]
    parts += ["## Reproduce", "", "```bash", page.command, "```", "",
              f"Runs go to `{plan.runs_folder}/VARIANT/stepsN/seedS/` (checkpoints, the W&B offline run of group "
              f"`{plan.group}`, `eval_test/per_image.csv` and `summary.json`). A killed study resumes where it "
              "stopped.", ""]
    return "\n".join(parts)


def _header(plan, records: Sequence[dict], page: Page, variants: Sequence[str]) -> list[str]:
    partial = ""
    if len(records) < len(plan.runs):
        partial = (f" **Partial: {len(records)} of the {len(plan.runs)} planned runs had finished**; the command "
                   "without `--report-only` trains the rest and rewrites this page.")
    baselines = ", ".join(variant_label(b) for b in page.baselines if b in variants) or "none"
    return [f"# {page.title}", "",
            f"Measured by `{page.command}` on {time.strftime('%Y-%m-%d')}: {cost_line(records, page.wall_seconds)}."
            f"{partial} Variants: {', '.join(variant_label(v) for v in variants)}; baselines: {baselines}.",
            "", "## Setup", "", page.setup, ""]


def _budget_section(results: Results, page: Page, gate_metrics: Sequence[str],
                    contrasts: Sequence[tuple[str, str]]) -> list[str]:
    """One budget's table, its comparisons where a baseline learned (else why not), and the per-seed rows."""
    table, per_seed = results_tables(results, page.metrics)
    parts = [f"## Results at {results.steps} iterations", "", *table, ""]
    learned = (learned_baselines(results, page.baselines, page.references, gate_metrics) if page.references
               else None)  # None: no references, so unchecked
    ran = ", ".join(variant_label(b) for b in page.baselines if b in results.runs)
    if learned is not None and not ran:
        parts += [f"**No baseline ran at {results.steps} iterations** "
                  f"({', '.join(variant_label(b) for b in page.baselines)}), so the variants are not ranked.", ""]
    elif learned is not None and not learned:
        parts += [f"**Not learned at this budget.** No baseline ({ran}) passed the learning gates at "
                  f"{results.steps} iterations, so the variants are not ranked: a difference between models that "
                  "learned nothing says nothing about the method.", ""]
    else:
        parts += [f"### Differences against the best baseline ({results.steps} iterations)", "",
                  comparison_section(results, page.metrics, page.baselines, learned), ""]
        specific = contrast_section(results, page.metrics, contrasts)
        if specific:
            parts += [f"### Specific comparisons ({results.steps} iterations)", "", specific, ""]
    return parts + [f"Per seed ({results.steps} iterations):", "", *per_seed, ""]


def _figures_section(page: Page, records: Sequence[dict]) -> list[str]:
    samples, moments = page.figures
    parts = []
    if samples:
        parts += ["## Samples", "", f"![samples]({page.figure_prefix}{samples})", "",
                  "Test inputs, their targets where the layout has them, then each variant's output "
                  f"({sample_budget(records)} iterations, the first seed).", ""]
    if moments:
        parts += [f"![PONO moments]({page.figure_prefix}{moments})", "",
                  "The PONO mean and std maps of each encoder stage (min-max scaled per map): what the Moment "
                  "Shortcuts carry to the decoder.", ""]
    return parts
