import itertools

import pytest
import torch

from pono_gan.errors import ConfigError
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


def test_a_config_checks_its_fields_when_made():
    assert GeneratorConfig(arch="unet", num_blocks=0).num_blocks == 0  # blocks are a resnet setting
    assert GeneratorConfig(num_downsampling=0).num_downsampling == 0  # 0, as None, means the arch's default
    for bad, field in ((dict(arch="resnet", num_blocks=0), "num_blocks"), (dict(arch="unet", num_downsampling=1),
                       "num_downsampling"), (dict(arch="unet", sampling_norm="batch"), "sampling_norm"),
                       (dict(dropout=1.0), "dropout"), (dict(base_channels=0), "base_channels")):
        with pytest.raises(ConfigError) as caught:
            GeneratorConfig(**bad)
        assert caught.value.key == field


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
    dropout_levels = [i for i, stage in enumerate(generator.up)
                      if any(isinstance(m, torch.nn.Dropout) for m in stage.modules())]
    assert dropout_levels == [4, 5, 6]


@pytest.mark.parametrize(
    "netG,norm,count",
    [
        # junyanz's define_G(3, 3, 64, netG, norm): what its "Total number of parameters" prints for each
        ("resnet_9blocks", "instance", 11_378_179),
        ("resnet_6blocks", "instance", 7_837_699),
        ("resnet_9blocks", "batch", 11_383_427),
        ("unet_256", "batch", 54_413_955),  # no bias on the outermost and innermost down convs with batch norm
        ("unet_128", "batch", 41_828_995),
        ("unet_256", "instance", 54_409_603),
    ],
)
def test_parameter_counts_are_junyanzs(netG, norm, count):
    arch, size = netG.split("_")
    config = GeneratorConfig(
        arch=arch, norm=norm, num_blocks=int(size.rstrip("blocks")) if arch == "resnet" else 9,
        num_downsampling={"256": 8, "128": 7}.get(size) if arch == "unet" else None,
    )
    assert sum(p.numel() for p in build_generator(config).parameters()) == count


def test_unset_norm_and_dropout_mean_cyclegans_defaults():
    config = GeneratorConfig(arch="unet")
    assert (config.norm, config.dropout) == (None, None)  # unset: the task decides (pix2pix's unet: batch, 0.5)
    assert (config.resolved().norm, config.resolved().dropout) == ("instance", 0.0)
    assert (config.resolved({"unet": {"norm": "batch", "dropout": 0.5}})
            == GeneratorConfig(arch="unet", norm="batch", dropout=0.5))
    explicit = GeneratorConfig(arch="unet", norm="group", dropout=0.0)
    assert explicit.resolved({"unet": {"norm": "batch", "dropout": 0.5}}) == explicit  # what the user set stays
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in build_generator(GeneratorConfig(arch="unet", base_channels=4)).modules())


def test_decoder_needs_moments():
    generator = build_generator(small("resnet", "instance", True, "ms"))
    h, skips, moments = generator.encode(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match="needs the moments"):
        generator.decode(h, skips, [None] * len(moments))


def test_all_variants_listed():
    assert len(list(itertools.product(["resnet", "unet"], NORM_NAMES, VARIANTS))) == 40


@pytest.mark.parametrize("arch", ["resnet", "unet"])
@pytest.mark.parametrize("norm", ["instance", "group"])
def test_pono_sits_right_after_each_strided_conv_and_ms_at_the_mirrored_decoder_input(arch, norm):
    """PONO takes its moments from the strided conv's output, before the norm; the decoder stage that mirrors
    an encoder stage gets that stage's moments (deepest first) and applies ``h * std + mean`` to its input
    before it upsamples."""
    config = GeneratorConfig(arch=arch, base_channels=8, num_blocks=1, num_downsampling=3, norm=norm, pono=True,
                             shortcut="ms")
    generator = build_generator(config).eval()
    conv_outputs, stage_inputs, body_inputs = [], [], []
    for stage in generator.down:
        stage.conv.register_forward_hook(lambda module, args, output: conv_outputs.append(output))
    for stage in generator.up:
        stage.register_forward_pre_hook(lambda module, args: stage_inputs.append(args))
        stage.body.register_forward_pre_hook(lambda module, args: body_inputs.append(args[0]))
    _, moments = generator.forward_with_moments(torch.randn(2, 3, 32, 32))
    assert len(moments) == len(conv_outputs) == 3
    for features, (mean, std) in zip(conv_outputs, moments):
        torch.testing.assert_close(mean, features.mean(1, keepdim=True))
        torch.testing.assert_close(std, (features.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt())
    # decoder stages run deepest first (the U-Net's innermost stage is up[-1] and runs first)
    ran = sorted(zip(stage_inputs, body_inputs), key=lambda pair: pair[0][0].shape[-1])
    assert len(ran) == 3
    for ((x, passed), body_input), expected in zip(ran, reversed(moments)):
        assert all(torch.equal(a, b) for a, b in zip(passed, expected))
        torch.testing.assert_close(body_input, x * expected.std + expected.mean)
