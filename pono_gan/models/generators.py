"""Generators: one class per architecture, PONO / MS / DMS and the norm chosen by arguments.

Where PONO and the shortcuts sit (both architectures):

* Encoder: PONO follows every strided (downsampling) convolution, before that stage's norm and activation:
  ``conv(stride 2) -> PONO -> norm -> activation``. Its moments are appended to a list, shallowest first.
* Decoder: moments are popped deepest first. Each upsampling stage applies the shortcut to its *input*, which
  has the same resolution as the popped moments, and then upsamples: ``shortcut -> conv-transpose(stride 2) ->
  norm -> activation``. MS and DMS sit at the same place, so they compare like for like. (The official code
  applies MS before and DMS after the up-sampling conv, undocumented.)
* Baselines (``pono=False, shortcut="none"``) are the same modules minus PONO and the shortcut; the norm the
  user chose is used everywhere, PONO stages included.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pono_gan.errors import ConfigError
from pono_gan.layers import PONO, SHORTCUT_NAMES, Moments, create_norm, create_shortcut

__all__ = ["ResnetGenerator", "UnetGenerator", "ResnetBlock", "DownStage", "UpStage", "check_image_batch",
           "check_shortcut", "check_variant", "uses_bias"]


def check_image_batch(x: Tensor, in_channels: int, multiple: int, name: str) -> None:
    """Raise a ValueError naming the problem when ``x`` is not a (B, in_channels, H, W) batch with
    H, W % multiple == 0."""
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{name} expects input of shape (B, {in_channels}, H, W), got {tuple(x.shape)}")
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(
            f"{name} needs H and W divisible by {multiple} (2**num_downsampling), got {height}x{width}: "
            f"crop or pad the input (infer.py pads automatically)"
        )


def check_shortcut(pono: bool, shortcut: str) -> None:
    """Raise :class:`~pono_gan.errors.ConfigError` (a ValueError) for an unknown shortcut or one without PONO."""
    if shortcut not in SHORTCUT_NAMES:
        raise ConfigError("shortcut", shortcut, f"unknown shortcut; valid shortcuts: {', '.join(SHORTCUT_NAMES)}")
    if shortcut != "none" and not pono:
        raise ConfigError("pono", pono, f"shortcut={shortcut!r} re-injects PONO moments and needs pono=True; set pono "
                                        "true or shortcut none")


def check_variant(norm: str, pono: bool, shortcut: str) -> None:
    """Raise a ValueError for an unknown norm or a shortcut without PONO (shared by every generator)."""
    create_norm(norm, 1)  # raises on an unknown name
    check_shortcut(pono, shortcut)


def uses_bias(norm: str) -> bool:
    """Whether a conv before ``norm`` has a bias: a norm with its own shift (batch / group / layer) makes it
    redundant (junyanz's rule)."""
    return norm in ("instance", "none")


class ResnetBlock(nn.Module):
    """Residual block: ``x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm](x)``.

    ``bias`` None gives the convs a bias only where the norm has no shift of its own (junyanz's rule).
    """

    def __init__(
        self, num_channels: int, norm: str, dropout: float = 0.0, padding_mode: str = "reflect",
        bias: bool | None = None
    ) -> None:
        super().__init__()
        bias = uses_bias(norm) if bias is None else bias
        layers: list[nn.Module] = [
            nn.Conv2d(num_channels, num_channels, 3, padding=1, padding_mode=padding_mode, bias=bias),
            create_norm(norm, num_channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.Conv2d(num_channels, num_channels, 3, padding=1, padding_mode=padding_mode, bias=bias),
            create_norm(norm, num_channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DownStage(nn.Module):
    """``conv -> [PONO] -> norm -> activation``; returns the features and the moments (None without PONO)."""

    def __init__(
        self, conv: nn.Module, norm: nn.Module, activation: nn.Module | None, pono: bool, pono_unbiased: bool = False
    ) -> None:
        super().__init__()
        self.conv = conv
        self.pono = PONO(unbiased=pono_unbiased) if pono else None
        self.norm = norm
        self.activation = activation

    def forward(self, x: Tensor) -> tuple[Tensor, Moments | None]:
        x = self.conv(x)
        moments = None
        if self.pono is not None:
            x, moments = self.pono(x)
        x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        return x, moments


class UpStage(nn.Module):
    """``[shortcut(x, moments)] -> body``, where the body upsamples."""

    def __init__(self, shortcut: nn.Module | None, body: nn.Module) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.body = body

    def forward(self, x: Tensor, moments: Moments | None) -> Tensor:
        return self.body(apply_shortcut(self.shortcut, x, moments))


def apply_shortcut(shortcut: nn.Module | None, x: Tensor, moments: Moments | None) -> Tensor:
    """``shortcut(x, moments)``, or ``x`` where there is no shortcut; a shortcut without moments is an error."""
    if shortcut is None:
        return x
    if moments is None:
        raise ValueError("this generator has moment shortcuts: decode() needs the moments encode() returned")
    return shortcut(x, moments)


class _EncoderDecoder(nn.Module):
    """The shared encode / decode / forward logic; subclasses fill ``down`` and ``up`` stages."""

    in_channels: int
    num_downsampling: int
    down: nn.ModuleList
    up: nn.ModuleList

    @property
    def multiple(self) -> int:
        """H and W of the input must be divisible by this."""
        return 2**self.num_downsampling

    @property
    def has_pono(self) -> bool:
        return any(stage.pono is not None for stage in self.down)

    def check_input(self, x: Tensor) -> None:
        check_image_batch(x, self.in_channels, self.multiple, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_with_moments(x)[0]

    def forward_with_moments(self, x: Tensor) -> tuple[Tensor, list[Moments]]:
        """The output and the PONO moments of each encoder stage, shallowest first (empty without PONO)."""
        self.check_input(x)
        h, skips, moments = self.encode(x)
        return self.decode(h, skips, moments), [m for m in moments if m is not None]

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor], list[Moments | None]]:
        raise NotImplementedError

    def decode(self, h: Tensor, skips: list[Tensor], moments: list[Moments | None]) -> Tensor:
        raise NotImplementedError


class ResnetGenerator(_EncoderDecoder):
    """CycleGAN's ResNet generator (junyanz ``resnet_9blocks``) with optional PONO and Moment Shortcuts.

    ``stem (reflect-pad, 7x7 conv, norm, ReLU) -> num_downsampling x [3x3 conv stride 2, (PONO), norm, ReLU]
    -> num_blocks residual blocks -> num_downsampling x [(shortcut), 3x3 conv-transpose stride 2, norm, ReLU]
    -> reflect-pad, 7x7 conv, tanh``. Channels double at every downsampling from ``base_channels``
    (pix2pix's ``ngf``).

    Args:
        in_channels: channels of the input image (pix2pix's ``input_nc``).
        out_channels: channels of the output image (``output_nc``).
        base_channels: channels after the stem.
        num_blocks: residual blocks at the bottleneck.
        num_downsampling: strided convolutions; H and W must be divisible by ``2**num_downsampling``.
        norm: ``instance | group | batch | layer | none``, used in every stage.
        pono: put PONO after every downsampling convolution.
        shortcut: ``none | ms | dms``: how the decoder gets the PONO moments back (needs ``pono=True``).
        dropout: dropout inside residual blocks.
        padding_mode: padding of the 3x3 convolutions in residual blocks.
        dms_hidden_channels: hidden width of each Dynamic Moment Shortcut.
        pono_unbiased: PONO's variance divided by C - 1 (the official PyTorch code) instead of C (the paper).
        sampling_norm: the norm of the downsampling and upsampling stages; None: ``norm``. The official PONO
            CycleGAN code hard-codes ``batch`` there (whatever ``--norm`` says), which converted official models
            need (:mod:`pono_gan.convert`).

    Shape:
        - input: (B, in_channels, H, W)
        - output: (B, out_channels, H, W), in [-1, 1]
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_blocks: int = 9,
        num_downsampling: int = 2,
        norm: str = "instance",
        pono: bool = False,
        shortcut: str = "none",
        dropout: float = 0.0,
        padding_mode: str = "reflect",
        dms_hidden_channels: int = 16,
        pono_unbiased: bool = False,
        sampling_norm: str | None = None,
    ) -> None:
        super().__init__()
        check_variant(norm, pono, shortcut)
        sampling_norm = sampling_norm or norm
        create_norm(sampling_norm, 1)  # raises on an unknown name
        self.in_channels = in_channels
        self.num_downsampling = num_downsampling
        bias = uses_bias(norm)
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, base_channels, 7, bias=bias),
            create_norm(norm, base_channels),
            nn.ReLU(inplace=True),
        )
        widths = [base_channels * 2**i for i in range(num_downsampling + 1)]
        self.down = nn.ModuleList(
            DownStage(
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=bias),
                create_norm(sampling_norm, c_out),
                nn.ReLU(),  # out of place: with norm "none" it follows PONO, whose backward needs its output
                pono,
                pono_unbiased,
            )
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.blocks = nn.Sequential(*(ResnetBlock(widths[-1], norm, dropout, padding_mode) for _ in range(num_blocks)))
        self.up = nn.ModuleList(
            UpStage(
                create_shortcut(shortcut, c_in, dms_hidden_channels),
                nn.Sequential(
                    nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias),
                    create_norm(sampling_norm, c_out),
                    nn.ReLU(inplace=True),
                ),
            )
            for c_in, c_out in zip(widths[:0:-1], widths[-2::-1])
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(base_channels, out_channels, 7), nn.Tanh())

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor], list[Moments | None]]:
        h = self.stem(x)
        moments = []
        for stage in self.down:
            h, stage_moments = stage(h)
            moments.append(stage_moments)
        return self.blocks(h), [], moments

    def decode(self, h: Tensor, skips: list[Tensor], moments: list[Moments | None]) -> Tensor:
        moments = list(moments)
        for stage in self.up:
            h = stage(h, moments.pop())
        return self.head(h)


class UnetGenerator(_EncoderDecoder):
    """pix2pix's U-Net generator (junyanz ``unet_256``) with optional PONO and Moment Shortcuts.

    Level ``i`` (0 = outermost) downsamples with a 4x4 stride-2 conv to ``base_channels * min(2**i, 8)``
    channels (LeakyReLU 0.2 before it, norm after it except at levels 0 and the innermost); the decoder mirrors it
    with ReLU, a 4x4 stride-2 conv-transpose and norm, concatenating the encoder features of the same level (the
    U-Net skip). With ``pono=True``, PONO follows each downsampling conv; the shortcut is applied to the input of
    the up-sampling conv at the same resolution. Dropout (pix2pix's noise) follows the norm of the up levels
    ``4 <= i <= num_downsampling - 2``, the ``8 * base_channels`` levels, as in junyanz.

    Args:
        in_channels, out_channels, base_channels, norm, pono, shortcut, dms_hidden_channels: as in
            :class:`ResnetGenerator`.
        num_downsampling: levels; 8 takes 256 x 256 down to 1 x 1.
        dropout: dropout probability at the inner up levels (0.5 in pix2pix).

    Shape:
        - input: (B, in_channels, H, W), H and W divisible by ``2**num_downsampling``
        - output: (B, out_channels, H, W), in [-1, 1]
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downsampling: int = 8,
        norm: str = "batch",
        pono: bool = False,
        shortcut: str = "none",
        dropout: float = 0.5,
        dms_hidden_channels: int = 16,
    ) -> None:
        super().__init__()
        check_variant(norm, pono, shortcut)
        if num_downsampling < 2:
            raise ValueError(f"UnetGenerator needs num_downsampling >= 2, got {num_downsampling}")
        self.in_channels = in_channels
        self.num_downsampling = num_downsampling
        bias = uses_bias(norm)
        levels = range(num_downsampling)
        innermost = num_downsampling - 1
        widths = [base_channels * min(2**i, 8) for i in levels]
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in levels:
            c_in = in_channels if i == 0 else widths[i - 1]
            has_norm = 0 < i < innermost
            self.down.append(
                DownStage(
                    nn.Sequential(
                        *([] if i == 0 else [nn.LeakyReLU(0.2, inplace=False)]),
                        nn.Conv2d(c_in, widths[i], 4, stride=2, padding=1,
                                  bias=bias),  # junyanz: per norm, even unnormalized
                    ),
                    create_norm(norm, widths[i]) if has_norm else nn.Identity(),
                    None,
                    pono,
                )
            )
            up_in = widths[i] if i == innermost else 2 * widths[i]
            up_out = out_channels if i == 0 else widths[i - 1]
            if i == 0:
                body: list[nn.Module] = [
                    nn.ReLU(),
                    nn.ConvTranspose2d(up_in, up_out, 4, stride=2, padding=1),
                    nn.Tanh(),
                ]
            else:
                body = [
                    nn.ReLU(),
                    nn.ConvTranspose2d(up_in, up_out, 4, stride=2, padding=1, bias=bias),
                    create_norm(norm, up_out),
                ]
                if dropout > 0 and 4 <= i <= num_downsampling - 2:
                    body.append(nn.Dropout(dropout))
            self.up.append(UpStage(create_shortcut(shortcut, up_in, dms_hidden_channels), nn.Sequential(*body)))

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor], list[Moments | None]]:
        skips, moments = [], []
        h = x
        for stage in self.down:
            h, stage_moments = stage(h)
            skips.append(h)
            moments.append(stage_moments)
        return skips.pop(), skips, moments

    def decode(self, h: Tensor, skips: list[Tensor], moments: list[Moments | None]) -> Tensor:
        skips, moments = list(skips), list(moments)
        h = self.up[-1](h, moments.pop())
        for stage in reversed(self.up[:-1]):
            h = stage(torch.cat([skips.pop(), h], dim=1), moments.pop())
        return h
