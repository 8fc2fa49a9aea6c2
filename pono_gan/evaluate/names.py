"""The metric and layout names ``evaluate`` knows, in a module that imports nothing heavy (so ``--help`` is instant)."""

from __future__ import annotations

#: the data layouts evaluate reads, and ``fonts``: the font benchmark's example-guided protocol
#: (:mod:`pono_gan.evaluate.fonts`; its data is in the ``unpaired`` layout plus ``fonts.json``)
LAYOUTS = ("paired", "aligned", "unpaired", "fonts")
PER_IMAGE_METRICS = ("l1", "psnr", "ssim")
#: per-image metrics of the font benchmark only (:mod:`pono_gan.evaluate.fonts`)
ACCURACY_METRICS = ("content_accuracy", "shape_accuracy", "style_accuracy", "source_font")
#: per-image metrics of style models only, from ``num_styles`` random styles per input
STYLE_METRICS = ("l1_random", "diversity_l1")
# name -> (kind, backbone, description)
DISTRIBUTION_METRICS: dict[str, tuple[str, str, str]] = {
    "fd_effnet_lite0": ("fd", "effnet", "Frechet distance on EfficientNet-Lite0 features, not comparable to FID"),
    "kid_effnet_lite0": ("kid", "effnet",
                         "KID (polynomial-kernel MMD^2) on EfficientNet-Lite0 features, not comparable to KID"),
    "fid": ("fd", "inception", "FID: Frechet distance on Inception v3 pool3 features"),
    "kid": ("kid", "inception", "KID: polynomial-kernel MMD^2 on Inception v3 pool3 features"),
}
METRICS = PER_IMAGE_METRICS + ACCURACY_METRICS + STYLE_METRICS + tuple(DISTRIBUTION_METRICS)
#: the metrics that compare each output with its own target
NEEDS_PAIRS = PER_IMAGE_METRICS + ("l1_random",)
