"""Paired image metrics on images in [0, 1], one value per image (the batch mean is left to the caller)."""

from __future__ import annotations

import kornia
import torch
from torch import Tensor

__all__ = ["l1_per_image", "psnr_per_image", "ssim_per_image", "paired_metrics", "pairwise_l1"]


def _check(prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape or prediction.dim() != 4:
        raise ValueError("metrics need two (B, C, H, W) batches of one shape, "
                         f"got {tuple(prediction.shape)} and {tuple(target.shape)}")


def l1_per_image(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error of each image, (B,)."""
    _check(prediction, target)
    return (prediction.float() - target.float()).abs().flatten(1).mean(1)


def psnr_per_image(prediction: Tensor, target: Tensor, data_range: float = 1.0, max_db: float = 100.0) -> Tensor:
    """PSNR of each image in dB, (B,); identical images give ``max_db``.

    (kornia.metrics.psnr computes one error over the whole batch, which is not the per-image mean papers report.)
    """
    _check(prediction, target)
    mse = (prediction.float() - target.float()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse.clamp_min(1e-20))).clamp(max=max_db)


def ssim_per_image(prediction: Tensor, target: Tensor, window_size: int = 11) -> Tensor:
    """Mean SSIM of each image, (B,) (kornia returns a per-pixel map; this averages it)."""
    _check(prediction, target)
    return kornia.metrics.ssim(prediction.float(), target.float(), window_size, max_val=1.0).flatten(1).mean(1)


def paired_metrics(prediction: Tensor, target: Tensor) -> dict[str, Tensor]:
    """``{"l1", "psnr", "ssim"}``, each (B,), for images in [0, 1]."""
    return {
        "l1": l1_per_image(prediction, target),
        "psnr": psnr_per_image(prediction, target),
        "ssim": ssim_per_image(prediction, target),
    }


def pairwise_l1(outputs: list[Tensor]) -> Tensor:
    """Diversity: the mean L1 between every two of ``outputs`` (each (B, C, H, W), e.g. one input in several
    styles), per image, (B,). 0 when all are equal; MUNIT reports the same statistic with LPIPS distances."""
    if len(outputs) < 2:
        raise ValueError(f"pairwise_l1 needs at least 2 outputs per input, got {len(outputs)}")
    pairs = [l1_per_image(a, b) for i, a in enumerate(outputs) for b in outputs[i + 1 :]]
    return torch.stack(pairs).mean(0)
