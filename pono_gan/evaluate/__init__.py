"""Evaluate a checkpoint on a held-out split: per-image metrics against the targets and distribution metrics.

    python -m pono_gan.evaluate --checkpoint runs/demo/checkpoints/last.ckpt            # the data it trained on
    python -m pono_gan.evaluate --checkpoint last.ckpt --data data/facades --layout aligned --split val
    python -m pono_gan.evaluate --checkpoint last.ckpt --inception-weights weights-inception-2015-12-05-6726825d.pth
    python -m pono_gan.evaluate --checkpoint cyclegan.ckpt --direction AtoB --data data/horse2zebra --layout unpaired
    python -m pono_gan.evaluate --checkpoint style.ckpt --direction AtoB --data data/song2kai --layout paired

Each input is translated at its own resolution exactly as ``infer.py`` does (padded to the generator's multiple,
cropped back). Metrics (``--metrics`` picks; default: all that can run):

* per image, against the target of each pair (``paired`` / ``aligned`` layouts): ``l1`` (mean absolute error in
  [0, 1]), ``psnr`` in dB (one value per image, then the mean: kornia's psnr would pool the batch), ``ssim``
  (11 x 11 Gaussian window, averaged over the image);
* distribution metrics, the set of translations against the set of targets (any layout; for ``unpaired`` every
  input is translated once and compared with every target-domain image): ``fd_effnet_lite0`` and
  ``kid_effnet_lite0``, the Frechet distance and KID on EfficientNet-Lite0 features (weights installed with the
  package, so they work offline; not comparable to FID / KID), and ``fid`` / ``kid`` on the Inception v3 FID
  network, whose weights are a separate download (``--inception-weights``; see :mod:`pono_gan.evaluate.features`). By
  default FID / KID are skipped with a note when the weights are not found; asked for by name, they are an error.
  KID uses subsets of ``min(1000, n_outputs, n_targets)`` images (torchmetrics' 1000 fails on small sets).

A style (MUNIT) model renders each input in the style of an example: the *next* target image (in sorted order,
wrapping around), so never the input's own target; the metrics above score that result, which for data whose
true correspondences are known (``paired`` / ``aligned``) measures content preservation. It also renders each input
in ``--num-styles`` random styles (seeded, fresh codes per input) for two more per-image metrics: ``l1_random``, the
mean L1 of those results against the target, and ``diversity_l1``, the mean L1 between every two of them (how much
the style code changes the result; 0 means the style is ignored).

``--references`` also scores doing nothing, the input unchanged and a constant image of the targets' median colour
(:mod:`pono_gan.evaluate.references`), into ``OUTPUT/references/``: what a model's numbers must beat.

Outputs: ``OUTPUT/per_image.csv`` (input, target and the per-image metrics) and ``OUTPUT/summary.json`` (mean and
standard deviation of each per-image metric; each distribution metric with its description, feature extractor,
image counts and KID subset size; the skipped metrics with the reason; the checkpoint and the data).
"""

from pono_gan.lazy import lazy_exports

# Names are imported on first use (PEP 562): the command line parses its flags before torch loads.
_HOMES = {
    "DISTRIBUTION_METRICS": "names",
    "LAYOUTS": "names",
    "METRICS": "names",
    "PER_IMAGE_METRICS": "names",
    "Scoring": "core",
    "describe": "core",
    "evaluate": "core",
    "main": "cli",
    "select_metrics": "core",
}
__all__ = list(_HOMES)

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
