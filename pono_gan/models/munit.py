"""MUNIT (Huang, Liu, Belongie, Kautz, ECCV 2018; NVlabs/MUNIT) with an optional PONO-MS content path.

An image is split into a *content* code (a spatial feature map, shared by both domains) and a *style* code (a
``style_dim`` vector, one per domain). Translating A to B decodes A's content with B's decoder and a B style (drawn
from N(0, I) or encoded from an example B image). Li et al. (Positional Normalization, NeurIPS 2019, section 5.2)
put PONO into MUNIT's content encoder and re-inject its moments into the decoder with Moment Shortcuts.

Where PONO and the shortcuts sit (the same placement as :class:`pono_gan.models.ResnetGenerator`):

* Content encoder: PONO follows every strided (downsampling) convolution, before that stage's norm and activation:
  ``conv4x4(stride 2) -> PONO -> norm -> ReLU``. ``encode`` returns the moments of every stage, shallowest first.
  The style encoder has no PONO: its global pooling discards positions, which is what PONO's moments describe.
* Decoder: after the AdaIN residual blocks, moments are popped deepest first. Each upsampling stage applies the
  shortcut (MS: ``h * std + mean``; DMS: a conv net's per-channel ``h * gamma + beta``) to its *input*, which has
  the resolution of the popped moments, then upsamples: ``shortcut -> nearest x2 -> conv5x5 -> layer norm ->
  ReLU``. MS and DMS sit at the same place.
* Translation: the content code and the moments travel together. A to B feeds the *A image's* moments into B's
  decoder: they are single-channel structure maps, not domain features, which is the point of PONO here.
* Baselines (``pono=False, shortcut="none"``) are the same modules minus PONO and the shortcuts.

``placement="official"`` builds the official MUNIT + PONO-MS code's generator instead (Boyiliee/PONO,
``pytorch-MUNIT-PONO-MS/networks_pono.py``, ``AdaInGen_PONOMS``), the generator the paper's MUNIT experiments used:

* Content encoder: PONO after the 7x7 stem conv as well (three PONOs with two downsamplings), each block
  ``conv -> PONO -> instance norm with an affine -> ReLU``; every conv has a bias (so do the residual blocks,
  whose instance norms also have an affine).
* Decoder: after the AdaIN residual blocks, each upsampling block convolves *before* it upsamples:
  ``conv5x5 -> layer norm without affine -> shortcut -> ReLU -> nearest x2``, so the shortcut meets the moments
  at the conv's own resolution (deepest first); then a full-resolution ``conv3x3 -> layer norm without affine ->
  shortcut -> ReLU`` takes the stem's moments, and the 7x7 conv and tanh close it. The shortcut sits after the
  norm and before the activation. Its layer norm keeps MUNIT's affine where there is no shortcut.
* PONO's variance: the official code divides by C - 1 (``pono_unbiased=True``, which
  ``configs/style/pono_ms_official.yaml`` sets), the paper's formula and our default by C. With it, this placement
  reproduces ``AdaInGen_PONOMS``'s forward exactly; only its ``stat_convs`` (built, never called) are left out.

Names follow MUNIT's ``gen`` config: ``base_channels`` is its ``dim``, ``num_downsampling`` its ``n_downsample``,
``num_blocks`` its ``n_res`` (named as in :class:`GeneratorConfig`, so the same flags work for every task),
``style_dim`` and ``mlp_dim`` as there; the style encoder downsamples ``style_downsampling`` times (4 in MUNIT).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import torch
from torch import Tensor, nn

from pono_gan.errors import ConfigError, deprecated, require
from pono_gan.layers import Moments, MunitLayerNorm, create_norm, create_shortcut
from pono_gan.models.config import GeneratorConfig, check_generator
from pono_gan.models.generators import (
    DownStage,
    ResnetBlock,
    UpStage,
    apply_shortcut,
    check_image_batch,
    check_variant,
    uses_bias,
)

__all__ = [
    "AdaINResnetBlock",
    "ContentEncoder",
    "StyleEncoder",
    "StyleDecoder",
    "MunitGenerator",
    "MunitConfig",
    "StyleTransfer",
    "build_munit",
    "translate",
    "PLACEMENTS",
]

#: The decoder's upsampling norms: MUNIT's own LayerNorm, or GroupNorm(1, C) (older checkpoints).
DECODER_NORMS: tuple[str, ...] = ("munit_layer", "layer")

Placement = Literal["pono_gan", "official"]
#: Where PONO and the shortcuts sit: pono-gan's placement, or the official MUNIT + PONO-MS code's (module docstring).
PLACEMENTS: tuple[str, ...] = get_args(Placement)


def _conv(c_in: int, c_out: int, kernel: int, stride: int, padding: int, norm: str, activation: bool) -> nn.Sequential:
    """MUNIT's ``Conv2dBlock``: reflect-padded conv, norm, optional ReLU (bias only where the norm has no shift,
    and before MUNIT's own layer norm, where MUNIT has one)."""
    bias = uses_bias(norm) or norm == "munit_layer"
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, padding, padding_mode="reflect", bias=bias),
        create_norm(norm, c_out),
    ]
    if activation:
        layers.append(nn.ReLU())  # out of place: after PONO / norm "none" the previous output is still needed
    return nn.Sequential(*layers)


class AdaINResnetBlock(ResnetBlock):
    """A residual block whose two norms are AdaIN: affine-free instance norm, then the style's scale and shift.

    The block is :class:`ResnetBlock` with ``norm="instance"``; after each of its instance norms the features are
    modulated by ``gamma * h + beta`` with per-sample, per-channel ``(beta, gamma)`` from the decoder's MLP (MUNIT
    uses the MLP output as ``gamma`` directly, not ``1 + gamma``; so do we).

    Shape:
        - x: (B, C, H, W); params: (B, 4 * C), ``[beta1, gamma1, beta2, gamma2]`` (MUNIT's order: mean, then std)
        - output: (B, C, H, W)
    """

    num_params_per_channel = 4

    def __init__(self, num_channels: int) -> None:
        super().__init__(num_channels, "instance")
        self.num_channels = num_channels

    def forward(self, x: Tensor, params: Tensor) -> Tensor:  # type: ignore[override]
        modulations = iter(params.view(params.shape[0], -1, self.num_channels, 1, 1).unbind(1))
        h = x
        for layer in self.body:
            h = layer(h)
            if isinstance(layer, nn.InstanceNorm2d):
                beta, gamma = next(modulations), next(modulations)
                h = h * gamma + beta
        return x + h


class ContentEncoder(nn.Module):
    """``7x7 conv, norm, ReLU -> num_downsampling x [4x4 conv stride 2, (PONO), norm, ReLU] -> residual blocks``.

    Channels double at every downsampling from ``base_channels``. MUNIT uses instance norm throughout. In the
    ``official`` placement the stem has PONO too, instance norms have an affine and every conv a bias.

    Shape:
        - input: (B, in_channels, H, W), H and W divisible by ``2**num_downsampling``
        - output: content (B, base_channels * 2**num_downsampling, H / 2**n, W / 2**n) and a list of
          ``num_downsampling`` Moments (each (B, 1, H / 2**i, W / 2**i), i = 1..n, shallowest first; empty without
          PONO); the ``official`` placement puts the stem's (B, 1, H, W) moments first
    """

    def __init__(
        self,
        in_channels: int,
        base_channels: int,
        num_downsampling: int,
        num_blocks: int,
        norm: str,
        pono: bool,
        placement: Placement = "pono_gan",
        pono_unbiased: bool = False,
        content_channels: int = 0,
    ) -> None:
        super().__init__()
        official = placement == "official"
        if official:  # conv -> PONO -> norm -> ReLU from the stem on; the official code's norms have an affine
            norm = "instance_affine" if norm == "instance" else norm
            self.stem: nn.Module = DownStage(
                nn.Conv2d(in_channels, base_channels, 7, 1, 3, padding_mode="reflect"),
                create_norm(norm, base_channels),
                nn.ReLU(),
                pono,
                pono_unbiased,
            )
        else:
            self.stem = _conv(in_channels, base_channels, 7, 1, 3, norm, activation=True)
        bias = True if official else uses_bias(norm)
        widths = [base_channels * 2**i for i in range(num_downsampling + 1)]
        self.down = nn.ModuleList(
            DownStage(
                nn.Conv2d(c_in, c_out, 4, 2, 1, padding_mode="reflect", bias=bias),
                create_norm(norm, c_out),
                nn.ReLU(),  # out of place: with norm "none" it follows PONO, whose backward needs its output
                pono,
                pono_unbiased,
            )
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.blocks = nn.Sequential(*(ResnetBlock(widths[-1], norm, bias=bias) for _ in range(num_blocks)))
        #: a 1x1 conv down to ``content_channels`` after the blocks (0: none, MUNIT's code of ``widths[-1]``)
        self.bottleneck = nn.Conv2d(widths[-1], content_channels, 1) if content_channels else nn.Identity()
        self.out_channels = content_channels or widths[-1]

    def forward(self, x: Tensor) -> tuple[Tensor, list[Moments]]:
        moments = []
        if isinstance(self.stem, DownStage):
            h, stem_moments = self.stem(x)
            if stem_moments is not None:
                moments.append(stem_moments)
        else:
            h = self.stem(x)
        for stage in self.down:
            h, stage_moments = stage(h)
            if stage_moments is not None:
                moments.append(stage_moments)
        return self.bottleneck(self.blocks(h)), moments


class StyleEncoder(nn.Module):
    """``7x7 conv -> num_downsampling x 4x4 conv stride 2 -> global average pool -> 1x1 conv``, ReLUs, no norm.

    Widths double over the first two downsamplings and stay there (MUNIT's ``StyleEncoder``).

    Shape:
        - input: (B, in_channels, H, W), any H, W >= ``min_size`` (the larger of 4 and 2**num_downsampling)
        - output: (B, style_dim)
    """

    def __init__(self, in_channels: int, base_channels: int, num_downsampling: int, style_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv(in_channels, base_channels, 7, 1, 3, "none", activation=True)]
        width = base_channels
        for index in range(num_downsampling):
            out = width * 2 if index < 2 else width
            layers.append(_conv(width, out, 4, 2, 1, "none", activation=True))
            width = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(width, style_dim, 1), nn.Flatten(1)]
        self.model = nn.Sequential(*layers)
        #: the smallest H and W it takes (its reflect paddings need: 3 for the 7x7 conv, 1 per downsampling conv)
        self.min_size = max(4, 2**num_downsampling)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class _ModulatedStage(nn.Module):
    """The official MUNIT + PONO-MS decoder block: ``conv -> norm -> (shortcut) -> ReLU -> (nearest x2)``."""

    def __init__(self, conv: nn.Module, norm: nn.Module, shortcut: nn.Module | None, upsample: bool) -> None:
        super().__init__()
        self.conv = conv
        self.norm = norm
        self.shortcut = shortcut
        self.resize = nn.Upsample(scale_factor=2, mode="nearest") if upsample else nn.Identity()

    def forward(self, x: Tensor, moments: Moments | None) -> Tensor:
        h = apply_shortcut(self.shortcut, self.norm(self.conv(x)), moments)
        return self.resize(torch.relu(h))


class StyleDecoder(nn.Module):
    """MUNIT's decoder with Moment Shortcuts: ``AdaIN residual blocks -> num_upsampling x [(shortcut), nearest x2,
    5x5 conv, layer norm, ReLU] -> 7x7 conv, tanh``; an MLP maps the style code to every AdaIN's ``(beta, gamma)``.

    Args:
        in_channels: content channels (the content encoder's ``out_channels``).
        out_channels: image channels.
        num_upsampling: upsampling stages; channels halve at each.
        num_blocks: AdaIN residual blocks.
        style_dim: length of the style code.
        mlp_dim: hidden width of the style MLP (three linear layers).
        shortcut: ``none | ms | dms | ms_std``, applied to each upsampling stage's input (see the module docstring).
        dms_hidden_channels: hidden width of each Dynamic Moment Shortcut.
        norm: the upsampling convs' norm: ``munit_layer`` (MUNIT's LayerNorm, :class:`pono_gan.layers.MunitLayerNorm`,
            its convs with a bias) or ``layer`` (``GroupNorm(1, C)``, no conv bias: the decoder before
            ``munit_layer`` existed, which older checkpoints hold).
        placement: ``pono_gan`` or ``official`` (conv before upsampling, the shortcut after a layer norm without
            affine, one more full-resolution stage; see the module docstring; needs ``norm="munit_layer"``).
        content_channels: channels of the content code when the content encoder narrows it (a 1x1 conv here
            widens it back to ``in_channels``); 0 when the code has ``in_channels``.

    Shape:
        - content: (B, content_channels or in_channels, h, w); style: (B, style_dim); moments: ``num_upsampling``
          Moments, shallowest first, the deepest at (h, w) (may be empty when ``shortcut="none"``)
        - output: (B, out_channels, h * 2**num_upsampling, w * 2**num_upsampling), in [-1, 1]
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_upsampling: int,
        num_blocks: int,
        style_dim: int,
        mlp_dim: int,
        shortcut: str = "none",
        dms_hidden_channels: int = 16,
        norm: str = "munit_layer",
        placement: Placement = "pono_gan",
        content_channels: int = 0,
    ) -> None:
        super().__init__()
        if norm not in DECODER_NORMS:
            raise ValueError(f"unknown decoder norm {norm!r}; valid: {', '.join(DECODER_NORMS)}")
        if placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
        if placement == "official" and norm != "munit_layer":
            raise ValueError(f"the official placement uses MUNIT's layer norm (decoder_norm munit_layer), got {norm!r}")
        self.widen = nn.Conv2d(content_channels, in_channels, 1) if content_channels else nn.Identity()
        self.blocks = nn.ModuleList(AdaINResnetBlock(in_channels) for _ in range(num_blocks))
        self.params_per_block = AdaINResnetBlock.num_params_per_channel * in_channels
        self.mlp = nn.Sequential(
            nn.Linear(style_dim, mlp_dim),
            nn.ReLU(inplace=True),
            nn.Linear(mlp_dim, mlp_dim),
            nn.ReLU(inplace=True),
            nn.Linear(mlp_dim, self.params_per_block * num_blocks),
        )
        widths = [in_channels // 2**i for i in range(num_upsampling + 1)]
        if placement == "official":
            # conv5x5 at the input's resolution, then upsample; then a full-resolution conv3x3 for the stem's moments
            convs = [(c_in, c_out, 5) for c_in, c_out in zip(widths[:-1], widths[1:])] + [(widths[-1], widths[-1], 3)]
            self.up = nn.ModuleList(
                _ModulatedStage(
                    nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, padding_mode="reflect"),
                    MunitLayerNorm(c_out, affine=shortcut == "none"),
                    create_shortcut(shortcut, c_out, dms_hidden_channels),
                    upsample=index < num_upsampling,
                )
                for index, (c_in, c_out, kernel) in enumerate(convs)
            )
        else:
            self.up = nn.ModuleList(
                UpStage(
                    create_shortcut(shortcut, c_in, dms_hidden_channels),
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="nearest"),
                        _conv(c_in, c_out, 5, 1, 2, norm, activation=True),
                    ),
                )
                for c_in, c_out in zip(widths[:-1], widths[1:])
            )
        self.head = nn.Sequential(nn.Conv2d(widths[-1], out_channels, 7, padding=3, padding_mode="reflect"), nn.Tanh())

    def forward(self, content: Tensor, style: Tensor, moments: list[Moments]) -> Tensor:
        params = self.mlp(style.flatten(1)).split(self.params_per_block, dim=1)
        h = self.widen(content)
        for block, block_params in zip(self.blocks, params):
            h = block(h, block_params)
        moments = list(moments)
        for stage in self.up:
            h = stage(h, moments.pop() if moments else None)
        return self.head(h)


class MunitGenerator(nn.Module):
    """One MUNIT domain: content encoder, style encoder and decoder (MUNIT's ``AdaINGen``), PONO-MS optional.

    ``encode(x)`` gives ``(content, style, moments)``; ``decode(content, style, moments)`` an image. Translation
    across domains decodes one generator's content and moments with another's decoder (:func:`translate`); the
    content codes of two generators built from the same config (channel counts aside) are compatible.

    Args:
        in_channels: channels of the images it encodes (content and style).
        out_channels: channels of the images it decodes.
        base_channels: width of the first conv of both encoders (MUNIT's ``dim``, 64).
        num_downsampling: strided convs of the content encoder (2); H and W must be divisible by ``2**n``.
        num_blocks: residual blocks of the content encoder and (AdaIN) of the decoder (4).
        style_dim: length of the style code (8).
        mlp_dim: hidden width of the style MLP (256).
        norm: the content encoder's norm, ``instance`` in MUNIT (``group``, ... for baselines).
        pono: PONO after every downsampling conv of the content encoder.
        shortcut: ``none | ms | dms | ms_std``: how the decoder gets the moments back (needs ``pono=True``).
        style_downsampling: strided convs of the style encoder (4).
        dms_hidden_channels: hidden width of each Dynamic Moment Shortcut.
        decoder_norm: the decoder's upsampling norm (see :class:`StyleDecoder`).
        placement: ``pono_gan`` (ours) or ``official`` (the official MUNIT + PONO-MS code's; module docstring).
        pono_unbiased: PONO's variance divided by C - 1 (the official PyTorch code) instead of C (the paper).
        content_channels: narrow the content code to this many channels with a 1x1 conv (and widen it back in the
            decoder); 0 keeps MUNIT's code of ``base_channels * 2**num_downsampling`` channels.

    Shape:
        - forward: x (B, in_channels, H, W), style (B, style_dim) -> (B, out_channels, H, W) in [-1, 1]
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downsampling: int = 2,
        num_blocks: int = 4,
        style_dim: int = 8,
        mlp_dim: int = 256,
        norm: str = "instance",
        pono: bool = False,
        shortcut: str = "none",
        style_downsampling: int = 4,
        dms_hidden_channels: int = 16,
        decoder_norm: str = "munit_layer",
        placement: Placement = "pono_gan",
        pono_unbiased: bool = False,
        content_channels: int = 0,
    ) -> None:
        super().__init__()
        check_variant(norm, pono, shortcut)
        if num_downsampling < 1 or style_dim < 1:
            raise ValueError(f"MunitGenerator needs num_downsampling >= 1 and style_dim >= 1, "
                             f"got {num_downsampling}, {style_dim}")
        self.in_channels = in_channels
        self.num_downsampling = num_downsampling
        self.style_dim = style_dim
        self.content_encoder = ContentEncoder(
            in_channels, base_channels, num_downsampling, num_blocks, norm, pono, placement, pono_unbiased,
            content_channels
        )
        self.style_encoder = StyleEncoder(in_channels, base_channels, style_downsampling, style_dim)
        self.decoder = StyleDecoder(
            base_channels * 2**num_downsampling, out_channels, num_downsampling, num_blocks, style_dim, mlp_dim,
            shortcut, dms_hidden_channels, decoder_norm, placement, content_channels,
        )

    @property
    def multiple(self) -> int:
        """H and W of the input must be divisible by this."""
        return 2**self.num_downsampling

    @property
    def has_pono(self) -> bool:
        return any(stage.pono is not None for stage in self.content_encoder.down)

    def check_input(self, x: Tensor) -> None:
        check_image_batch(x, self.in_channels, self.multiple, type(self).__name__)

    def encode_content(self, x: Tensor) -> tuple[Tensor, list[Moments]]:
        """The content code and the PONO moments of each content-encoder stage (shallowest first; [] without PONO)."""
        self.check_input(x)
        return self.content_encoder(x)

    def encode_style(self, x: Tensor) -> Tensor:
        """The style code (B, style_dim) of ``x`` (any size: the style encoder pools globally)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects style images of shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        return self.style_encoder(x)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, list[Moments]]:
        """``(content, style, moments)`` of ``x``: see :meth:`encode_content` and :meth:`encode_style`."""
        content, moments = self.encode_content(x)
        return content, self.style_encoder(x), moments

    def decode(self, content: Tensor, style: Tensor, moments: list[Moments]) -> Tensor:
        """The image for ``content`` (and its ``moments``) in ``style``, (B, out_channels, H, W) in [-1, 1]."""
        if style.shape[0] != content.shape[0] or style.flatten(1).shape[1] != self.style_dim:
            raise ValueError(f"style must be (B={content.shape[0]}, {self.style_dim}), got {tuple(style.shape)}")
        return self.decoder(content, style, moments)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """``x`` re-rendered in ``style`` (B, style_dim) by this generator's decoder."""
        content, moments = self.encode_content(x)
        return self.decode(content, style, moments)

    def random_style(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` style codes from MUNIT's prior N(0, I), (n, style_dim), on this module's device and dtype.

        With a seeded ``generator`` the codes are reproducible (sampled on the generator's device, then moved).
        """
        parameter = next(self.parameters())
        device = generator.device if generator is not None else parameter.device
        codes = torch.randn(n, self.style_dim, generator=generator, device=device)
        return codes.to(parameter.device, parameter.dtype)


def translate(source: MunitGenerator, target: MunitGenerator, images: Tensor, style: Tensor) -> Tensor:
    """``images`` of ``source``'s domain rendered in ``target``'s domain with ``style``: the content code and PONO
    moments come from ``source``'s content encoder, the image from ``target``'s decoder."""
    return StyleTransfer(source, target)(images, style)


class StyleTransfer(nn.Module):
    """One direction of a style model as a single network: ``source``'s content encoder (and its PONO moments),
    ``target``'s style encoder and decoder. What inference runs; ``source is target`` reconstructs.

    Shape:
        - forward: x (B, source.in_channels, H, W), style (B, style_dim) -> (B, target out_channels, H, W)
    """

    def __init__(self, source: MunitGenerator, target: MunitGenerator) -> None:
        super().__init__()
        self.source = source
        self.target = target

    @property
    def multiple(self) -> int:
        return self.source.multiple

    @property
    def has_pono(self) -> bool:
        return self.source.has_pono

    @property
    def style_dim(self) -> int:
        return self.target.style_dim

    @property
    def style_min_size(self) -> int:
        """The smallest H and W of a style example."""
        return self.target.style_encoder.min_size

    def encode_style(self, examples: Tensor) -> Tensor:
        """Style codes (B, style_dim) of example images of the target domain."""
        return self.target.encode_style(examples)

    def random_style(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes from the prior N(0, I): see :meth:`MunitGenerator.random_style`."""
        return self.target.random_style(n, generator)

    def forward_with_moments(self, x: Tensor, style: Tensor) -> tuple[Tensor, list[Moments]]:
        """The translation and the content encoder's PONO moments (shallowest first; [] without PONO)."""
        content, moments = self.source.encode_content(x)
        return self.target.decode(content, style, moments), moments

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        return self.forward_with_moments(x, style)[0]


@dataclass
class MunitConfig:
    """Everything needed to rebuild a :class:`MunitGenerator` (what the CLI configures and checkpoints store).

    Args:
        arch: always ``munit`` (tells the config apart from a :class:`GeneratorConfig` in a checkpoint).
        in_channels: image channels of domain A for a task (a single generator: channels it encodes).
        out_channels: image channels of domain B for a task (a single generator: channels it decodes).
        base_channels: width of the first layer of both encoders (MUNIT's ``dim``).
        num_downsampling: strided convs of the content encoder (``n_downsample``).
        num_blocks: residual blocks in content encoder and decoder (``n_res``).
        style_dim: length of the style code.
        mlp_dim: hidden width of the MLP that predicts AdaIN parameters.
        norm: the content encoder's norm: ``instance`` (MUNIT) | ``group`` | ``batch`` | ``layer`` | ``none``.
        pono: PONO after every downsampling conv of the content encoder.
        shortcut: ``none | ms | dms | ms_std`` (MS with the std alone); the shortcuts need ``pono``.
        style_downsampling: strided convs of the style encoder.
        dms_hidden_channels: hidden width of each Dynamic Moment Shortcut.
        decoder_norm: the decoder's upsampling norm: ``munit_layer`` (MUNIT's LayerNorm) or ``layer``
            (``GroupNorm(1, C)``; what checkpoints written before this option hold, so they load as ``layer``).
        placement: where PONO and the shortcuts sit: ``pono_gan`` (ours: PONO after each downsampling conv, shortcuts
            at the upsampling stages' inputs) or ``official`` (the official MUNIT + PONO-MS code's
            ``AdaInGen_PONOMS``: PONO after the stem too, shortcuts after a layer norm without affine, a
            full-resolution stage; see :mod:`pono_gan.models.munit`).
        pono_unbiased: PONO's variance divided by C - 1, as the official PyTorch code does (the paper and the
            default divide by C); ``configs/style/pono_ms_official.yaml`` sets it with the official placement.
        content_channels: narrow the content code to this many channels (a 1x1 conv after the content encoder's
            blocks, another before the decoder's): a code too small to carry the source's strokes whole. 0 (the
            default) keeps MUNIT's ``base_channels * 2**num_downsampling`` channels. Not MUNIT's.
        layout: the old name of ``placement`` (it meant where PONO sits, not the data's layout): still read, with a
            one-line note, and moved to ``placement``.
    """

    arch: Literal["munit"] = "munit"
    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64
    num_downsampling: int = 2
    num_blocks: int = 4
    style_dim: int = 8
    mlp_dim: int = 256
    norm: Literal["instance", "group", "batch", "layer", "none"] = "instance"
    pono: bool = False
    shortcut: Literal["none", "ms", "dms", "ms_std"] = "none"
    style_downsampling: int = 4
    dms_hidden_channels: int = 16
    decoder_norm: Literal["munit_layer", "layer"] = "munit_layer"
    placement: Placement = "pono_gan"
    pono_unbiased: bool = False
    content_channels: int = 0
    layout: Placement | None = None

    def __post_init__(self) -> None:
        check_generator(self, "in_channels out_channels base_channels num_downsampling num_blocks style_dim mlp_dim")
        require(self, "content_channels", 0)
        if self.layout is not None:
            if self.placement not in ("pono_gan", self.layout):
                raise ConfigError("layout", self.layout, f"placement is {self.placement!r}: set placement alone "
                                  "(layout is its old name)")
            deprecated("generator.layout", "generator.placement", self.layout)
            self.placement, self.layout = self.layout, None

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        del values["layout"]
        return values

    def resolved(self, defaults: dict[str, dict[str, Any]] | None = None) -> MunitConfig:
        """Itself: every setting has a value (the :class:`GeneratorConfig` interface tasks call)."""
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MunitConfig:
        """The config stored in a checkpoint; one written before ``decoder_norm`` existed used ``layer``, one
        written before ``placement`` had the name ``layout``."""
        values = {"decoder_norm": "layer", **values}
        if "layout" in values:
            values.setdefault("placement", values.pop("layout"))
        return GeneratorConfig.from_dict.__func__(cls, values)  # type: ignore[attr-defined]


def build_munit(config: MunitConfig) -> MunitGenerator:
    """Build the generator ``config`` describes (weights uninitialized: see :func:`pono_gan.models.init_weights`)."""
    if config.arch != "munit":
        raise ValueError(f"unknown arch {config.arch!r} for build_munit; valid: munit")
    values = config.to_dict()
    values.pop("arch")
    return MunitGenerator(**values)
