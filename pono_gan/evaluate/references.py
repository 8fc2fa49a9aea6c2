"""Trivial outputs to read a model's scores against: the input unchanged, and a constant image of the targets'
median colour. Neither is a model; a variant that does not beat them on a metric has learned nothing that metric
sees. On the glyphs, for instance, mostly white background, a blank page has a better SSIM than a half-trained
style model.

:func:`reference_models` makes them as :class:`pono_gan.inference.Model` objects, so :func:`pono_gan.evaluate.evaluate`
scores them like any checkpoint (per-image and distribution metrics; not the style metrics: they have no style).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor, nn

from pono_gan.data.datasets import make_dataset
from pono_gan.data.transforms import Preprocessing
from pono_gan.inference import Model

__all__ = ["REFERENCES", "TrivialGenerator", "reference_models", "target_median"]

#: the references, by label: ``identity`` (the input unchanged) or ``median`` (a constant image)
REFERENCES = {"input unchanged": "identity", "constant image (the targets' median colour)": "median"}


class TrivialGenerator(nn.Module):
    """The input unchanged (averaged to one channel, or a grey input repeated, where the channel counts differ), or
    with ``constant`` (one value per output channel, in [-1, 1]) that constant at the input's size."""

    multiple = 1
    has_pono = False

    def __init__(self, out_channels: int, constant: Tensor | None = None) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.register_buffer("constant", torch.empty(0) if constant is None else constant.float())

    def forward(self, x: Tensor) -> Tensor:
        if self.constant.numel():
            return self.constant.view(1, -1, 1, 1).expand(x.shape[0], -1, *x.shape[-2:])
        if x.shape[1] == self.out_channels:
            return x
        return x.mean(1, keepdim=True).expand(-1, self.out_channels, -1, -1)


def target_median(model: Model, root: str | Path, layout: str, split: str = "test") -> Tensor:
    """The median of each channel over every pixel of the split's target images, in [-1, 1] (to 1/255, from a
    256-bin histogram: bounded memory whatever the data set's size)."""
    dataset = make_dataset(root, layout, split, preprocessing=Preprocessing("none", size_multiple=1),
                           direction=model.direction, channels=(model.config.in_channels, model.config.out_channels),
                           train=False)
    counts = torch.zeros(model.config.out_channels, 256, dtype=torch.float64)
    for index in range(len(dataset.image_paths["B"])):  # sample i holds target i (unpaired: i % n_B)
        target = dataset[index]["B"]
        bins = ((target.flatten(1) + 1) * 127.5).round().clamp(0, 255).long()
        counts += torch.zeros_like(counts).scatter_add_(1, bins, torch.ones_like(bins, dtype=torch.float64))
    cumulative = counts.cumsum(1)
    median_bins = (cumulative >= cumulative[:, -1:] / 2).float().argmax(1)
    return median_bins.float() / 127.5 - 1


def reference_models(model: Model, root: str | Path, layout: str, split: str = "test") -> dict[str, Model]:
    """The trivial references of :data:`REFERENCES` for ``model``'s data (its channels and direction), by label."""
    out_channels = model.config.out_channels
    generators = {"identity": lambda: TrivialGenerator(out_channels),
                  "median": lambda: TrivialGenerator(out_channels, target_median(model, root, layout, split))}
    return {label: replace(model, generator=generators[kind]().eval(), path=Path(kind))
            for label, kind in REFERENCES.items()}
