import itertools

import pytest
import torch

from pono_gan.layers import NORM_NAMES, PONO, DynamicMomentShortcut, MomentShortcut
from pono_gan.models import GeneratorConfig, ResnetGenerator, UnetGenerator, build_generator, init_weights

VARIANTS = [(False, "none"), (True, "none"), (True, "ms"), (True, "dms")]


def small(arch, norm, pono, shortcut):
    return GeneratorConfig(
        arch=arch,
        base_channels=8,
        num_blocks=1,
        num_downsampling=2 if arch == "resnet" else 4,
        norm=norm,
        pono=pono,
        shortcut=shortcut,
    )


@pytest.mark.parametrize("arch", ["resnet", "unet"])
@pytest.mark.parametrize("norm", NORM_NAMES)
@pytest.mark.parametrize("pono,shortcut", VARIANTS)
def test_every_combination_runs_forward_and_backward(arch, norm, pono, shortcut):
    generator = init_weights(build_generator(small(arch, norm, pono, shortcut)))
    x = torch.randn(2, 3, 32, 32)
    y, moments = generator.forward_with_moments(x)
    assert y.shape == (2, 3, 32, 32)
    assert y.abs().max() <= 1
    y.mean().backward()
    assert all(p.grad is not None for p in generator.parameters() if p.requires_grad)
    num_stages = generator.num_downsampling
    if pono:
        assert [tuple(m.mean.shape) for m in moments] == [(2, 1, 32 >> s, 32 >> s) for s in range(1, num_stages + 1)]
        assert all(m.std.shape == m.mean.shape for m in moments)
    else:
        assert moments == []


@pytest.mark.parametrize("arch", ["resnet", "unet"])
@pytest.mark.parametrize("norm", ["instance", "group"])
def test_baseline_and_pono_differ_only_in_pono_and_shortcut(arch, norm):
    baseline = build_generator(small(arch, norm, False, "none"))
    for pono, shortcut in VARIANTS[1:]:
        variant = build_generator(small(arch, norm, pono, shortcut))
        extra = {type(m) for m in variant.modules()} - {type(m) for m in baseline.modules()}
        allowed = {PONO, MomentShortcut, DynamicMomentShortcut, torch.nn.Conv2d, torch.nn.ReLU}
        assert extra <= allowed
        assert not any(isinstance(m, PONO) for m in baseline.modules())
        # parameters differ only by the DMS heads
        base_count = sum(p.numel() for p in baseline.parameters())
        dms = sum(p.numel() for m in variant.modules() if isinstance(m, DynamicMomentShortcut) for p in m.parameters())
        assert sum(p.numel() for p in variant.parameters()) == base_count + dms
        # the norm asked for is the norm used, PONO stages included (no hard-coded BatchNorm)
        norm_types = {type(m).__name__ for m in variant.modules() if "Norm" in type(m).__name__}
        assert norm_types == {"InstanceNorm2d" if norm == "instance" else "GroupNorm"}


def test_ms_adds_no_parameters_and_dms_count():
    baseline = sum(p.numel() for p in ResnetGenerator().parameters())
    assert sum(p.numel() for p in ResnetGenerator(pono=True, shortcut="ms").parameters()) == baseline
    # two DMS heads, 256 and 128 channels, hidden 16: 13,664 parameters (0.0137 M)
    assert sum(p.numel() for p in ResnetGenerator(pono=True, shortcut="dms").parameters()) - baseline == 13664


def test_shortcut_changes_output():
    x = torch.randn(1, 3, 32, 32)
    torch.manual_seed(1)
    plain = init_weights(build_generator(small("resnet", "instance", True, "none"))).eval()
    torch.manual_seed(1)
    with_ms = init_weights(build_generator(small("resnet", "instance", True, "ms"))).eval()
    assert not torch.allclose(plain(x), with_ms(x))
    # a fresh DMS is the identity: the same weights give the same output as PONO without shortcut
    torch.manual_seed(1)
    with_dms = init_weights(build_generator(small("resnet", "instance", True, "dms"))).eval()
    with_dms.load_state_dict(plain.state_dict(), strict=False)
    torch.testing.assert_close(with_dms(x), plain(x))


@pytest.mark.parametrize("cls,multiple", [(ResnetGenerator, 4), (UnetGenerator, 256)])
def test_indivisible_size_error(cls, multiple):
    generator = cls(base_channels=4)
    with pytest.raises(ValueError, match=f"divisible by {multiple}"):
        generator(torch.randn(1, 3, multiple + 2, multiple))


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        ResnetGenerator(base_channels=4)(torch.randn(1, 1, 8, 8))


def test_shortcut_needs_pono():
    with pytest.raises(ValueError, match="needs pono=True"):
        ResnetGenerator(shortcut="ms")


@pytest.mark.parametrize("bad", [dict(norm="weird"), dict(shortcut="x", pono=True)])
def test_bad_names(bad):
    with pytest.raises(ValueError, match="valid"):
        ResnetGenerator(**bad)


def test_config_round_trip_and_unknown_key():
    config = small("unet", "group", True, "dms")
    assert GeneratorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown generator settings"):
        GeneratorConfig.from_dict({**config.to_dict(), "ngf": 64})


def test_bf16_autocast_forward_backward():
    generator = init_weights(build_generator(small("resnet", "group", True, "ms")))
    x = torch.randn(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = generator(x)
    y.float().mean().backward()
    assert torch.isfinite(y.float()).all()


@pytest.mark.parametrize("init_type", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_types(init_type):
    generator = init_weights(build_generator(small("resnet", "batch", True, "dms")), init_type, gain=0.02)
    conv = generator.stem[1]
    assert conv.weight.std() > 0
    dms = next(m for m in generator.modules() if isinstance(m, DynamicMomentShortcut))
    assert dms.head.weight.abs().sum() == 0  # identity start survives the generic init
    with pytest.raises(ValueError, match="normal, xavier"):
        init_weights(generator, "uniformish")


def test_unet_dropout_levels():
    generator = UnetGenerator(base_channels=4, num_downsampling=8, dropout=0.5)
    dropout_levels = [i for i, stage in enumerate(generator.up) if any(isinstance(m, torch.nn.Dropout) for m in stage.modules())]
    assert dropout_levels == [4, 5, 6]


def test_decoder_needs_moments():
    generator = build_generator(small("resnet", "instance", True, "ms"))
    h, skips, moments = generator.encode(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="needs the moments"):
        generator.decode(h, skips, [None] * len(moments))


def test_all_variants_listed():
    assert len(list(itertools.product(["resnet", "unet"], NORM_NAMES, VARIANTS))) == 40
