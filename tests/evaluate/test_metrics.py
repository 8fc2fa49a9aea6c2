import math

import pytest
import torch

from pono_gan.evaluate.metrics import l1_per_image, paired_metrics, psnr_per_image, ssim_per_image


def test_psnr_is_a_per_image_mean_not_a_pooled_error():
    target = torch.zeros(2, 3, 8, 8)
    prediction = target.clone()
    prediction[0] += 0.1  # MSE 0.01 -> 20 dB
    prediction[1] += 0.01  # MSE 1e-4 -> 40 dB
    psnr = psnr_per_image(prediction, target)
    torch.testing.assert_close(psnr, torch.tensor([20.0, 40.0]))
    pooled = 10 * math.log10(1 / ((0.01 + 1e-4) / 2))  # what kornia.metrics.psnr reports for the batch
    assert psnr.mean().item() == pytest.approx(30.0) and pooled == pytest.approx(22.97, abs=0.01)


def test_identical_images():
    x = torch.rand(3, 3, 16, 16)
    scores = paired_metrics(x, x)
    assert torch.all(scores["l1"] == 0) and torch.all(scores["psnr"] == 100)
    torch.testing.assert_close(scores["ssim"], torch.ones(3))


def test_l1_and_ssim_per_image():
    x = torch.rand(2, 1, 16, 16)
    y = x.clone()
    y[1] = 1 - y[1]
    torch.testing.assert_close(l1_per_image(x, y)[0], torch.tensor(0.0))
    ssim = ssim_per_image(x, y)
    assert ssim[0] == pytest.approx(1.0, abs=1e-5) and ssim[1] < 0.5


def test_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(2, 3, 8, 8\) and \(2, 3, 8, 9\)"):
        paired_metrics(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 9))
