import pytest
import torch
from torch import nn

from pono_gan.layers import NORM_NAMES
from pono_gan.models import (
    MultiScaleDiscriminator,
    MunitPatchDiscriminator,
    PatchDiscriminator,
    build_discriminator,
    receptive_field,
)


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


def munit_reference_scale(in_channels=3, dim=64, n_layer=4):
    """One scale of MUNIT's MsImageDis as its networks.py lays it out (Conv2dBlock = explicit ReflectionPad2d, a
    conv with a bias, no norm, LeakyReLU 0.2; then a 1x1 conv), written from that structure for comparison."""
    layers, width_in = [], in_channels
    for n in range(n_layer):
        width = dim * 2**n
        layers += [torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(width_in, width, 4, 2), torch.nn.LeakyReLU(0.2)]
        width_in = width
    return torch.nn.Sequential(*layers, torch.nn.Conv2d(width_in, 1, 1, 1, 0))


def test_munit_discriminator_has_munits_structure_and_size():
    discriminator = build_discriminator(num_scales=3, arch="munit", base_channels=64, num_layers=4, norm="none")
    assert isinstance(discriminator, MultiScaleDiscriminator)
    assert all(isinstance(scale, MunitPatchDiscriminator) for scale in discriminator.discriminators)
    per_scale = [sum(p.numel() for p in scale.parameters()) for scale in discriminator.discriminators]
    reference = sum(p.numel() for p in munit_reference_scale().parameters())
    assert per_scale == [reference] * 3 == [2_757_057] * 3  # 2.76 M a scale on RGB (PatchGAN, 4 layers: 6.96 M)
    with torch.no_grad():
        outs = discriminator(torch.randn(1, 3, 256, 256))
    assert [tuple(o.shape) for o in outs] == [(1, 1, 16, 16), (1, 1, 8, 8), (1, 1, 4, 4)]


def test_munit_scale_computes_what_munits_layers_compute():
    ours = MunitPatchDiscriminator(in_channels=3, base_channels=8, num_layers=4)
    reference = munit_reference_scale(dim=8)
    ours_convs = [m for m in ours.modules() if isinstance(m, torch.nn.Conv2d)]
    reference_convs = [m for m in reference.modules() if isinstance(m, torch.nn.Conv2d)]
    for mine, theirs in zip(ours_convs, reference_convs, strict=True):
        theirs.load_state_dict(mine.state_dict())
    x = torch.randn(2, 3, 48, 40)
    torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-6)
    zero_padded = MunitPatchDiscriminator(in_channels=3, base_channels=8, num_layers=4, padding="zeros")
    zero_padded.load_state_dict(ours.state_dict())
    assert not torch.allclose(zero_padded(x), reference(x), atol=1e-3)  # the padding is what makes it MUNIT's


def test_unknown_discriminator_arch_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown discriminator arch 'pix2pix'; valid: patchgan, munit"):
        build_discriminator(arch="pix2pix")


@pytest.mark.parametrize("arch, num_layers", [("patchgan", 2), ("patchgan", 3), ("munit", 2), ("munit", 4)])
def test_each_scales_receptive_field_is_what_the_gradient_reaches(arch, num_layers):
    """The formula against the network: the input pixels a centre logit's gradient reaches, at each scale."""
    discriminator = MultiScaleDiscriminator(3, arch, in_channels=1, base_channels=2, num_layers=num_layers, norm="none")
    for module in discriminator.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.uniform_(module.weight, 0.5, 1.0)  # positive weights: nothing cancels, every path shows
    for scale in range(3):
        size = 512
        image = torch.zeros(1, 1, size, size, requires_grad=True)
        logits = discriminator(image)[scale]
        h, w = logits.shape[-2:]
        logits[0, 0, h // 2, w // 2].backward()
        rows = image.grad[0, 0].abs().sum(1).nonzero()
        assert rows.max() - rows.min() + 1 == receptive_field(arch, num_layers, scale), scale
    assert [receptive_field("munit", 4, s) for s in range(3)] == [46, 93, 187]  # MUNIT: 18%, 36%, 73% of 256 px


def test_a_field_of_view_picks_the_layers_and_the_font_config_sees_all_of_a_glyph():
    import yaml

    from pono_gan.tasks import DiscriminatorConfig

    munit = DiscriminatorConfig(arch="munit", num_scales=3, field_of_view=0.73, image_size=256).resolved()
    assert munit.num_layers == 4 and munit.fields() == [46, 93, 187]
    at_64 = DiscriminatorConfig(arch="munit", num_scales=3, field_of_view=0.73, image_size=64).resolved()
    assert at_64.num_layers == 2 and [round(f / 64, 2) for f in at_64.fields()] == [0.16, 0.33, 0.67]  # MUNIT's shares
    config = yaml.safe_load(open("configs/ablation/fonts_style.yaml"))["model"]["init_args"]["discriminator"]
    base = yaml.safe_load(open("configs/style/base.yaml"))["model"]["init_args"]["discriminator"]
    fonts = DiscriminatorConfig(**{**base, **config}).resolved()
    assert fonts.fields() == [70, 141]  # of a 64 px glyph: all of it at either scale
    with pytest.raises(ValueError, match="field_of_view needs image_size"):
        DiscriminatorConfig(field_of_view=0.7).resolved()


@pytest.mark.parametrize("arch,num_layers,num_scales", [("patchgan", 3, 1), ("patchgan", 3, 2), ("munit", 4, 3),
                                                        ("munit", 2, 3)])
def test_an_image_too_small_for_the_discriminator_is_one_line_naming_the_fix(arch, num_layers, num_scales):
    from pono_gan.errors import ConfigError
    from pono_gan.models import build_discriminator
    from pono_gan.models.discriminators import min_input_size

    smallest = min_input_size(arch, num_layers, num_scales)
    discriminator = build_discriminator(num_scales, arch, in_channels=1, num_layers=num_layers)
    discriminator(torch.zeros(1, 1, smallest, smallest + 5))  # the smallest side that fits runs
    with pytest.raises(ConfigError) as error:
        discriminator(torch.zeros(1, 1, smallest + 5, smallest - 1))
    message = str(error.value)
    assert message.startswith(f"discriminator.num_layers={num_layers}: {num_scales} scale(s)") and "\n" not in message
    assert f"at least {smallest} x {smallest} px, got {smallest - 1} x {smallest + 5}; use fewer num_layers" in message
