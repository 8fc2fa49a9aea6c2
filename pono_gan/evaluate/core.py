"""Scoring a checkpoint on a split: translations, per-image metrics, distribution metrics, the summary files.

See :mod:`pono_gan.evaluate` for the metrics and outputs; :func:`evaluate` is the entry point."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from pono_gan.data.datasets import make_dataset
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError, MissingPathError
from pono_gan.evaluate.features import (
    EffNetLite0Features,
    FeatureBank,
    InceptionFeatures,
    find_inception_weights,
    frechet_distance,
    kernel_distance,
    missing_inception_message,
)
from pono_gan.evaluate.metrics import l1_per_image, paired_metrics, pairwise_l1
from pono_gan.evaluate.names import (
    ACCURACY_METRICS,
    DISTRIBUTION_METRICS,
    LAYOUTS,
    METRICS,
    NEEDS_PAIRS,
    PER_IMAGE_METRICS,
    STYLE_METRICS,
)
from pono_gan.inference import Model, Translator, resolve_device
from pono_gan.logging.viz import to_unit_range

__all__ = [
    "Scoring", "describe", "distribution_metric", "evaluate", "known_targets", "make_extractors", "remember_targets",
    "select_metrics",
]

#: the targets' features computed in this process, by :func:`_targets_key`: an ablation scores many checkpoints on
#: one test split, and their targets are the same images (a few entries; a changed file is another key)
_TARGET_FEATURES: dict[tuple, torch.Tensor] = {}
_TARGET_CACHE_SIZE = 32  # a font benchmark keeps one entry per font
_TARGET_LOCK = threading.Lock()  # the ablation scores runs in threads


def _targets_key(dataset, layout: str, direction: str, out_channels: int, backbone: str, extractor, device) -> tuple:
    """What the target side's features depend on: the feature network, the device, and every file the dataset
    reads (path, size and modification time; a paired target is resized to its input's size, so both count)."""
    files = {*dataset.image_paths["A"], *dataset.image_paths["B"], *(b for _, b in getattr(dataset, "pairs", ()))}
    stats = tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in sorted(files))
    weights = getattr(extractor, "weights", None)
    return (backbone, extractor.name, str(weights), str(device), layout, direction, out_channels, len(dataset), stats)



def _unavailable(layout: str, styled: bool) -> dict[str, str]:
    """The metrics that cannot run on ``layout`` (for a style model where ``styled``), each with the reason."""
    reasons = {}
    for name in METRICS:
        if name in ACCURACY_METRICS and layout != "fonts":
            reasons[name] = "only on the font benchmark (python -m pono_gan.data.builders fonts; layout fonts)"
        elif name == "l1_random" and layout == "fonts":
            reasons[name] = "random styles have no truth on the font benchmark (diversity_l1 scores them)"
        elif name in STYLE_METRICS and not styled:
            reasons[name] = "only for style (MUNIT) models"
        elif name in NEEDS_PAIRS and layout == "unpaired":
            reasons[name] = (f"only with ground-truth pairs; the unpaired layout has only the distribution metrics "
                             f"({', '.join(DISTRIBUTION_METRICS)}){' and diversity_l1' if styled else ''}")
    return reasons


def select_metrics(
    metrics: Sequence[str] | None, layout: str, inception_weights: str | Path | None = None, styled: bool = False
) -> tuple[list[str], dict[str, str], Path | None]:
    """Which metrics run: ``(chosen, skipped {name: reason}, Inception weights file or None)``.

    ``metrics=None`` means every metric that can run: the per-image ones where there are pairs, the style ones for
    a style model (``styled``), the EfficientNet ones, and FID / KID where the Inception weights are found (else
    skipped, with the reason).

    Raises:
        DataError: an unknown metric name, a per-image metric on the unpaired layout, a style metric without a
            style model.
        MissingPathError: FID / KID asked for by name without the weights, or a weights path that does not exist.
    """
    reasons = _unavailable(layout, styled)
    if metrics is None:
        chosen = [name for name in METRICS if name not in reasons]
    else:
        chosen = list(dict.fromkeys(metrics))
        unknown = [name for name in chosen if name not in METRICS]
        if unknown or not chosen:
            what = f"unknown metric {unknown[0]!r}" if unknown else "no metric chosen"
            raise DataError(f"{what}; valid: {', '.join(METRICS)}")
        refused = [name for name in chosen if name in reasons]
        if refused:
            same = [name for name in refused if reasons[name] == reasons[refused[0]]]
            raise DataError(f"{', '.join(same)}: {reasons[refused[0]]}")
    skipped: dict[str, str] = {}
    inception = [name for name in chosen
                 if name in DISTRIBUTION_METRICS and DISTRIBUTION_METRICS[name][1] == "inception"]
    weights = find_inception_weights(inception_weights) if inception else None
    if inception and weights is None:
        if metrics is not None:
            raise MissingPathError(missing_inception_message())
        skipped = {name: missing_inception_message() for name in inception}
        chosen = [name for name in chosen if name not in skipped]
    return chosen, skipped, weights


@dataclass(frozen=True)
class Scoring:
    """How :func:`evaluate` and :func:`pono_gan.evaluate.fonts.evaluate_fonts` score (the command line's flags).

    Args:
        metrics: names from :data:`METRICS`; None: all that can run (see :func:`select_metrics`).
        limit: score only the first N samples (characters on a font benchmark).
        device: where the model and the feature networks run (``auto``, ``cpu``, ``cuda``).
        batch_size: images per feature-extractor batch.
        num_styles: style models: random styles per input for ``l1_random`` and ``diversity_l1`` (at least 2).
        inception_weights: the FID / KID Inception weights file (default: found by
            :func:`pono_gan.evaluate.features.find_inception_weights`).
        train_mode: translate with the generator in training mode (see :class:`pono_gan.inference.Translator`).
        workers: DataLoader workers that decode the images.
    """

    metrics: Sequence[str] | None = None
    limit: int | None = None
    device: str = "auto"
    batch_size: int = 32
    num_styles: int = 3
    inception_weights: str | Path | None = None
    train_mode: bool = False
    workers: int = 2


def evaluate(
    model: Model,
    root: str | Path,
    layout: str = "paired",
    split: str = "test",
    output: str | Path | None = None,
    scoring: Scoring | None = None,
    gallery: list[dict[str, Any]] | None = None,
    gallery_size: int = 64,
) -> dict[str, Any]:
    """Score ``model`` on ``root``'s ``split`` as ``scoring`` says; returns the summary (also written under
    ``output`` when given).

    Args:
        gallery: a list that receives, for the first ``gallery_size`` inputs, ``{"row": per-image row,
            "input", "output", "target": (1, C, H, W) in [0, 1], "moments": the PONO moments}`` (what the W&B
            table shows; :mod:`pono_gan.evaluate.wandb_table`).

    Raises:
        DataError / MissingPathError: unknown layout or metric, missing folders, unmatched pairs, FID / KID asked
            for without their weights.
    """
    scoring = scoring or Scoring()
    if layout not in LAYOUTS:
        raise DataError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")
    if layout == "fonts":
        return _evaluate_on_fonts(model, root, split, output, scoring, gallery)
    chosen, skipped, weights = select_metrics(scoring.metrics, layout, scoring.inception_weights, model.styled)
    random_metrics = [name for name in chosen if name in STYLE_METRICS]
    if random_metrics and scoring.num_styles < 2:
        raise DataError(f"--num-styles {scoring.num_styles}: {', '.join(random_metrics)} need at least 2 random "
                        "styles per input")
    config = model.config
    dataset = make_dataset(
        root, layout, split, preprocessing=Preprocessing("none", size_multiple=1), direction=model.direction,
        channels=(config.in_channels, config.out_channels), train=False, limit=scoring.limit,
    )
    device = resolve_device(scoring.device)
    extractors = make_extractors(chosen, weights, device)
    per_image = [name for name in chosen if name in PER_IMAGE_METRICS + STYLE_METRICS]
    passes = _Passes(model, dataset, layout, device, scoring, per_image, random_metrics)
    rows, features = passes.score(extractors, gallery, gallery_size)
    summary = _summary(model, root, layout, split, scoring, rows, per_image, skipped, random_metrics)
    summary["count"] = min(len(dataset), passes.n_inputs)
    for name in chosen:
        if name in DISTRIBUTION_METRICS:
            result = distribution_metric(name, features, extractors)
            summary["skipped" if isinstance(result, str) else "distribution_metrics"][name] = result
    if output is not None:
        _write(Path(output), summary, rows, per_image)
    return summary


def _evaluate_on_fonts(model: Model, root: str | Path, split: str, output: str | Path | None, scoring: Scoring,
                       gallery: list | None) -> dict[str, Any]:
    if gallery is not None:
        raise DataError("the W&B table (--wandb) is not made for the font benchmark yet; per_image.csv holds its rows")
    from pono_gan.evaluate.fonts import evaluate_fonts, model_renderers

    render, render_random = model_renderers(model, scoring.device, scoring.train_mode)
    return evaluate_fonts(render, root, split, output, scoring, render_random,
                          about={"checkpoint": str(model.path), "direction": model.direction})


class _Passes:
    """The passes over a data set that :func:`evaluate` makes: each input translated (a style model in the style of
    the next target, and in random styles for the style metrics), scored against its target, and fed with the
    targets to the feature networks."""

    def __init__(self, model: Model, dataset, layout: str, device: torch.device, scoring: Scoring,
                 per_image: Sequence[str], random_metrics: Sequence[str]) -> None:
        self.model, self.dataset, self.layout, self.device, self.scoring = model, dataset, layout, device, scoring
        self.per_image, self.random_metrics = per_image, random_metrics
        # unpaired: sample i holds A[i % n_A] and B[i % n_B]; use each image once
        self.n_inputs, self.n_targets = (len(dataset.image_paths[key]) for key in ("A", "B"))

    def score(self, extractors: dict, gallery: list | None,
              gallery_size: int) -> tuple[list[dict[str, Any]], dict[tuple[str, str], torch.Tensor]]:
        """The per-image rows and the features of the outputs and the targets, by (backbone, side)."""
        model, scoring = self.model, self.scoring
        translator = Translator(model.generator, self.device, train_mode=scoring.train_mode,
                                with_moments=gallery is not None and model.has_pono)
        banks = {(backbone, side): FeatureBank(extractor, scoring.batch_size)
                 for backbone, extractor in extractors.items() for side in ("outputs", "targets")}
        target_keys = {backbone: _targets_key(self.dataset, self.layout, model.direction, model.config.out_channels,
                                              backbone, extractor, self.device)
                       for backbone, extractor in extractors.items()}
        known = {backbone: known_targets(key) for backbone, key in target_keys.items()}
        rows: list[dict[str, Any]] = []
        with torch.inference_mode():
            loader = DataLoader(self.dataset, batch_size=None,
                                num_workers=scoring.workers if len(self.dataset) > 1 else 0)
            # a style model renders input i in the style of target i + 1 (a first pass encodes the targets' styles)
            styles = [(sample["B_path"], model.generator.encode_style(sample["B"][None].to(self.device)))
                      for sample in islice(loader, self.n_targets)] if model.styled else []
            seed = torch.Generator().manual_seed(0)
            for index, sample in enumerate(loader):
                target = to_unit_range(sample["B"][None])
                if index < self.n_inputs:
                    source = to_unit_range(sample["A"][None])
                    style_path, style = styles[(index + 1) % len(styles)] if styles else (None, None)
                    prediction, moments = translator(source, style)
                    if self.per_image:
                        rows.append(self._row(sample, translator, source, prediction, target, style_path, seed))
                    if gallery is not None and index < gallery_size:
                        gallery.append({"row": rows[-1] if self.per_image else {"input": sample["A_path"]},
                                        "input": source, "output": prediction, "target": target,
                                        "moments": moments[0]})
                for backbone in extractors:
                    if index < self.n_inputs:
                        banks[backbone, "outputs"].add(prediction)
                    if index < self.n_targets and known[backbone] is None:
                        banks[backbone, "targets"].add(target)
        features = {key: bank.features() for key, bank in banks.items()}
        for backbone, key in target_keys.items():
            if known[backbone] is not None:
                features[backbone, "targets"] = known[backbone]
            else:
                remember_targets(key, features[backbone, "targets"])
        return rows, features

    def _row(self, sample: dict, translator: Translator, source: torch.Tensor, prediction: torch.Tensor,
             target: torch.Tensor, style_path: str | None, seed: torch.Generator) -> dict[str, Any]:
        """One input's per-image scores (and, for the style metrics, its renderings in random styles)."""
        scores = paired_metrics(prediction, target) if self.layout != "unpaired" else {}
        if self.random_metrics:
            codes = self.model.generator.random_style(self.scoring.num_styles, seed)
            outputs = [translator(source, code[None])[0] for code in codes]
            scores["diversity_l1"] = pairwise_l1(outputs)
            if "l1_random" in self.per_image:
                scores["l1_random"] = torch.stack([l1_per_image(o, target) for o in outputs]).mean(0)
        return {"input": sample["A_path"], "target": sample["B_path"],
                **({"style": style_path} if style_path is not None else {}),
                **{k: scores[k].item() for k in self.per_image}}


def _summary(model: Model, root: str | Path, layout: str, split: str, scoring: Scoring, rows: list[dict[str, Any]],
             per_image: Sequence[str], skipped: dict[str, str], random_metrics: Sequence[str]) -> dict[str, Any]:
    values = torch.tensor([[row[k] for k in per_image] for row in rows], dtype=torch.float64)
    summary: dict[str, Any] = {
        "checkpoint": str(model.path),
        "direction": model.direction,
        "data": str(root),
        "layout": layout,
        "split": split,
        "count": len(rows),
        "generator_mode": "train" if scoring.train_mode else "eval",
        "metrics": {
            name: {"mean": values[:, i].mean().item(), "std": values[:, i].std(unbiased=False).item()}
            for i, name in enumerate(per_image)
        },
        "distribution_metrics": {},
        "skipped": skipped,
    }
    if model.styled:
        summary["styles"] = {"example": "the next target image (sorted, wrapping around)",
                             "random_per_input": scoring.num_styles if random_metrics else 0, "seed": 0}
    return summary


def remember_targets(key: tuple, features: torch.Tensor) -> None:
    """Keep a target set's features for this process under ``key`` (what they depend on; the oldest of more than
    a few entries is dropped); ``_TARGET_FEATURES.get(key)`` finds them."""
    with _TARGET_LOCK:
        while len(_TARGET_FEATURES) >= _TARGET_CACHE_SIZE:
            _TARGET_FEATURES.pop(next(iter(_TARGET_FEATURES)))
        _TARGET_FEATURES[key] = features


def known_targets(key: tuple) -> torch.Tensor | None:
    """The features :func:`remember_targets` kept under ``key``, or None."""
    return _TARGET_FEATURES.get(key)


def make_extractors(chosen: Sequence[str], weights: Path | None, device: torch.device) -> dict[str, torch.nn.Module]:
    """The feature networks the distribution metrics of ``chosen`` need, by backbone (``effnet``, ``inception``)."""
    backbones = {DISTRIBUTION_METRICS[name][1] for name in chosen if name in DISTRIBUTION_METRICS}
    extractors: dict[str, torch.nn.Module] = {}
    if "effnet" in backbones:
        extractors["effnet"] = EffNetLite0Features().to(device)
    if "inception" in backbones:
        extractors["inception"] = InceptionFeatures(weights).to(device)
    return extractors


def distribution_metric(name: str, features: dict, extractors: dict) -> dict[str, Any] | str:
    """One distribution metric's summary entry from ``features`` (``{(backbone, "outputs" | "targets"): (N, D)}``),
    or the reason it cannot be computed."""
    kind, backbone, description = DISTRIBUTION_METRICS[name]
    outputs, targets = features[backbone, "outputs"], features[backbone, "targets"]
    if min(len(outputs), len(targets)) < 2:
        return f"needs at least 2 outputs and 2 targets, got {len(outputs)} and {len(targets)}"
    extractor = extractors[backbone]
    entry: dict[str, Any] = {"description": description, "features": extractor.name,
                             "n_outputs": len(outputs), "n_targets": len(targets)}
    if backbone == "inception":
        entry["weights"] = str(extractor.weights)
    if kind == "fd":
        entry["value"] = frechet_distance(targets, outputs)
    else:
        entry.update(kernel_distance(targets, outputs))
        entry["subset_size_rule"] = "min(1000, n_outputs, n_targets)"
    return entry


def _write(output: Path, summary: dict[str, Any], rows: list[dict[str, Any]], per_image: list[str]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    if per_image:
        with open(output / "per_image.csv", "w", newline="") as handle:
            style = ["style"] if rows and "style" in rows[0] else []
            writer = csv.DictWriter(handle, fieldnames=["input", "target", *style, *per_image])
            writer.writeheader()
            writer.writerows(rows)
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def describe(summary: dict[str, Any]) -> str:
    """The summary's numbers on one line:
    ``l1 0.1570 +- 0.0300, ..., fd_effnet_lite0 12.3, kid 0.0123 +- 0.001 ...``."""
    parts = [f"{name} {v['mean']:.4f} +- {v['std']:.4f}" for name, v in summary["metrics"].items()]
    for name, v in summary["distribution_metrics"].items():
        if "value" in v:
            parts.append(f"{name} {v['value']:.4g}")
        else:
            parts.append(f"{name} {v['mean']:.4g} +- {v['std']:.2g} (subsets of {v['subset_size']})")
    return ", ".join(parts)
