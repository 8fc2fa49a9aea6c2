import pytest
import torch

from pono_gan.layers import NORM_NAMES
from pono_gan.models import MultiScaleDiscriminator, PatchDiscriminator, build_discriminator


@pytest.mark.parametrize("norm", NORM_NAMES)
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_patch_discriminator(norm, spectral_norm):
    discriminator = PatchDiscriminator(in_channels=6, base_channels=8, norm=norm, spectral_norm=spectral_norm)
    out = discriminator(torch.randn(2, 6, 64, 64))
    assert out.shape == (2, 1, 6, 6)  # 70x70 receptive field patches
    out.mean().backward()


def test_spectral_norm_wraps_convs():
    discriminator = PatchDiscriminator(base_channels=4, spectral_norm=True, norm="none")
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(c, "weight_orig") for c in convs)


def test_multiscale():
    discriminator = build_discriminator(num_scales=3, base_channels=4, num_layers=2)
    assert isinstance(discriminator, MultiScaleDiscriminator)
    outs = discriminator(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape[-2:]) for o in outs] == [(14, 14), (6, 6), (2, 2)]
    assert isinstance(build_discriminator(num_scales=1), PatchDiscriminator)
    with pytest.raises(ValueError, match="num_scales"):
        MultiScaleDiscriminator(0)
