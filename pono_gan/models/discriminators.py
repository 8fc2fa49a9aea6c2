"""Patch discriminators: pix2pix / CycleGAN's PatchGAN, the scale of NVlabs MUNIT's ``MsImageDis``, and the
multi-scale wrapper (pix2pixHD, MUNIT) that runs one of them on each of several average-pooled resolutions."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn
from torch.nn.utils import spectral_norm as apply_spectral_norm

from pono_gan.errors import ConfigError
from pono_gan.layers import create_norm

__all__ = ["DISCRIMINATOR_ARCHS", "PatchDiscriminator", "MunitPatchDiscriminator", "MultiScaleDiscriminator",
           "build_discriminator", "layers_for_field_of_view", "min_input_size", "receptive_field"]


class PatchDiscriminator(nn.Module):
    """N-layer PatchGAN: classifies overlapping patches (70 x 70 for ``num_layers=3``) as real or fake.

    ``conv4x4/2, LeakyReLU -> (num_layers - 1) x [conv4x4/2, norm, LeakyReLU] -> conv4x4/1, norm, LeakyReLU ->
    conv4x4/1 -> 1 channel`` with ``base_channels * min(2**n, 8)`` channels (pix2pix's ``ndf``).

    Args:
        in_channels: channels of what it sees (for a conditional pix2pix D: input + output channels).
        base_channels: channels of the first layer.
        num_layers: strided layers (``n_layers_D``).
        norm: any name from :func:`pono_gan.layers.create_norm`.
        spectral_norm: wrap every conv in spectral normalization (then ``norm="none"`` is usual).

    Shape:
        - input: (B, in_channels, H, W)
        - output: (B, 1, H', W') logits, one per patch
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        num_layers: int = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        bias = norm in ("instance", "none")
        wrap = apply_spectral_norm if spectral_norm else (lambda module: module)
        widths = [base_channels * min(2**n, 8) for n in range(num_layers + 1)]
        layers: list[nn.Module] = [wrap(nn.Conv2d(in_channels, widths[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for n in range(1, num_layers + 1):
            stride = 2 if n < num_layers else 1
            layers += [
                wrap(nn.Conv2d(widths[n - 1], widths[n], 4, stride, 1, bias=bias)),
                create_norm(norm, widths[n]),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(wrap(nn.Conv2d(widths[-1], 1, 4, 1, 1)))
        self.model = nn.Sequential(*layers)
        self.num_layers, self.min_size = num_layers, min_input_size("patchgan", num_layers)

    def forward(self, x: Tensor) -> Tensor:
        check_input_size(x, self.min_size, self.num_layers)
        return self.model(x)


class MunitPatchDiscriminator(nn.Module):
    """One scale of NVlabs MUNIT's multi-scale discriminator (``MsImageDis._make_net``).

    ``num_layers x [pad 1, conv4x4/2, norm (not on the first), LeakyReLU(0.2)] -> conv1x1 -> 1 channel`` with
    ``base_channels * 2**n`` channels (no cap), a bias on every conv and reflect padding (MUNIT's ``pad_type``).
    MUNIT's settings (``dim`` 64, ``n_layer`` 4, ``norm`` none) give 2,757,057 parameters on RGB and a 16 x 16
    logit map at 256 px, where pix2pix's PatchGAN with ``num_layers`` 4 has 6.96 M and 14 x 14.

    Args:
        in_channels: channels of what it sees.
        base_channels: channels of the first layer (MUNIT's ``dim``).
        num_layers: strided layers (MUNIT's ``n_layer``).
        norm: any name from :func:`pono_gan.layers.create_norm` (MUNIT: none).
        spectral_norm: wrap every conv in spectral normalization (not in MUNIT).
        padding: ``reflect`` (MUNIT's configs) or ``zeros``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        num_layers: int = 4,
        norm: str = "none",
        spectral_norm: bool = False,
        padding: Literal["reflect", "zeros"] = "reflect",
    ) -> None:
        super().__init__()
        wrap = apply_spectral_norm if spectral_norm else (lambda module: module)
        layers: list[nn.Module] = []
        width_in, width = in_channels, base_channels
        for n in range(num_layers):
            layers.append(wrap(nn.Conv2d(width_in, width, 4, 2, 1, padding_mode=padding)))
            if n:
                layers.append(create_norm(norm, width))
            layers.append(nn.LeakyReLU(0.2, True))
            width_in, width = width, width * 2
        layers.append(wrap(nn.Conv2d(width_in, 1, 1)))
        self.model = nn.Sequential(*layers)
        self.num_layers, self.min_size = num_layers, min_input_size("munit", num_layers)

    def forward(self, x: Tensor) -> Tensor:
        check_input_size(x, self.min_size, self.num_layers)
        return self.model(x)


DISCRIMINATOR_ARCHS: dict[str, type[nn.Module]] = {"patchgan": PatchDiscriminator, "munit": MunitPatchDiscriminator}


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` patch discriminators of ``arch``, each on the input average-pooled once more than the last
    (3x3, stride 2, padding 1, the padding left out of the mean: pix2pixHD's and MUNIT's downsampling).

    Shape:
        - input: (B, in_channels, H, W)
        - output: a list of ``num_scales`` logit maps, finest first
    """

    def __init__(self, num_scales: int = 2, arch: str = "patchgan", **patch_kwargs) -> None:
        super().__init__()
        if num_scales < 1:
            raise ValueError(f"num_scales must be >= 1, got {num_scales}")
        network = _arch(arch)
        self.discriminators = nn.ModuleList(network(**patch_kwargs) for _ in range(num_scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.num_layers, self.num_scales = self.discriminators[0].num_layers, num_scales
        self.min_size = min_input_size(arch, self.num_layers, num_scales)

    def forward(self, x: Tensor) -> list[Tensor]:
        check_input_size(x, self.min_size, self.num_layers, self.num_scales)
        outputs = []
        for index, discriminator in enumerate(self.discriminators):
            if index:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs


def _arch(name: str) -> type[nn.Module]:
    try:
        return DISCRIMINATOR_ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown discriminator arch {name!r}; valid: {', '.join(DISCRIMINATOR_ARCHS)}") from None


def build_discriminator(num_scales: int = 1, arch: str = "patchgan", **patch_kwargs) -> nn.Module:
    """One discriminator of ``arch`` (``patchgan``: :class:`PatchDiscriminator`; ``munit``:
    :class:`MunitPatchDiscriminator`), or a :class:`MultiScaleDiscriminator` of them when ``num_scales > 1``."""
    if num_scales == 1:
        return _arch(arch)(**patch_kwargs)
    return MultiScaleDiscriminator(num_scales, arch, **patch_kwargs)


def _layers(arch: str, num_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each conv of one scale of ``arch``."""
    if arch == "patchgan":
        return [(4, 2)] * num_layers + [(4, 1), (4, 1)]
    if arch == "munit":
        return [(4, 2)] * num_layers + [(1, 1)]
    _arch(arch)
    raise AssertionError("unreachable")


def receptive_field(arch: str, num_layers: int, scale: int = 0) -> int:
    """The side in input pixels of the patch one logit of ``scale`` sees (scale 0 is the input's resolution; each
    further scale average-pools 3x3 / 2 once more, as :class:`MultiScaleDiscriminator` does).

    >>> receptive_field("patchgan", 3)  # pix2pix's 70 x 70 PatchGAN
    70
    >>> [receptive_field("munit", 4, s) for s in range(3)]  # MUNIT's three scales: 18%, 36%, 73% of 256 px
    [46, 93, 187]
    """
    size, jump = 1, 1
    for kernel, stride in [(3, 2)] * scale + _layers(arch, num_layers):
        size += (kernel - 1) * jump
        jump *= stride
    return size


def min_input_size(arch: str, num_layers: int, num_scales: int = 1) -> int:
    """The smallest image side a discriminator of ``arch`` with ``num_layers`` strided layers at ``num_scales``
    scales takes: every conv of its coarsest scale must still fit its (padded) input.

    >>> min_input_size("patchgan", 3), min_input_size("patchgan", 3, 2), min_input_size("munit", 4, 3)
    (24, 47, 61)
    """

    def fits(size: int) -> bool:
        for _ in range(num_scales - 1):  # 3x3 average pool, stride 2, padding 1
            size = (size - 1) // 2 + 1
        for kernel, stride in _layers(arch, num_layers):
            padding = 1 if kernel == 4 else 0
            if size + 2 * padding < kernel or size <= padding:  # reflect padding needs more than the pad
                return False
            size = (size + 2 * padding - kernel) // stride + 1
        return size >= 1

    return next(size for size in range(1, 2**16) if fits(size))


def check_input_size(x: Tensor, min_size: int, num_layers: int, num_scales: int = 1) -> None:
    """A one-line :class:`pono_gan.errors.ConfigError` when ``x`` is smaller than ``min_size`` on a side."""
    height, width = x.shape[-2:]
    if min(height, width) < min_size:
        raise ConfigError("discriminator.num_layers", num_layers,
                          f"{num_scales} scale(s) of {num_layers} strided layers need images of at least {min_size} x "
                          f"{min_size} px, got {width} x {height}; use fewer num_layers or num_scales, or larger "
                          "images")


def layers_for_field_of_view(arch: str, num_scales: int, image_size: int, field_of_view: float) -> int:
    """The number of strided layers whose coarsest scale sees the fraction of ``image_size`` nearest to
    ``field_of_view`` (MUNIT: 4 layers, 3 scales, 187 of 256 px = 0.73); at least 1."""
    if not (0 < field_of_view and image_size > 0 and num_scales > 0):
        raise ValueError(f"need field_of_view > 0, image_size > 0 and num_scales > 0, got {field_of_view}, "
                         f"{image_size}, {num_scales}")
    candidates = range(1, 9)
    return min(candidates, key=lambda n: abs(receptive_field(arch, n, num_scales - 1) / image_size - field_of_view))
