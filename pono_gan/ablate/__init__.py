"""Ablations on any data set: train variants that differ only in normalization over seeds and budgets, score them
on the test split, and write a report whose differences come with 95% intervals.

    python -m pono_gan.ablate --task unpaired --data data/horse2zebra --variants instance pono_ms \\
        --seeds 0 1 2 3 4 --steps 2000 --report docs/horse2zebra.md
    python -m pono_gan.ablate --task paired --data data/facades --layout aligned --config configs/paired/base.yaml \\
        --config my_small_model.yaml --variants instance group pono_ms pono_dms --steps 1000 4000

Each variant is a config file, ``configs/<task>/VARIANT.yaml`` or a path; the shared configs (``--config``,
default ``configs/<task>/base.yaml``) come first. Every run is a plain ``train.py fit`` in its own folder
``RUNS/VARIANT/stepsN/seedS`` (resumable; a killed study resumes where it stopped), scored with
``pono_gan.evaluate`` on the test split: against true pairs where the layout has them (``paired`` / ``aligned``,
for unpaired and style models too), else as sets (``unpaired``). The report compares each variant with the best
baseline of each metric: the difference of the means with Welch's 95% interval over seeds, "beyond noise" only
where the interval excludes zero (:mod:`pono_gan.evaluate.stats`). Each scored run's record is also kept in
``REPORT_images/runs.json``: commit it with the report, and a run whose folder is gone (another machine) is taken
from it rather than trained again, as long as its settings are the study's. ``benchmarks/ablation.py`` holds the
glyph studies (``make ablation``, ``make ablation-unpaired``, ``make ablation-style``) as presets of this tool.
"""

from pono_gan.lazy import lazy_exports

_HOMES = {
    "Plan": "runner",
    "Run": "runner",
    "StudyError": "runner",
    "run_plan": "runner",
    "main": "cli",
}
__all__ = list(_HOMES)

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
