"""Evaluations as W&B tables, offline where there is no login (``wandb sync`` uploads them later).

* :func:`log_evaluation`: one row per test image with its input, output, target and PONO moment maps next to its
  per-image metrics, logged into the checkpoint's own run (resumed by the id the checkpoint stores) or into a new
  run of the task's group.
* :func:`log_study`: an ablation's summary, variant x metric (mean and std over seeds), in the ablation's group.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["log_evaluation", "log_study"]


def _image(tensor):
    import wandb

    from pono_gan.data.io import to_pil

    return wandb.Image(to_pil(tensor[0]))


def log_evaluation(model, summary: dict[str, Any], gallery: Sequence[dict[str, Any]], split: str,
                   project: str = "pono-gan", run_dir: str | Path | None = None, offline: bool | None = None) -> str:
    """Log ``summary`` (as the run summary, under ``eval/<split>/``) and a ``wandb.Table`` of ``gallery``; returns
    the run's id. The checkpoint's W&B run is resumed when it stores one; otherwise a new run ``eval-<variant>``
    joins the checkpoint's task group."""
    import wandb

    from pono_gan.checkpoint import KEY, read_checkpoint
    from pono_gan.logging.loggers import wandb_offline
    from pono_gan.logging.viz import moment_maps, sample_panel

    meta = read_checkpoint(model.path)[KEY]
    run_id = meta.get("wandb_run_id")
    directory = Path(run_dir) if run_dir is not None else Path(model.path).resolve().parent.parent
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {"mode": "offline" if wandb_offline(offline) else "online"}
    if run_id:
        settings.update(id=run_id, resume="allow")
    else:
        settings.update(group=meta.get("task"), name=f"eval-{meta.get('variant', 'model')}", job_type="eval")
    run = wandb.init(project=project, dir=str(directory), **settings)
    metric_names = [k for k in (gallery[0]["row"] if gallery else {}) if k not in ("input", "target", "style")]
    columns = ["name", "input", "output", "target", "moments", *metric_names]
    table = wandb.Table(columns=columns)
    for entry in gallery:
        moments = entry["moments"]
        maps = None
        if moments:
            panels = moment_maps(moments, tuple(entry["input"].shape[-2:]))
            maps = _image(sample_panel(list(panels.values()), [k.replace("/stage", " ") for k in panels])[None])
        row = entry["row"]
        table.add_data(Path(row["input"]).name, _image(entry["input"]), _image(entry["output"]),
                       _image(entry["target"]), maps, *(row[k] for k in metric_names))
    prefix = f"eval/{split}"
    values = {f"{prefix}/{k}": v["mean"] for k, v in summary["metrics"].items()}
    values.update({f"{prefix}/{k}": v.get("value", v.get("mean")) for k, v in summary["distribution_metrics"].items()})
    run.log({f"{prefix}/table": table, **values})
    run.summary.update(values)
    identifier = run.id
    run.finish()
    return identifier


def log_study(records: Sequence[dict[str, Any]], metrics: Sequence[str], group: str, directory: str | Path,
              project: str = "pono-gan", offline: bool | None = None) -> str:
    """One W&B run ``summary`` in an ablation's ``group`` (beside its training runs) holding a table: one row per
    variant and budget with the number of seeds and each metric's mean and standard deviation over seeds; returns
    the run's id."""
    import wandb

    from pono_gan.evaluate.stats import mean_std
    from pono_gan.logging.loggers import wandb_offline

    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in records:
        cells.setdefault((record["variant"], record["steps"]), []).append(record)
    names = [m for m in metrics if all(m in r["values"] for r in records)]
    table = wandb.Table(columns=["variant", "steps", "seeds", *(f"{m} {s}" for m in names for s in ("mean", "std"))])
    for (variant, steps), runs in cells.items():
        numbers = [value for m in names for value in mean_std([r["values"][m] for r in runs])]
        table.add_data(variant, steps, len(runs), *numbers)
    Path(directory).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=project, dir=str(directory), group=group, name=f"{group}-summary", job_type="summary",
                     mode="offline" if wandb_offline(offline) else "online")
    run.log({"ablation/summary": table})
    identifier = run.id
    run.finish()
    return identifier
