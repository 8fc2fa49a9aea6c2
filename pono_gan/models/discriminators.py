"""PatchGAN discriminators (pix2pix / CycleGAN), single- and multi-scale (pix2pixHD)."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils import spectral_norm as apply_spectral_norm

from pono_gan.layers import create_norm

__all__ = ["PatchDiscriminator", "MultiScaleDiscriminator", "build_discriminator"]


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

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchGANs, each on the input average-pooled once more than the last (pix2pixHD).

    Shape:
        - input: (B, in_channels, H, W)
        - output: a list of ``num_scales`` logit maps, finest first
    """

    def __init__(self, num_scales: int = 2, **patch_kwargs) -> None:
        super().__init__()
        if num_scales < 1:
            raise ValueError(f"num_scales must be >= 1, got {num_scales}")
        self.discriminators = nn.ModuleList(PatchDiscriminator(**patch_kwargs) for _ in range(num_scales))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs = []
        for index, discriminator in enumerate(self.discriminators):
            if index:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs


def build_discriminator(num_scales: int = 1, **patch_kwargs) -> nn.Module:
    """A :class:`PatchDiscriminator`, or a :class:`MultiScaleDiscriminator` when ``num_scales > 1``."""
    if num_scales == 1:
        return PatchDiscriminator(**patch_kwargs)
    return MultiScaleDiscriminator(num_scales, **patch_kwargs)
