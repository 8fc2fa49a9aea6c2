"""The font benchmark's example-guided protocol (layout ``fonts``): content and style accuracy against ground truth.

On a set built by ``python -m pono_gan.data.builders fonts`` (:mod:`pono_gan.data.fonts`), for each test character
``c`` and each target font ``f``, the model renders ``c`` (drawn in the source font) in the style of an *example*:
the glyph of another test character ``c'`` drawn in ``f`` (``c'`` drawn at random, seeded, for each ``(c, f)``).
The truth is ``c`` drawn in ``f``. Per rendering (a row of ``per_image.csv``):

* ``l1``, ``psnr``, ``ssim`` against the truth;
* ``content_accuracy``: 1 where the output's nearest neighbour among the test characters drawn in ``f`` is ``c``;
* ``style_accuracy``: 1 where, among the drawings of ``c`` in the K target fonts and in the source font, the
  nearest to the output is ``f``'s;
* ``source_font``: 1 where that nearest drawing is the source font's: the output stayed in the source's style
  (lower is better; the source glyph unchanged scores 1);
* ``shape_accuracy``: ``content_accuracy`` after *moment normalization* (as in handwritten character recognition):
  every image's ink is recentred on its centroid and rescaled to a common spread before the glyph distance, so the
  glyph's size and placement, which differ between fonts, do not count, only its shape.

"Nearest" is by the **glyph distance**: the mean absolute difference of the two images (in [0, 1]) after a
Gaussian blur of sigma = size / 32 (2 px at 64 px), which tolerates a stroke a pixel or two off. It needs no trained
network, so anyone can recompute it. (At 64 px, over the default fonts, a test character drawn in another font is
recognised as itself 35 to 71% of the time, and a truth shifted by one pixel keeps 100% content and 97% style
accuracy.)

The set metrics: ``diversity_l1`` (the mean L1 between ``num_styles`` renderings of each test character in random
styles), and the distribution metrics of :mod:`pono_gan.evaluate` between the outputs and the truths, over all
fonts and per font (``summary.json``'s ``per_font`` also holds each font's mean of the per-image metrics).

Three references fail one accuracy each by construction: the source glyph unchanged (the nearest font is the
source, never ``f``), the example copied (the nearest character is ``c'``, never ``c``) and a blank page. A model
that learned content and style beats all three.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kornia
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pono_gan.data.fonts import MANIFEST
from pono_gan.data.glyphs import glyph_name
from pono_gan.data.io import load_image
from pono_gan.errors import DataError, MissingPathError
from pono_gan.evaluate.metrics import paired_metrics, pairwise_l1
from pono_gan.evaluate.names import ACCURACY_METRICS, DISTRIBUTION_METRICS, PER_IMAGE_METRICS

if TYPE_CHECKING:
    from pono_gan.evaluate.core import Scoring

__all__ = [
    "REFERENCES",
    "Benchmark",
    "Triple",
    "evaluate_fonts",
    "figure_samples",
    "glyph_distances",
    "is_benchmark",
    "moment_normalized",
    "model_renderers",
    "sample_triples",
]

#: ``render(contents, examples) -> outputs``: (n, 1, H, W) images in [0, 1] in and out
Render = Callable[[Tensor, Tensor], Tensor]
#: ``render_random(contents, generator) -> outputs`` in fresh random styles drawn with ``generator``
RenderRandom = Callable[[Tensor, torch.Generator], Tensor]

#: the references, by label: what a style model must beat
REFERENCES: dict[str, Render] = {
    "source glyph unchanged": lambda contents, examples: contents,
    "example glyph copied": lambda contents, examples: examples,
    "blank page": lambda contents, examples: torch.ones_like(contents),
}


def is_benchmark(root: str | Path) -> bool:
    """Whether ``root`` holds a font benchmark (its ``fonts.json``)."""
    return (Path(root) / MANIFEST).is_file()


@dataclass(frozen=True)
class Triple:
    """One rendering of the protocol: ``char`` in the style of ``example`` drawn in ``font``."""

    char: str
    font: str
    example: str


@dataclass(frozen=True)
class Benchmark:
    """A built font benchmark: its root, image size, source font id, target font ids, each split's characters and
    the target fonts trained on (``targets``: all of ``fonts`` unless it was built with ``--train-fonts``), which
    the protocol renders; style accuracy picks among all of ``fonts`` and the source."""

    root: Path
    size: int
    source: str
    fonts: tuple[str, ...]
    splits: dict[str, str]
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.targets:  # trained on every font
            object.__setattr__(self, "targets", tuple(self.fonts))

    @classmethod
    def load(cls, root: str | Path) -> Benchmark:
        root = Path(root)
        if not is_benchmark(root):
            raise MissingPathError(f"{root / MANIFEST} not found: not a font benchmark; build one with `python -m "
                                   f"pono_gan.data.builders fonts --root {root}`")
        record = json.loads((root / MANIFEST).read_text())
        fonts = tuple(font["id"] for font in record["fonts"])
        targets = tuple(record.get("train_fonts") or ())  # none: every font (__post_init__)
        return cls(root, record["size"], record["source"]["id"], fonts, record["splits"], targets)

    def row(self, font: str) -> int:
        """``font``'s row in :meth:`glyphs` (the source's is 0)."""
        return self.fonts.index(font) + 1

    def content_path(self, split: str, char: str) -> Path:
        return self.root / f"{split}A" / glyph_name(char)

    def glyph_path(self, split: str, font: str, char: str) -> Path:
        return self.root / f"{split}B" / font / glyph_name(char)

    def glyphs(self, split: str, chars: str) -> Tensor:
        """``(1 + K, N, 1, H, W)`` in [0, 1]: the source font's drawings of ``chars`` first, then each target font's."""
        paths = [[self.content_path(split, c) for c in chars]]
        paths += [[self.glyph_path(split, font, c) for c in chars] for font in self.fonts]
        return torch.stack([torch.stack([load_image(path, channels=1) for path in row]) for row in paths])


def sample_triples(chars: str, fonts: Sequence[str], seed: int = 0) -> list[Triple]:
    """For every font and character, an example character drawn at random among the others (seeded)."""
    if len(chars) < 2:
        raise DataError("the protocol needs at least 2 test characters (an example is another character), "
                        f"got {len(chars)}")
    rng = np.random.default_rng(seed)
    triples = []
    for font in fonts:
        for index, char in enumerate(chars):
            other = int(rng.integers(len(chars) - 1))
            triples.append(Triple(char, font, chars[other + (other >= index)]))
    return triples


def _blurred(images: Tensor, size: int) -> Tensor:
    """(n, 1, H, W) -> (n, H * W): blurred with sigma = size / 32, flattened."""
    sigma = size / 32
    kernel = 2 * math.ceil(2 * sigma) + 1
    return kornia.filters.gaussian_blur2d(images.float(), (kernel, kernel), (sigma, sigma)).flatten(1)


#: the ink spread (the root mean square distance of the ink from its centroid, per axis) that moment normalization
#: gives every glyph, as a share of the image side (10.7 px at 64 px: the glyphs stay inside the frame)
SHAPE_SPREAD = 1 / 6


def moment_normalized(images: Tensor) -> Tensor:
    """(n, 1, H, W) glyphs in [0, 1] (ink dark on white) with their ink recentred and rescaled (one factor for both
    axes, so the aspect ratio is kept) to a spread of ``SHAPE_SPREAD`` of the side; white where the frame is left.

    Ink is darkness below the image's median (its page: a glyph covers well under half of it), so a tinted page
    weighs nothing; images with less than one pixel's worth of ink are left unchanged, and none is magnified more
    than 8 times (a speck does not fill the frame)."""
    n, _, height, width = images.shape
    page = images[:, 0].float().flatten(1).median(1).values
    ink = (page[:, None, None] - images[:, 0].float()).clamp(min=0)
    mass = ink.sum((1, 2))
    rows = torch.arange(height, dtype=torch.float32, device=images.device)[:, None]
    cols = torch.arange(width, dtype=torch.float32, device=images.device)[None]
    weight = ink / mass.clamp(min=1e-6)[:, None, None]
    centre_y, centre_x = (weight * rows).sum((1, 2)), (weight * cols).sum((1, 2))
    squared = (rows - centre_y[:, None, None]) ** 2 + (cols - centre_x[:, None, None]) ** 2
    variance = (weight * squared).sum((1, 2)) / 2  # per axis
    target = SHAPE_SPREAD * min(height, width)
    scale = variance.sqrt().clamp(min=target / 8) / target  # > 1: the glyph is larger than the target
    # output position -> input position in affine_grid's [-1, 1] coordinates: a pixel d pixels from the output's
    # centre reads the input scale * d pixels from the ink's centroid
    theta = torch.zeros(n, 2, 3, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, 0, 2] = (2 * centre_x + 1) / width - 1
    theta[:, 1, 2] = (2 * centre_y + 1) / height - 1
    keep = mass < 1
    theta[keep] = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], device=images.device)
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    return F.grid_sample(images.float() - 1, grid, align_corners=False) + 1  # zeros outside: white


def glyph_distances(outputs: Tensor, candidates: Tensor, size: int | None = None) -> Tensor:
    """The glyph distance (see the module docstring) between every output and every candidate, (n, m).

    Args:
        outputs: (n, 1, H, W) in [0, 1].
        candidates: (m, 1, H, W) in [0, 1].
        size: the benchmark's image side (sets the blur); default: H.
    """
    size = size or outputs.shape[-2]
    first, second = _blurred(outputs, size), _blurred(candidates, size)
    return torch.cdist(first, second, p=1) / first.shape[1]


def _gray(images: Tensor) -> Tensor:
    return images.mean(1, keepdim=True) if images.shape[1] > 1 else images


def _channels(images: Tensor, channels: int) -> Tensor:
    return images.expand(-1, channels, -1, -1) if images.shape[1] != channels else images


def model_renderers(model, device: str = "auto", train_mode: bool = False) -> tuple[Render, RenderRandom]:
    """A style checkpoint's :data:`Render` (its target domain's style encoder on the examples) and
    :data:`RenderRandom` (prior styles), run by :class:`pono_gan.inference.Translator` (``train_mode`` as there);
    outputs are made gray."""
    from pono_gan.inference import Translator, resolve_device

    if not model.styled:
        raise DataError(f"{model.path}: the font benchmark renders in the style of an example and needs a style "
                        "(MUNIT) checkpoint; score other models with --layout unpaired")
    translator = Translator(model.generator, resolve_device(device), train_mode=train_mode)
    content_channels, style_channels = model.config.in_channels, model.config.out_channels

    def render(contents: Tensor, examples: Tensor) -> Tensor:
        with torch.inference_mode():
            codes = model.generator.encode_style(_channels(examples, style_channels).to(translator.device) * 2 - 1)
        return _gray(translator(_channels(contents, content_channels), codes)[0])

    def render_random(contents: Tensor, generator: torch.Generator) -> Tensor:
        codes = model.generator.random_style(len(contents), generator)
        return _gray(translator(_channels(contents, content_channels), codes)[0])

    return render, render_random


def _set_metrics(chosen: Sequence[str], extractors: dict, outputs: dict[str, Tensor], targets: dict[str, Tensor],
                 batch_size: int, key: tuple) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The distribution metrics of ``chosen`` over all fonts (summary entries) and per font (values); the targets'
    features are kept for this process under ``key`` (an ablation scores many models on one benchmark)."""
    from pono_gan.evaluate.core import distribution_metric, known_targets, remember_targets
    from pono_gan.evaluate.features import FeatureBank

    def features(extractor, images: Tensor) -> Tensor:
        bank = FeatureBank(extractor, batch_size)
        bank.add(images)
        return bank.features()

    def target_features(backbone: str, font: str) -> Tensor:
        extractor = extractors[backbone]
        full = (*key, font, backbone, extractor.name, str(getattr(extractor, "weights", None)), str(extractor.device))
        known = known_targets(full)
        if known is None:
            known = features(extractor, targets[font])
            remember_targets(full, known)
        return known

    sets = {(backbone, font): (features(extractor, outputs[font]), target_features(backbone, font))
            for backbone, extractor in extractors.items() for font in outputs}
    overall, per_font = {}, {font: {} for font in outputs}
    for name in chosen:
        if name not in DISTRIBUTION_METRICS:
            continue
        backbone = DISTRIBUTION_METRICS[name][1]
        everything = {(backbone, side): torch.cat([sets[backbone, font][i] for font in outputs])
                      for i, side in enumerate(("outputs", "targets"))}
        overall[name] = distribution_metric(name, everything, extractors)
        for font in outputs:
            entry = distribution_metric(name, {(backbone, "outputs"): sets[backbone, font][0],
                                               (backbone, "targets"): sets[backbone, font][1]}, extractors)
            if isinstance(entry, dict):
                per_font[font][name] = entry["value"] if "value" in entry else entry["mean"]
    return overall, per_font


def _render_font(render: Render, glyphs: Tensor, blurred: Tensor, shapes: Tensor, k: int, triples: Sequence[Triple],
                 index: dict[str, int], batch_size: int) -> tuple[Tensor, dict[str, Tensor], Tensor, Tensor]:
    """Render target font ``k``'s triples (``glyphs[k]``; ``glyphs[0]`` is the source font) in batches: ``(outputs,
    per-image scores, the index of each output's nearest character in font k, of its nearest font)``; ``shapes``:
    font k's glyphs moment-normalized and blurred."""
    outputs, scores, nearest_chars, nearest_fonts = [], [], [], []
    for first in range(0, len(triples), batch_size):
        batch = triples[first:first + batch_size]
        chars = torch.tensor([index[t.char] for t in batch])
        examples = torch.tensor([index[t.example] for t in batch])
        with torch.inference_mode():
            rendered = render(glyphs[0, chars], glyphs[k, examples]).float().clamp(0, 1)
        batch_scores = paired_metrics(rendered, glyphs[k, chars])
        flat = _blurred(rendered, glyphs.shape[-1])
        nearest_char = torch.cdist(flat, blurred[k], p=1).argmin(1)
        nearest_font = (flat[None] - blurred[:, chars]).abs().mean(-1).argmin(0)  # over the 1 + K drawings of each c
        batch_scores["content_accuracy"] = (nearest_char == chars).double()
        batch_scores["style_accuracy"] = (nearest_font == k).double()
        batch_scores["source_font"] = (nearest_font == 0).double()
        nearest_shape = torch.cdist(_blurred(moment_normalized(rendered), glyphs.shape[-1]), shapes, p=1).argmin(1)
        batch_scores["shape_accuracy"] = (nearest_shape == chars).double()
        outputs.append(rendered)
        scores.append(batch_scores)
        nearest_chars.append(nearest_char)
        nearest_fonts.append(nearest_font)
    merged = {name: torch.cat([batch[name] for batch in scores]) for name in scores[0]}
    return torch.cat(outputs), merged, torch.cat(nearest_chars), torch.cat(nearest_fonts)


def _diversity(render_random: RenderRandom, contents: Tensor, num_styles: int, seed: int,
               batch_size: int) -> list[float]:
    """Per content image, the mean L1 between its renderings in ``num_styles`` random styles (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    diversity: list[float] = []
    for first in range(0, len(contents), batch_size):
        batch = contents[first:first + batch_size]
        with torch.inference_mode():
            diversity += pairwise_l1([render_random(batch, generator) for _ in range(num_styles)]).tolist()
    return diversity


def evaluate_fonts(
    render: Render,
    root: str | Path,
    split: str = "test",
    output: str | Path | None = None,
    scoring: Scoring | None = None,
    render_random: RenderRandom | None = None,
    seed: int = 0,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score ``render`` on the font benchmark at ``root`` (see the module docstring) as ``scoring`` says (its
    ``limit`` counts characters, each scored in every font); returns the summary, also written with
    ``per_image.csv`` under ``output`` when given.

    Args:
        render: the renderer (:func:`model_renderers`, or one of :data:`REFERENCES`).
        render_random: renders in random styles, for ``diversity_l1`` (None: no diversity).
        seed: the seed of the examples and the random styles.
        about: entries put first in the summary (the checkpoint, the direction).

    Raises:
        DataError / MissingPathError: not a font benchmark, an unknown split, fewer than 2 characters, a metric that
            cannot run here.
    """
    from pono_gan.evaluate.core import Scoring, make_extractors, select_metrics
    from pono_gan.inference import resolve_device

    scoring = scoring or Scoring()
    bench = Benchmark.load(root)
    if split not in bench.splits:
        raise DataError(f"split {split!r} not in {bench.root / MANIFEST}; valid: {', '.join(bench.splits)}")
    if split != "test" and bench.targets != bench.fonts:
        raise DataError(f"split {split!r} of {bench.root} holds only the trained fonts ({', '.join(bench.targets)}), "
                        f"and style accuracy picks among all {len(bench.fonts)}; score the test split")
    chosen, skipped, weights = select_metrics(scoring.metrics, "fonts", scoring.inception_weights,
                                              render_random is not None)
    if "diversity_l1" in chosen and scoring.num_styles < 2:
        raise DataError(f"--num-styles {scoring.num_styles}: diversity_l1 needs at least 2 random styles per input")
    chars = bench.splits[split][:scoring.limit]
    glyphs = bench.glyphs(split, chars)
    per_image = [name for name in chosen if name in PER_IMAGE_METRICS + ACCURACY_METRICS]
    rows, outputs_by_font = _render_all(render, bench, split, chars, glyphs, per_image, seed, scoring.batch_size)
    summary: dict[str, Any] = {
        **(about or {}), "data": str(root), "layout": "fonts", "split": split, "count": len(rows),
        "protocol": {"characters": len(chars), "fonts": list(bench.targets), "candidates": list(bench.fonts),
                     "source": bench.source, "seed": seed,
                     "example": "another test character drawn in the target font, at random (seeded)",
                     "distance": f"mean absolute difference after a Gaussian blur of sigma {bench.size / 32:g} px"},
        "metrics": {name: _mean_std([row[name] for row in rows]) for name in per_image},
        "distribution_metrics": {}, "skipped": skipped, "per_font": {},
    }
    for font in bench.targets:
        mine = [row for row in rows if row["font"] == font]
        summary["per_font"][font] = {name: _mean_std([row[name] for row in mine])["mean"] for name in per_image}
    if "diversity_l1" in chosen:
        diversity = _diversity(render_random, glyphs[0], scoring.num_styles, seed, scoring.batch_size)
        summary["metrics"]["diversity_l1"] = _mean_std(diversity)
        summary["styles"] = {"random_per_character": scoring.num_styles, "seed": seed}
    extractors = make_extractors(chosen, weights, resolve_device(scoring.device))
    if extractors:
        targets = {font: glyphs[bench.row(font)] for font in bench.targets}
        manifest = bench.root / MANIFEST
        key = ("fonts", str(manifest.resolve()), manifest.stat().st_mtime_ns, split, chars)
        overall, per_font = _set_metrics(chosen, extractors, outputs_by_font, targets, scoring.batch_size, key)
        for name, entry in overall.items():
            summary["skipped" if isinstance(entry, str) else "distribution_metrics"][name] = entry
        for font, values in per_font.items():
            summary["per_font"][font].update(values)
    if output is not None:
        _write(Path(output), summary, rows)
    return summary


def _render_all(render: Render, bench: Benchmark, split: str, chars: str, glyphs: Tensor, per_image: Sequence[str],
                seed: int, batch_size: int) -> tuple[list[dict[str, Any]], dict[str, Tensor]]:
    """Every (character, trained font) rendering of the protocol: its ``per_image.csv`` rows, and the outputs by
    font."""
    blurred = torch.stack([_blurred(font, bench.size) for font in glyphs])  # (1 + K, N, H * W)
    triples = sample_triples(chars, bench.targets, seed)
    index = {char: i for i, char in enumerate(chars)}
    names = (bench.source, *bench.fonts)
    rows: list[dict[str, Any]] = []
    outputs_by_font: dict[str, Tensor] = {}
    for font in bench.targets:
        k = bench.row(font)
        mine = [t for t in triples if t.font == font]
        shapes = _blurred(moment_normalized(glyphs[k]), bench.size)
        rendered, scores, nearest_char, nearest_font = _render_font(render, glyphs, blurred, shapes, k, mine, index,
                                                                    batch_size)
        for j, triple in enumerate(mine):
            rows.append({
                "input": str(bench.content_path(split, triple.char)),
                "example": str(bench.glyph_path(split, font, triple.example)),
                "target": str(bench.glyph_path(split, font, triple.char)),
                "font": font, "char": triple.char, "example_char": triple.example,
                **{name: scores[name][j].item() for name in per_image},
                "nearest_char": chars[int(nearest_char[j])], "nearest_font": names[int(nearest_font[j])],
            })
        outputs_by_font[font] = rendered
    return rows, outputs_by_font


def figure_samples(root: str | Path, count: int = 8, split: str = "test") -> tuple[Tensor, Tensor, Tensor]:
    """``(contents, examples, truths)``, each (count, 1, H, W) in [0, 1]: ``count`` triples of the protocol spread
    evenly over its list (so over the fonts), for a sample grid."""
    bench = Benchmark.load(root)
    chars = bench.splits[split]
    triples = sample_triples(chars, bench.targets)
    per_font = len(chars)  # the triples are font by font: row i shows font i mod K and a character of its own
    chosen = [triples[(i % len(bench.targets)) * per_font + i * per_font // count]
              for i in range(min(count, len(triples)))]
    load = [[bench.content_path(split, t.char), bench.glyph_path(split, t.font, t.example),
             bench.glyph_path(split, t.font, t.char)] for t in chosen]
    return tuple(torch.stack([load_image(row[i], channels=1) for row in load]) for i in range(3))  # type: ignore[return-value]


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    tensor = torch.tensor(values, dtype=torch.float64)
    return {"mean": tensor.mean().item(), "std": tensor.std(unbiased=False).item()}


def _write(output: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "per_image.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (output / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
