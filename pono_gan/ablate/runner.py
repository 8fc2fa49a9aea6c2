"""Training and scoring the runs of a study: each a plain ``train.py fit`` (``pono-gan train fit``) in its own folder,
then ``evaluate``.

A killed study resumes: a finished run (its ``trained.json`` says so, for the same settings) is skipped, a run with
a ``last.ckpt`` resumes from it, and an evaluation is cached beside its run until the checkpoint is newer. A run
folder trained with other settings (config files, overrides) is refused, not silently reused.

A study also outlives its machine: with ``Plan.archive`` set, every scored run's record (its settings' fingerprint,
the machine it trained on, its numbers and discriminators' health) is kept in that JSON file, which is committed
beside the report. A run whose folder is not here but whose archived record has the plan's fingerprint is taken from
the archive, neither trained nor scored again, so a study begun on one machine finishes on another.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from operator import itemgetter
from pathlib import Path

from pono_gan.errors import PonoGanError

__all__ = ["Run", "Plan", "StudyError", "schedule", "summary_values", "train_command", "train_run", "score_run",
           "run_plan", "reference_scores", "score_references", "read_archive", "write_archive"]

class StudyError(PonoGanError):
    """A study that cannot run as asked (a missing config, a run folder trained with other settings, a failed run)."""


@dataclass(frozen=True)
class Run:
    """One training run of a study: a variant (a config file's stem), a seed and a budget in iterations."""

    variant: str
    seed: int
    steps: int

    def folder(self, runs: Path) -> Path:
        return runs / self.variant / f"steps{self.steps}" / f"seed{self.seed}"


@dataclass
class Plan:
    """What a study trains and how it scores it.

    Args:
        task: ``paired | unpaired | style`` (names the default config folder, ``configs/<task>/``).
        data: the data root every run trains on and is scored on.
        variant_files: variant name -> its config file (differs from the others only where the variant must).
        runs: the runs to train (any mix of variants, seeds and budgets).
        configs: the config files every run shares, before its variant file.
        runs_folder: where run folders go (``RUNS/VARIANT/stepsN/seedS``).
        layout: the evaluation layout (``paired``, ``aligned`` or ``unpaired``; paired ones score against true pairs).
        direction: the direction evaluated, for unpaired and style models (``AtoB``).
        metrics: the evaluation's metrics (None: all that can run).
        jobs: runs trained at once (each gets ``cores / jobs`` threads).
        group: the W&B group of the runs.
        overrides: extra ``train.py`` flags for every run.
        precision: every run's ``trainer.precision``, set rather than left to ``train.py``'s auto choice, so a
            study's numbers do not depend on the machine's bfloat16 support.
        archive: the JSON file that keeps every scored run's record (:func:`write_archive`), and from which runs not
            in ``runs_folder`` are taken (:func:`read_archive`); None: none.
    """

    task: str
    data: Path
    variant_files: dict[str, Path]
    runs: list[Run]
    configs: list[Path]
    runs_folder: Path
    layout: str = "paired"
    direction: str | None = None
    metrics: Sequence[str] | None = None
    jobs: int = 2
    group: str = "ablation"
    overrides: list[str] = field(default_factory=list)
    precision: str = "32-true"
    archive: Path | None = None

    @property
    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.jobs)


def schedule(steps: int) -> tuple[int, int]:
    """(constant_for, decay_for): the learning rate decays linearly to 0 over the last third of the budget."""
    decay = steps // 3
    return steps - decay, decay


def summary_values(summary: dict) -> dict[str, float]:
    """One number per metric of an evaluate summary: per-image means, then the distribution metrics."""
    numbers = {name: entry["mean"] for name, entry in summary["metrics"].items()}
    for name, entry in summary.get("distribution_metrics", {}).items():
        numbers[name] = entry["value"] if "value" in entry else entry["mean"]
    return numbers


def train_command(plan: Plan, run: Run, folder: Path) -> list[str]:
    """The ``pono-gan train fit`` command of ``run``: the shared configs, the variant file, then the run's flags."""
    constant, decay = schedule(run.steps)
    command = [sys.executable, "-m", "pono_gan.commands", "train", "fit"]
    for config in [*plan.configs, plan.variant_files[run.variant]]:
        command += ["--config", str(config)]
    command += [
        "--seed_everything", str(run.seed), "--data.root", str(plan.data),
        # an aligned folder reads only as aligned; the other scoring layouts say nothing of how a task trains (a style
        # model trains unpaired on a paired glyph set and is scored against its pairs)
        *(["--data.layout", "aligned"] if plan.layout == "aligned" else []),
        "--trainer.default_root_dir", str(folder), "--trainer.max_steps", str(run.steps), "--trainer.max_epochs", "-1",
        "--trainer.val_check_interval", str(run.steps), "--trainer.check_val_every_n_epoch", "null",
        "--trainer.enable_progress_bar", "false",
        "--model.init_args.optimizer.unit", "step",
        "--model.init_args.optimizer.constant_for", str(constant),
        "--model.init_args.optimizer.decay_for", str(decay),
        "--checkpoint.every_n_train_steps", str(max(1, run.steps // 4)), "--images.every_n_steps", str(run.steps),
        "--trainer.logger.init_args.group", plan.group,
        "--trainer.logger.init_args.name", f"{run.variant}-steps{run.steps}-seed{run.seed}",
        "--trainer.precision", plan.precision,
        *plan.overrides,
    ]
    return command


def _fingerprint(plan: Plan, run: Run, folder: Path) -> str:
    """What decides a run's result besides the code: its config files' text and its flags (paths made relative)."""
    digest = hashlib.sha256()
    for config in [*plan.configs, plan.variant_files[run.variant]]:
        digest.update(Path(config).read_bytes())
    command = train_command(plan, run, folder)
    flags = [part for part in command[command.index("fit") + 1:] if not part.endswith(".yaml")]
    digest.update(json.dumps([flag.replace(str(folder), "RUN") for flag in flags]).encode())
    return digest.hexdigest()[:16]


def _run_measured(command: list[str], output, env: dict[str, str]) -> tuple[int, float]:
    """Run ``command``; returns its exit status and the CPU seconds (user + system) it and the children it waited
    for (data-loader workers) used: what a run cost, whatever else shared the cores."""
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def train_run(plan: Plan, run: Run, log: Callable[[str], None] = print) -> dict:
    """Train ``run`` (or finish it from its ``last.ckpt``); returns its record, cached in ``trained.json``. The
    record's times are those of this last leg, which trained the iterations after ``resumed_from``."""
    folder = run.folder(plan.runs_folder)
    record_path = folder / "trained.json"
    fingerprint = _fingerprint(plan, run, folder)
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        if record.get("fingerprint") != fingerprint:
            raise StudyError(
                f"{folder} was trained with other settings (config files or flags); delete it or pass another --runs"
            )
        return record
    command, resumed_from = train_command(plan, run, folder), 0
    last = folder / "checkpoints" / "last.ckpt"
    if last.is_file():
        from pono_gan.checkpoint import read_checkpoint

        command += ["--ckpt_path", "last"]
        resumed_from = int(read_checkpoint(last)["global_step"])  # the legs before this one measured nothing
    folder.mkdir(parents=True, exist_ok=True)
    log(f"train {run.variant} seed {run.seed} ({run.steps} steps, {plan.threads} threads) -> {folder}")
    start = time.perf_counter()
    with open(folder / "train.log", "a") as output:
        threads = str(plan.threads)
        # each run starts its own W&B service: one this process started (WANDB_SERVICE) outlives the run, and a
        # resumed leg would find its W&B run id still in use there
        env = {**{k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"},
               "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        returncode, cpu_seconds = _run_measured(command, output, env)
    if returncode:
        raise StudyError(f"training {run.variant} seed {run.seed} failed (exit {returncode}); "
                         f"see {folder / 'train.log'}")
    seconds = time.perf_counter() - start
    from pono_gan.hardware import machine

    record = {**asdict(run), "seconds": seconds, "cpu_seconds": cpu_seconds, "threads": plan.threads,
              "resumed_from": resumed_from, "fingerprint": fingerprint, "machine": machine()}
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    log(f"  {run.variant} seed {run.seed} ({run.steps} steps) done in {seconds:.0f} s")
    return record


def score_run(plan: Plan, run: Run) -> dict:
    """The run's test-split summary from ``pono_gan.evaluate`` (cached in ``eval_test`` until the checkpoint
    changes)."""
    from pono_gan.evaluate import Scoring, evaluate
    from pono_gan.inference import load_model

    folder = run.folder(plan.runs_folder)
    summary_path = folder / "eval_test" / "summary.json"
    checkpoint = folder / "checkpoints" / "last.ckpt"
    if summary_path.is_file() and summary_path.stat().st_mtime >= checkpoint.stat().st_mtime:
        summary = json.loads(summary_path.read_text())
        if summary.get("layout") == plan.layout and (
                plan.metrics is None or set(plan.metrics) <= set(summary_values(summary))):
            return summary
    model = load_model(checkpoint, plan.direction)
    return evaluate(model, plan.data, plan.layout, "test", folder / "eval_test",
                    scoring=Scoring(workers=0, metrics=plan.metrics))


def score_references(plan: Plan) -> dict[str, dict[str, float]]:
    """The trivial references' scores on the plan's test split (:func:`reference_scores`, with the channels and
    direction of the first finished run's checkpoint; a font benchmark's need none); ``{}`` when no run has
    finished and the plan has no archive. Called after :func:`run_plan`, where no finished run means that every
    run came from the archive."""
    done = [run for run in plan.runs if finished(plan, run)]
    if not done and plan.layout != "fonts":
        if plan.archive is not None:
            raise StudyError(f"the references of the {plan.layout} layout need one run's checkpoint, and no run "
                             f"under {plan.runs_folder} has finished (their records came from {plan.archive}): "
                             "train one run here (or restore a run folder)")
        return {}
    checkpoint = done[0].folder(plan.runs_folder) / "checkpoints" / "last.ckpt" if done else None
    return reference_scores(plan.data, plan.layout, plan.metrics, checkpoint, plan.direction)


def reference_scores(data: Path, layout: str, metrics: Sequence[str] | None, checkpoint: Path | None,
                     direction: str | None, limit: int | None = None) -> dict[str, dict[str, float]]:
    """The trivial references' scores on ``data``'s test split, by label: what a model's numbers must beat to show
    it learned something. On a font benchmark the source glyph, the example copied and a blank page
    (:data:`pono_gan.evaluate.fonts.REFERENCES`); elsewhere the input unchanged and a constant image
    (:mod:`pono_gan.evaluate.references`, with ``checkpoint``'s channels and direction)."""
    from pono_gan.evaluate import Scoring, evaluate
    from pono_gan.evaluate.fonts import REFERENCES as FONT_REFERENCES
    from pono_gan.evaluate.fonts import evaluate_fonts
    from pono_gan.evaluate.names import STYLE_METRICS
    from pono_gan.evaluate.references import reference_models
    from pono_gan.inference import load_model

    metrics = None if metrics is None else [m for m in metrics if m not in STYLE_METRICS]
    if layout == "fonts":
        return {label: summary_values(evaluate_fonts(render, data, scoring=Scoring(limit=limit, metrics=metrics)))
                for label, render in FONT_REFERENCES.items()}
    model = load_model(checkpoint, direction)
    return {label: summary_values(evaluate(reference, data, layout, "test",
                                           scoring=Scoring(limit=limit, workers=0, metrics=metrics)))
            for label, reference in reference_models(model, data, layout).items()}


def _same_settings(plan: Plan, run: Run, record: dict) -> bool:
    """Whether ``record`` (a ``trained.json`` or an archived record) is of ``run`` trained with the plan's settings."""
    return record.get("fingerprint") == _fingerprint(plan, run, run.folder(plan.runs_folder))


def finished(plan: Plan, run: Run) -> bool:
    """Whether ``run`` has finished training with the plan's settings."""
    record = run.folder(plan.runs_folder) / "trained.json"
    return record.is_file() and _same_settings(plan, run, json.loads(record.read_text()))


ARCHIVE_ABOUT = ("The records of a study's runs (pono_gan.ablate.runner.write_archive): a run whose folder is gone is "
                 "taken from here when its fingerprint (config files' text and flags) matches the study's.")


def read_archive(plan: Plan, log: Callable[[str], None] = print) -> dict[Run, dict]:
    """The archived records of ``plan``'s runs that trained with the plan's settings (the same fingerprint); a
    record of other settings is left out (the run trains again), and said so."""
    if plan.archive is None or not Path(plan.archive).is_file():
        return {}
    try:
        entries = json.loads(Path(plan.archive).read_text())["runs"]
        found = {Run(e["variant"], e["seed"], e["steps"]): e for e in entries}
    except (ValueError, KeyError, TypeError) as error:
        raise StudyError(f"{plan.archive} is not a study's archive ({error!r}); restore it with git, or delete it "
                         "to train every run here") from None
    kept = {}
    for run in plan.runs:
        if run in found:
            if _same_settings(plan, run, found[run]):
                kept[run] = found[run]
            else:
                log(f"{run.variant} seed {run.seed} ({run.steps} steps): archived with other settings, not reused")
    return kept


def write_archive(plan: Plan, records: Sequence[dict]) -> None:
    """Keep ``records`` in ``plan.archive`` (if set), replacing those of the same runs and keeping the others."""
    if plan.archive is None:
        return
    path = Path(plan.archive)
    key = itemgetter("variant", "steps", "seed")
    entries = {key(r): r for r in (json.loads(path.read_text())["runs"] if path.is_file() else [])}
    entries.update({key(r): r for r in records})
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"about": ARCHIVE_ABOUT, "runs": [entries[k] for k in sorted(entries)]}, indent=1)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text + "\n")
    temporary.replace(path)


def run_plan(plan: Plan, log: Callable[[str], None] = print, train: bool = True) -> list[dict]:
    """Train every run of ``plan`` (``jobs`` at a time) and score it; returns one record per run, in plan order,
    with its ``values`` (metric -> number), the generator's parameter count and its discriminators' health at the
    end (``discriminators``, from the checkpoint; absent for checkpoints written before it was kept).
    A run with no folder here whose record is in ``plan.archive`` is taken from it; every record is archived.
    ``train=False`` trains nothing and scores the runs that have finished (a look at a study under way, or cut
    short)."""
    import torch

    from pono_gan.checkpoint import read_checkpoint
    from pono_gan.inference import load_model

    for variant, path in plan.variant_files.items():
        if not Path(path).is_file():
            raise StudyError(f"variant {variant!r}: config file {path} not found")
    for config in plan.configs:
        if not Path(config).is_file():
            raise StudyError(f"config file {config} not found")
    # a run folder here (finished, or killed and to be resumed) comes first
    archived = {run: record for run, record in read_archive(plan, log).items()
                if not run.folder(plan.runs_folder).exists()}
    if not train:
        plan = replace(plan, runs=[run for run in plan.runs if run in archived or finished(plan, run)])
        if not plan.runs:
            raise StudyError(f"no run under {plan.runs_folder} has finished yet; "
                             "run the study without --report-only first")
    if archived:
        log(f"{len(archived)} runs taken from {plan.archive}")
    # seed-major, so the first results already compare every variant
    order = sorted((run for run in plan.runs if run not in archived),
                   key=lambda run: (run.steps, run.seed, list(plan.variant_files).index(run.variant)))
    with ThreadPoolExecutor(plan.jobs) as pool:
        trained = dict(zip(order, pool.map(lambda run: train_run(plan, run, log), order)))
    torch.set_num_threads(plan.threads)  # the evaluations share the cores the same way
    with ThreadPoolExecutor(plan.jobs) as pool:
        summaries = dict(zip(order, pool.map(lambda run: score_run(plan, run), order)))
    records, parameters = [], {}
    for run in plan.runs:
        if run in archived:
            records.append(archived[run])
            continue
        checkpoint = run.folder(plan.runs_folder) / "checkpoints" / "last.ckpt"
        if run.variant not in parameters:  # one architecture per variant file, whatever the seed or budget
            parameters[run.variant] = sum(
                p.numel() for p in load_model(checkpoint, plan.direction).generator.parameters())
        numbers = summary_values(summaries[run])
        health = read_checkpoint(checkpoint).get("pono_gan", {}).get("discriminators")
        records.append({**trained[run], "values": numbers, "parameters": parameters[run.variant],
                        **({"discriminators": health} if health else {})})
        log(f"{run.variant} steps {run.steps} seed {run.seed}: "
            + ", ".join(f"{k} {v:.4f}" for k, v in numbers.items()))
    write_archive(plan, records)
    return records
