import pytest
import torch
import torch.nn.functional as F

from pono_gan.layers import PONO, DynamicMomentShortcut, MomentShortcut, MunitLayerNorm
from pono_gan.models import MunitConfig, MunitGenerator, ResnetGenerator, build_munit, init_weights, translate

VARIANTS = [(False, "none"), (True, "none"), (True, "ms"), (True, "dms")]


def small(norm="instance", pono=False, shortcut="none", **overrides):
    values = dict(base_channels=4, num_blocks=1, mlp_dim=16, style_dim=8, norm=norm, pono=pono, shortcut=shortcut)
    return MunitConfig(**{**values, **overrides})


def images(batch=2, channels=3, size=32, seed=0):
    return torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("norm", ["instance", "group"])
@pytest.mark.parametrize("pono,shortcut", VARIANTS)
@pytest.mark.parametrize("num_downsampling", [1, 2, 3])
def test_shapes_and_moments_per_stage(norm, pono, shortcut, num_downsampling):
    generator = init_weights(build_munit(small(norm, pono, shortcut, num_downsampling=num_downsampling)), "kaiming")
    x = images()
    content, style, moments = generator.encode(x)
    assert content.shape == (2, 4 * 2**num_downsampling, 32 >> num_downsampling, 32 >> num_downsampling)
    assert style.shape == (2, 8)
    if pono:
        assert ([tuple(m.mean.shape) for m in moments]
                == [(2, 1, 32 >> s, 32 >> s) for s in range(1, num_downsampling + 1)])
        assert all(m.std.shape == m.mean.shape and (m.std > 0).all() for m in moments)
    else:
        assert moments == []
    assert generator.has_pono == pono
    y = generator.decode(content, style, moments)
    assert y.shape == x.shape  # the output size equals the input size
    assert y.abs().max() <= 1
    assert generator(x, generator.random_style(2)).shape == x.shape


@pytest.mark.parametrize("norm", ["instance", "group"])
def test_baselines_have_no_pono_and_variants_differ_only_in_pono_and_shortcut(norm):
    baseline = build_munit(small(norm))
    assert not any(isinstance(m, (PONO, MomentShortcut, DynamicMomentShortcut)) for m in baseline.modules())
    base_count = sum(p.numel() for p in baseline.parameters())
    for pono, shortcut in VARIANTS[1:]:
        variant = build_munit(small(norm, pono, shortcut))
        extra = {type(m) for m in variant.modules()} - {type(m) for m in baseline.modules()}
        assert extra <= {PONO, MomentShortcut, DynamicMomentShortcut}
        dms = sum(p.numel() for m in variant.modules() if isinstance(m, DynamicMomentShortcut) for p in m.parameters())
        assert sum(p.numel() for p in variant.parameters()) == base_count + dms
        assert sum(isinstance(m, PONO) for m in variant.modules()) == 2  # one per downsampling conv
        shortcuts = [m for m in variant.modules() if isinstance(m, (MomentShortcut, DynamicMomentShortcut))]
        assert len(shortcuts) == (0 if shortcut == "none" else 2)  # one per upsampling stage
    # the content encoder's norm is the one asked for; the decoder keeps MUNIT's layer norm (GroupNorm(1, C))
    encoder_norms = {type(m).__name__ for m in baseline.content_encoder.modules() if "Norm" in type(m).__name__}
    assert encoder_norms == {"InstanceNorm2d" if norm == "instance" else "GroupNorm"}
    assert not any("Norm" in type(m).__name__ for m in baseline.style_encoder.modules())  # MUNIT: no norm


def test_style_code_changes_output_and_same_inputs_are_deterministic():
    generator = init_weights(build_munit(small("instance", True, "ms")), "kaiming").eval()
    x = images()
    first, second = generator.random_style(2), generator.random_style(2)
    with torch.no_grad():
        out_first = generator(x, first)
        assert not torch.allclose(out_first, generator(x, second), atol=1e-3)  # AdaIN uses the style
        torch.testing.assert_close(generator(x, first), out_first, rtol=0, atol=0)
        # every row of a batch gets its own style
        mixed = generator(x, torch.stack([first[0], second[1]]))
        torch.testing.assert_close(mixed[0], out_first[0])
        assert not torch.allclose(mixed[1], out_first[1], atol=1e-3)


def test_random_style_is_reproducible_with_a_seeded_generator():
    generator = build_munit(small())
    a = generator.random_style(3, generator=torch.Generator().manual_seed(5))
    b = generator.random_style(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert a.shape == (3, 8)


def test_shortcut_changes_output_and_fresh_dms_is_identity():
    x = images(1)
    style = torch.randn(1, 8)
    torch.manual_seed(1)
    plain = init_weights(build_munit(small("instance", True, "none")), "kaiming").eval()
    torch.manual_seed(1)
    with_ms = init_weights(build_munit(small("instance", True, "ms")), "kaiming").eval()
    with torch.no_grad():
        assert not torch.allclose(plain(x, style), with_ms(x, style))
        # a fresh DMS is the identity (zero head, gamma bias 1): the same weights give the same output as PONO
        # without shortcut, as for the ResNet generator
        with_dms = init_weights(build_munit(small("instance", True, "dms")), "kaiming").eval()
        missing, unexpected = with_dms.load_state_dict(plain.state_dict(), strict=False)
        assert unexpected == [] and all(".shortcut." in key for key in missing)
        torch.testing.assert_close(with_dms(x, style), plain(x, style))


def test_translation_across_domains_with_different_channels():
    source = build_munit(small("instance", True, "dms", in_channels=1, out_channels=1))
    target = build_munit(small("instance", True, "dms", in_channels=3, out_channels=3))
    gray = images(channels=1)
    out = translate(source, target, gray, target.random_style(2))
    assert out.shape == (2, 3, 32, 32)
    assert target.encode_style(images(size=20)).shape == (2, 8)  # any size for style examples


def test_indivisible_size_error_is_the_generators_error():
    generator = build_munit(small())
    with pytest.raises(ValueError) as error:
        generator(images(size=30), generator.random_style(2))
    message = str(error.value)
    assert message.startswith("MunitGenerator needs H and W divisible by 4 (2**num_downsampling), got 30x30")
    with pytest.raises(ValueError) as reference:
        ResnetGenerator(base_channels=4, num_blocks=1)(images(size=30))
    assert message.split(":", 1)[1] == str(reference.value).split(":", 1)[1]


def test_bad_inputs():
    generator = build_munit(small("instance", True, "ms"))
    with pytest.raises(ValueError, match=r"expects input of shape \(B, 3, H, W\)"):
        generator.encode(images(channels=1))
    with pytest.raises(ValueError, match="expects style images"):
        generator.encode_style(images(channels=1))
    content, style, moments = generator.encode(images())
    with pytest.raises(ValueError, match=r"style must be \(B=2, 8\)"):
        generator.decode(content, torch.randn(2, 4), moments)
    with pytest.raises(ValueError, match="needs the moments"):
        generator.decode(content, style, [])
    with pytest.raises(ValueError, match="needs pono=True"):
        MunitGenerator(shortcut="ms")
    with pytest.raises(ValueError, match="unknown norm"):
        MunitGenerator(norm="weird")
    with pytest.raises(ValueError, match="unknown shortcut"):
        MunitGenerator(pono=True, shortcut="weird")


def test_config_round_trip_and_unknown_key():
    config = small("group", True, "dms")
    assert MunitConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["arch"] == "munit"
    with pytest.raises(ValueError, match="unknown generator settings"):
        MunitConfig.from_dict({**config.to_dict(), "num_res": 3})
    with pytest.raises(ValueError, match="unknown arch"):
        build_munit(MunitConfig(arch="resnet"))  # type: ignore[arg-type]
    generator = build_munit(config)
    assert generator.style_dim == 8 and generator.multiple == 4 and generator.has_pono


def test_adain_parameters_come_from_the_style_mlp():
    generator = build_munit(small(num_blocks=2))
    # 2 blocks x 2 AdaIN layers x (beta, gamma) x 16 channels
    assert generator.decoder.mlp[-1].out_features == 2 * 2 * 2 * 16
    # the decoder's residual blocks have no affine norms of their own
    assert all(p is None for block in generator.decoder.blocks for m in block.modules()
               if isinstance(m, torch.nn.InstanceNorm2d) for p in (m.weight, m.bias))


def munit_layer_norm_reference(x, gamma, beta, eps=1e-5):
    """MUNIT's networks.py LayerNorm.forward, written from its published formula."""
    shape = [-1] + [1] * (x.dim() - 1)
    mean = x.view(x.size(0), -1).mean(1).view(*shape)
    std = x.view(x.size(0), -1).std(1).view(*shape)
    y = (x - mean) / (std + eps)
    return y * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


def test_munit_layer_norm_is_munits():
    norm = MunitLayerNorm(6)
    assert ((norm.weight >= 0) & (norm.weight < 1)).all() and norm.weight.std() > 0.1 and (norm.bias == 0).all()
    with torch.no_grad():
        norm.bias.normal_()
    x = torch.randn(3, 6, 5, 7) * 3 + 1
    torch.testing.assert_close(norm(x), munit_layer_norm_reference(x, norm.weight, norm.bias), rtol=0, atol=1e-6)
    group = torch.nn.GroupNorm(1, 6)
    group.weight.data, group.bias.data = norm.weight.data.clone(), norm.bias.data.clone()
    assert (group(x) - norm(x)).abs().max() > 1e-3  # what it replaces differs (biased std, eps in the root)
    assert norm(x.bfloat16()).dtype == torch.bfloat16


def test_the_decoder_uses_munits_layer_norm_and_its_conv_bias():
    generator = init_weights(build_munit(MunitConfig(base_channels=4, num_blocks=1, mlp_dim=16)), "kaiming")
    stages = [stage.body[1] for stage in generator.decoder.up]  # Upsample, then Conv2dBlock
    norms = [m for m in generator.decoder.modules() if isinstance(m, MunitLayerNorm)]
    assert len(norms) == len(stages) == 2
    assert all(stage[0].bias is not None for stage in stages)  # MUNIT's Conv2dBlock always has one
    assert all(((n.weight >= 0) & (n.weight < 1)).all() and n.weight.std() > 0.05 for n in norms)  # init keeps U(0, 1)
    older = build_munit(MunitConfig(base_channels=4, num_blocks=1, mlp_dim=16, decoder_norm="layer"))
    assert not any(isinstance(m, MunitLayerNorm) for m in older.modules())


def test_a_config_from_before_decoder_norm_loads_as_layer():
    stored = MunitConfig(base_channels=4).to_dict()
    del stored["decoder_norm"]
    assert MunitConfig.from_dict(stored).decoder_norm == "layer"
    assert MunitConfig.from_dict(MunitConfig().to_dict()).decoder_norm == "munit_layer"


# ----- the official MUNIT + PONO-MS placement (Boyiliee/PONO, pytorch-MUNIT-PONO-MS/networks_pono.py) --------------
def official(**overrides):
    return MunitConfig(**{"pono": True, "shortcut": "ms", "placement": "official", "pono_unbiased": True, **overrides})


def official_forward(generator, x, style, eps=1e-5):
    """``AdaInGen_PONOMS.decode(enc_content(x), style)`` as the official networks_pono.py computes it, written from
    its published structure with ``generator``'s weights. Its ``Conv2dBlock`` is reflect pad -> conv (with a bias)
    -> [PONO] -> norm -> [MS] -> activation; PONO divides the variance by C - 1; its MS adds the (mean, std) of the
    mirrored block after the decoder's affine-free layer norm; the decoder convolves, then upsamples."""
    def conv(layer, h):
        return F.conv2d(F.pad(h, [layer.padding[0]] * 4, mode="reflect"), layer.weight, layer.bias, layer.stride)

    def layer_norm(h):  # MUNIT's LayerNorm, affine off: unbiased std, eps added to the std
        flat = h.flatten(1)
        return (h - flat.mean(1).view(-1, 1, 1, 1)) / (flat.std(1).view(-1, 1, 1, 1) + eps)

    encoder, decoder = generator.content_encoder, generator.decoder
    stats, h = [], x
    for block in [encoder.stem, *encoder.down]:  # Conv2dBlock(pono=True, norm='in' with an affine)
        h = conv(block.conv, h)
        mean, std = h.mean(1, keepdim=True), (h.var(1, keepdim=True) + eps).sqrt()
        stats.append((mean, std))
        h = F.relu(F.instance_norm((h - mean) / std, weight=block.norm.weight, bias=block.norm.bias, eps=eps))
    for block in encoder.blocks:  # ResBlock: two Conv2dBlocks, the second without activation
        conv1, norm1, _, conv2, norm2 = block.body
        r = F.relu(F.instance_norm(conv(conv1, h), weight=norm1.weight, bias=norm1.bias, eps=eps))
        h = h + F.instance_norm(conv(conv2, r), weight=norm2.weight, bias=norm2.bias, eps=eps)
    adain = decoder.mlp(style)  # per AdaIN layer: mean (its bias) then std (its weight)
    channels = h.shape[1]
    for block in decoder.blocks:
        conv1, _, _, conv2, _ = block.body
        (b1, g1, b2, g2), adain = adain[:, : 4 * channels].split(channels, 1), adain[:, 4 * channels :]
        r = F.relu(F.instance_norm(conv(conv1, h), eps=eps) * g1[..., None, None] + b1[..., None, None])
        h = h + F.instance_norm(conv(conv2, r), eps=eps) * g2[..., None, None] + b2[..., None, None]
    for index, (block, (mean, std)) in enumerate(zip(decoder.up, reversed(stats))):
        h = F.relu(layer_norm(conv(block.conv, h)) * std + mean)  # MS: beta = mean, gamma = std
        if index < len(decoder.up) - 1:  # the us_blocks' Upsample follows each 5x5 block, not the 3x3 one
            h = F.interpolate(h, scale_factor=2, mode="nearest")
    return torch.tanh(conv(decoder.head[0], h))


def test_official_placement_has_the_published_structure():
    generator = build_munit(official())  # MUNIT's defaults: dim 64, 2 downsamplings, 4 residual blocks, style 8
    # AdaInGen_PONOMS has 15,142,923 parameters, of which its stat_convs (built, never called in decode) hold 75,200
    assert sum(p.numel() for p in generator.parameters()) == 15_142_923 - 75_200
    ponos = [m for m in generator.modules() if isinstance(m, PONO)]
    assert len(ponos) == 3 and all(p.unbiased for p in ponos)  # the stem's too
    shortcuts = [m for m in generator.modules() if isinstance(m, MomentShortcut)]
    assert len(shortcuts) == 3  # two 5x5 blocks and the full-resolution 3x3 block
    layer_norms = [m for m in generator.decoder.modules() if isinstance(m, MunitLayerNorm)]
    assert len(layer_norms) == 3 and all(n.weight is None for n in layer_norms)  # affine off before MS
    encoder_norms = [m for m in generator.content_encoder.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(encoder_norms) == 3 + 2 * 4 and all(n.affine for n in encoder_norms)
    convs = [m for m in generator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    content, _, moments = generator.encode(images(size=64))
    assert [tuple(m.mean.shape) for m in moments] == [(2, 1, 64, 64), (2, 1, 32, 32), (2, 1, 16, 16)]
    assert content.shape == (2, 256, 16, 16)


def test_official_placement_computes_the_official_forward():
    torch.manual_seed(0)
    generator = build_munit(official(base_channels=8, num_blocks=2, mlp_dim=16)).double()
    with torch.no_grad():
        for parameter in generator.parameters():  # away from the init so every weight and bias matters
            parameter.normal_(0.0, 0.3)
    x, style = images(size=32).double(), torch.randn(2, 8, dtype=torch.float64)
    with torch.no_grad():
        expected = official_forward(generator, x, style)
        torch.testing.assert_close(generator(x, style), expected, rtol=0, atol=1e-10)
        # what the test can tell apart: PONO's biased variance (the paper's) differs measurably
        biased = build_munit(official(base_channels=8, num_blocks=2, mlp_dim=16, pono_unbiased=False)).double()
        biased.load_state_dict(generator.state_dict())
        assert (biased(x, style) - expected).abs().max() > 1e-6


def test_official_placement_variants_and_bad_settings():
    for pono, shortcut in VARIANTS:
        generator = init_weights(build_munit(official(pono=pono, shortcut=shortcut, base_channels=4, num_blocks=1)),
                                 "kaiming")
        x = images()
        content, style, moments = generator.encode(x)
        assert len(moments) == (3 if pono else 0)
        assert generator.decode(content, style, moments).shape == x.shape
        norms = [m for m in generator.decoder.modules() if isinstance(m, MunitLayerNorm)]
        assert all((n.weight is None) == (shortcut != "none") for n in norms)  # the official code's affine = not ms
    with pytest.raises(ValueError, match="official placement uses MUNIT's layer norm"):
        build_munit(official(decoder_norm="layer"))
    assert MunitConfig.from_dict(official().to_dict()) == official()
    assert MunitConfig.from_dict(small().to_dict()).placement == "pono_gan"  # older checkpoints: ours


def test_the_old_layout_key_is_read_as_placement_with_one_note(capsys, monkeypatch):
    import pono_gan.errors

    monkeypatch.setattr(pono_gan.errors, "_NOTED", set())
    # a checkpoint written before the rename stores "layout": read silently
    stored = {key: value for key, value in official().to_dict().items() if key != "placement"}
    assert MunitConfig.from_dict({**stored, "layout": "official"}) == official()
    assert capsys.readouterr().err == ""
    # a config file or flag that still says layout: read, with one line, once
    assert official(placement="pono_gan", layout="official") == official()
    assert small(layout="official").placement == "official"
    err = capsys.readouterr().err
    assert err == ("note: generator.layout is deprecated and read as generator.placement=official; "
                   "rename it in your config\n")
    assert "layout" not in official().to_dict()
    with pytest.raises(ValueError, match="layout='pono_gan': placement is 'official': set placement alone"):
        official(layout="pono_gan")


@pytest.mark.parametrize("placement", ["pono_gan", "official"])
def test_content_channels_narrow_the_code_and_the_decoder_widens_it_back(placement):
    wide = build_munit(small(pono=True, shortcut="ms", placement=placement))
    narrow = init_weights(build_munit(small(pono=True, shortcut="ms", placement=placement, content_channels=2)),
                          "kaiming")
    x = images()
    content, style, moments = narrow.encode(x)
    assert content.shape == (2, 2, 8, 8)  # 2 channels instead of 4 * 2**2
    assert narrow.decode(content, style, moments).shape == x.shape
    # the only extra parameters: the 1x1 conv down (16 -> 2) and the one back up (2 -> 16), with biases
    extra = sum(p.numel() for p in narrow.parameters()) - sum(p.numel() for p in wide.parameters())
    assert extra == (16 * 2 + 2) + (2 * 16 + 16)
    # the decoder reads only the narrow code: zeroing it changes the output
    assert not torch.allclose(narrow.decode(content, style, moments), narrow.decode(content * 0, style, moments))
    assert MunitConfig.from_dict(small(content_channels=2).to_dict()).content_channels == 2
    with pytest.raises(ValueError, match="content_channels=-1"):
        small(content_channels=-1)
