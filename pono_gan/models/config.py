"""The generator's architecture as data: what the CLI configures and what a checkpoint stores."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from torch import nn

from pono_gan.errors import ConfigError, require
from pono_gan.models.generators import ResnetGenerator, UnetGenerator, check_shortcut

__all__ = ["GeneratorConfig", "build_generator", "check_generator"]

_DEFAULT_DOWNSAMPLING = {"resnet": 2, "unet": 8}
#: What ``norm`` / ``dropout`` None means where no task says otherwise: CycleGAN's instance norm, no dropout.
_GENERIC_DEFAULTS: dict[str, Any] = {"norm": "instance", "dropout": 0.0}


def check_generator(config: Any, sizes: str) -> None:
    """What a generator config must hold, checked when it is made: the ``sizes`` (space-separated fields) at least
    1, ``dms_hidden_channels`` too, and a moment shortcut only with PONO. Raises :class:`ConfigError` naming the
    field."""
    require(config, f"{sizes} dms_hidden_channels")
    check_shortcut(config.pono, config.shortcut)


@dataclass
class GeneratorConfig:
    """Everything needed to rebuild a generator.

    Args:
        arch: ``resnet`` (CycleGAN) or ``unet`` (pix2pix).
        in_channels: input image channels (pix2pix's ``input_nc``).
        out_channels: output image channels (``output_nc``).
        base_channels: width of the first layer (``ngf``).
        num_blocks: residual blocks (resnet only).
        num_downsampling: strided convolutions; None means 2 for resnet, 8 for unet.
        norm: ``instance | group | batch | layer | none``; None: the task's reference default for the arch
            (pix2pix's ``unet`` for the paired task: ``batch``; otherwise ``instance``, as CycleGAN).
        pono: PONO after every downsampling convolution.
        shortcut: ``none | ms | dms | ms_std`` (MS with the std alone); the shortcuts need ``pono``.
        dropout: dropout in residual blocks (resnet) or the inner up levels (unet); None: the task's reference
            default (pix2pix's ``unet`` for the paired task: 0.5; otherwise 0, as CycleGAN's ``--no_dropout``).
        dms_hidden_channels: hidden width of each Dynamic Moment Shortcut.
        pono_unbiased: PONO's variance divided by C - 1, as the official PyTorch code does (the paper: C).
        sampling_norm: resnet only: the norm of the downsampling / upsampling stages; None: ``norm`` (the official
            PONO CycleGAN code hard-codes ``batch`` there; :mod:`pono_gan.convert` sets it for its models).
    """

    arch: Literal["resnet", "unet"] = "resnet"
    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64
    num_blocks: int = 9
    num_downsampling: int | None = None
    norm: Literal["instance", "group", "batch", "layer", "none"] | None = None
    pono: bool = False
    shortcut: Literal["none", "ms", "dms", "ms_std"] = "none"
    dropout: float | None = None
    dms_hidden_channels: int = 16
    pono_unbiased: bool = False
    sampling_norm: Literal["instance", "group", "batch", "layer", "none"] | None = None

    def __post_init__(self) -> None:
        check_generator(self, "in_channels out_channels base_channels")
        require(self, "num_downsampling", 0)  # 0, as None, means the arch's default
        if self.arch == "resnet":
            require(self, "num_blocks")
        elif self.num_downsampling and self.num_downsampling < 2:
            raise ConfigError("num_downsampling", self.num_downsampling, "the unet needs at least 2 (or unset: 8)")
        elif self.pono_unbiased or self.sampling_norm:
            raise ConfigError("pono_unbiased" if self.pono_unbiased else "sampling_norm",
                              self.pono_unbiased or self.sampling_norm, "a resnet option (the official PONO code's "
                              "layout); unset it for the unet")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigError("dropout", self.dropout, "must be in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def resolved(self, defaults: dict[str, dict[str, Any]] | None = None) -> GeneratorConfig:
        """This config with ``norm`` / ``dropout`` None filled in: from ``defaults[arch]`` (a task's reference
        defaults), else instance norm and no dropout. What tasks store in checkpoints."""
        fill = {**_GENERIC_DEFAULTS, **(defaults or {}).get(self.arch, {})}
        return replace(self, **{name: value for name, value in fill.items() if getattr(self, name) is None})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GeneratorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown generator settings {unknown}; valid: {sorted(known)}")
        return cls(**values)


def build_generator(config: GeneratorConfig) -> nn.Module:
    """Build the generator ``config`` describes (weights uninitialized: see :func:`init_weights`); ``norm`` /
    ``dropout`` None mean instance norm and no dropout (a task resolves them first:
    :meth:`GeneratorConfig.resolved`)."""
    config = config.resolved()
    common = dict(
        in_channels=config.in_channels,
        out_channels=config.out_channels,
        base_channels=config.base_channels,
        num_downsampling=config.num_downsampling or _DEFAULT_DOWNSAMPLING[config.arch],
        norm=config.norm,
        pono=config.pono,
        shortcut=config.shortcut,
        dropout=config.dropout,
        dms_hidden_channels=config.dms_hidden_channels,
    )
    if config.arch == "resnet":
        return ResnetGenerator(num_blocks=config.num_blocks, pono_unbiased=config.pono_unbiased,
                               sampling_norm=config.sampling_norm, **common)
    if config.arch == "unet":
        return UnetGenerator(**common)
    raise ValueError(f"unknown arch {config.arch!r}; valid: resnet, unet")
