"""Positional Normalization (PONO) and Moment Shortcuts (MS, DMS).

PONO (Li, Wu, Weinberger, Belongie, NeurIPS 2019) normalizes a feature map across its channels at every
position and hands back the per-position first and second moments, which carry structure (edges, shapes).
A Moment Shortcut re-injects those moments into a decoder at the same resolution.

Conventions used throughout pono-gan:

* ``mean`` and ``std`` are (B, 1, H, W); the variance is the biased one (divide by C, as in the paper's formula
  and its TensorFlow code; the official PyTorch code divides by C - 1), and ``eps`` sits inside the square root.
* Statistics are computed in float32 for float16 / bfloat16 input; all outputs keep the input dtype.
* Everything is out of place: the official code's in-place ``mul_``/``add_`` shortcut is a known source of bugs.
* On CPU, float32 tensors (contiguous or channels-last) run a fused C kernel built with the system compiler at
  first use (:mod:`pono_gan.layers.pono_kernel`); other tensors, or ``PONO_GAN_NO_KERNEL=1``, or no compiler, run
  :class:`_PonoFunction`, a torch autograd Function with the same formulas.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from pono_gan.layers import pono_kernel

__all__ = [
    "Moments",
    "pono",
    "pono_reference",
    "moment_shortcut",
    "PONO",
    "MomentShortcut",
    "DynamicMomentShortcut",
    "SHORTCUT_NAMES",
    "create_shortcut",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class Moments(NamedTuple):
    """Per-position moments extracted by PONO, each of shape (B, 1, H, W)."""

    mean: Tensor
    std: Tensor


def _check_4d(x: Tensor, name: str = "x") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got a {x.dim()}-d tensor of shape {tuple(x.shape)}")


class _PonoFunction(torch.autograd.Function):
    """PONO with a hand-written backward: about 3x faster on CPU than letting autograd differentiate the formula.

    With y = (x - mean) * rstd, std = 1 / rstd and upstream gradients gy, gm, gs (for y, mean, std):
    dx = rstd * (gy - mean_c(gy) - y * mean_c(gy * y)) + (gm + gs * y) / C.
    """

    @staticmethod
    def forward(ctx, x: Tensor, eps: float):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        mean = x.mean(1, keepdim=True)
        y = x - mean
        var = torch.mul(y, y).mean(1, keepdim=True)  # two-pass variance: exact where E[x^2] - mean^2 is not
        rstd = var.add_(eps).rsqrt_()
        y.mul_(rstd)
        # Saving y spares the backward a pass; an in-place op on PONO's output (e.g. ReLU(inplace=True)) then
        # makes autograd raise "modified by an inplace operation", so callers follow PONO with out-of-place ops.
        ctx.save_for_backward(y, rstd)
        return y, mean, rstd.reciprocal()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y: Tensor | None, grad_mean: Tensor | None, grad_std: Tensor | None):  # type: ignore[override]
        y, rstd = ctx.saved_tensors
        num_channels = y.shape[1]
        if grad_y is not None:
            buffer = torch.mul(grad_y, y)
            scale = buffer.mean(1, keepdim=True).mul_(rstd).neg_()
            shift = grad_y.mean(1, keepdim=True).mul_(rstd).neg_()
            grad_x = torch.mul(grad_y, rstd, out=buffer)  # reuse the buffer: one allocation less
        else:
            scale = torch.zeros_like(rstd)
            shift = torch.zeros_like(rstd)
            grad_x = torch.zeros_like(y)
        if grad_mean is not None:
            shift.add_(grad_mean, alpha=1.0 / num_channels)
        if grad_std is not None:
            scale.add_(grad_std, alpha=1.0 / num_channels)
        grad_x.addcmul_(y, scale).add_(shift)
        return grad_x, None


class _PonoKernelFunction(torch.autograd.Function):
    """PONO through the fused C kernel (:mod:`pono_gan.layers.pono_kernel`), for float32 CPU tensors.

    Each direction is one multi-threaded call that streams its tensors (forward: x read twice, y written once;
    backward: grad_y and y read twice, the second time from a per-thread copy in cache where they are large, grad_x
    written once), where the torch Function makes several passes per op.
    The same formulas (within float32 rounding) and saved tensors as :class:`_PonoFunction`, so the same in-place
    caveat.
    """

    @staticmethod
    def forward(ctx, x: Tensor, eps: float):  # type: ignore[override]
        ctx.set_materialize_grads(False)
        y, mean, std, rstd = pono_kernel.forward(x, eps)
        ctx.save_for_backward(y, rstd)
        return y, mean, std

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y: Tensor | None, grad_mean: Tensor | None, grad_std: Tensor | None):  # type: ignore[override]
        y, rstd = ctx.saved_tensors
        return pono_kernel.backward(grad_y, y, rstd, grad_mean, grad_std), None


def _pono_formula(x: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """The forward of :class:`_PonoFunction` in plain tensor ops (two-pass biased variance, eps in the root)."""
    mean = x.mean(1, keepdim=True)
    centered = x - mean
    std = torch.sqrt(torch.mul(centered, centered).mean(1, keepdim=True) + eps)
    return centered / std, mean, std


def pono(x: Tensor, eps: float = 1e-5, unbiased: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    r"""Positional normalization: normalize across channels at every position.

    .. math::
        \mu_{b,h,w} = \frac{1}{C}\sum_c x_{b,c,h,w}, \quad
        \sigma_{b,h,w} = \sqrt{\frac{1}{C}\sum_c (x_{b,c,h,w} - \mu_{b,h,w})^2 + \epsilon}

    Args:
        x: feature map, contiguous or channels-last, any floating dtype.
        eps: added to the variance inside the square root.
        unbiased: divide the variance by C - 1 instead of C, as the official PyTorch code does (for its models;
            the paper's formula, the default, divides by C). Computed from the biased kernel:
            ``sqrt(var * C / (C - 1) + eps) = k * sqrt(var + eps / k**2)`` with ``k = sqrt(C / (C - 1))``.

    Returns:
        ``(normalized, mean, std)``: ``(x - mean) / std`` and the two moments, all in ``x.dtype``.

    Shape:
        - x: (B, C, H, W)
        - normalized: (B, C, H, W); mean, std: (B, 1, H, W)

    Example:
        >>> x = torch.randn(2, 8, 4, 4)
        >>> normalized, mean, std = pono(x)
        >>> mean.shape, std.shape
        (torch.Size([2, 1, 4, 4]), torch.Size([2, 1, 4, 4]))
        >>> torch.allclose(normalized * std + mean, x, atol=1e-5)
        True
    """
    _check_4d(x)
    if not x.is_floating_point():
        raise TypeError(f"pono needs a floating-point tensor, got {x.dtype}")
    if unbiased:
        num_channels = x.shape[1]
        if num_channels < 2:
            raise ValueError(f"pono(unbiased=True) needs at least 2 channels, got x of shape {tuple(x.shape)}")
        k = (num_channels / (num_channels - 1)) ** 0.5
        normalized, mean, std = pono(x, eps / k**2)
        return normalized / k, mean, std * k
    dtype = x.dtype
    work = x.float() if dtype in _LOW_PRECISION else x
    # Tracers and compilers (TorchScript, ONNX / torch.export, torch.compile) record plain tensor ops, not the
    # hand-written backward: the same arithmetic, written out.
    # Float32 CPU tensors (contiguous or channels-last) take the fused C kernel when it builds, the rest the
    # torch Function; PONO_GAN_NO_KERNEL=1 turns the kernel off.
    traced = torch.jit.is_tracing() or torch.compiler.is_compiling()
    with torch.autocast(device_type=x.device.type, enabled=False):
        if traced:
            normalized, mean, std = _pono_formula(work, eps)
        elif pono_kernel.usable(work):
            normalized, mean, std = _PonoKernelFunction.apply(work, eps)
        else:
            normalized, mean, std = _PonoFunction.apply(work, eps)
    if dtype in _LOW_PRECISION:
        return normalized.to(dtype), mean.to(dtype), std.to(dtype)
    return normalized, mean, std


def pono_reference(x: Tensor, eps: float = 1e-5, unbiased: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """The paper's formula written plainly, differentiated by autograd: the yardstick for :func:`pono`."""
    _check_4d(x)
    var, mean = torch.var_mean(x, dim=1, keepdim=True, unbiased=unbiased)
    std = torch.sqrt(var + eps)
    return (x - mean) / std, mean, std


def moment_shortcut(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Moment Shortcut: re-inject PONO moments, ``x * std + mean`` (out of place, no parameters).

    Args:
        x: decoder features.
        mean: per-position means from :func:`pono`, broadcast over channels.
        std: per-position standard deviations from :func:`pono`.

    Returns:
        ``x * std + mean`` in the promoted dtype of the inputs.

    Shape:
        - x: (B, C, H, W); mean, std: (B, 1, H, W) (or (B, C, H, W))
        - output: (B, C, H, W)

    Example:
        >>> x = torch.randn(2, 8, 4, 4)
        >>> out = moment_shortcut(*pono(x))
        >>> torch.allclose(out, x, atol=1e-5)
        True
    """
    _check_4d(x, "x")
    _check_4d(mean, "mean")
    _check_4d(std, "std")
    for name, moment in (("mean", mean), ("std", std)):
        if moment.shape[0] != x.shape[0] or moment.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"moment_shortcut: {name} of shape {tuple(moment.shape)} does not match x of shape "
                f"{tuple(x.shape)}: batch size and spatial size (H, W) must be equal"
            )
        if moment.shape[1] not in (1, x.shape[1]):
            raise ValueError(
                f"moment_shortcut: {name} of shape {tuple(moment.shape)} has {moment.shape[1]} channels; expected 1 "
                f"or {x.shape[1]} (x has shape {tuple(x.shape)})"
            )
    return torch.addcmul(mean, x, std)


class PONO(nn.Module):
    """Module form of :func:`pono`; ``forward`` returns ``(normalized, Moments(mean, std))``.

    PONO has no parameters of its own (the paper's optional affine is left to the norm that follows it).
    ``unbiased=True`` divides the variance by C - 1, as the official PyTorch code does.

    Shape:
        - input: (B, C, H, W)
        - output: (B, C, H, W) and two (B, 1, H, W) maps
    """

    def __init__(self, eps: float = 1e-5, unbiased: bool = False) -> None:
        super().__init__()
        self.eps = eps
        self.unbiased = unbiased

    def forward(self, x: Tensor) -> tuple[Tensor, Moments]:
        normalized, mean, std = pono(x, self.eps, self.unbiased)
        return normalized, Moments(mean, std)

    def extra_repr(self) -> str:
        return f"eps={self.eps}" + (", unbiased=True" if self.unbiased else "")


class MomentShortcut(nn.Module):
    """Module form of :func:`moment_shortcut` (static MS, no parameters).

    Args:
        with_mean: add the mean (``x * std + mean``, the paper's MS); False re-injects the std alone (``x * std``,
            shortcut ``ms_std``: the std is the same whatever sign an encoder gives its features, the mean is not).
    """

    def __init__(self, with_mean: bool = True) -> None:
        super().__init__()
        self.with_mean = with_mean

    def forward(self, x: Tensor, moments: Moments) -> Tensor:
        return moment_shortcut(x, moments.mean if self.with_mean else torch.zeros_like(moments.mean), moments.std)


class DynamicMomentShortcut(nn.Module):
    """Dynamic Moment Shortcut: a small conv net maps ``[mean, std]`` to per-channel ``(beta, gamma)``.

    Layers: ``Conv3x3(2 -> hidden) -> ReLU -> Conv1x1(hidden -> 2 * num_channels)`` split into ``beta`` and
    ``gamma``; the output is ``x * gamma + beta``. Parameters: ``19 * hidden + (hidden + 1) * 2 * num_channels``,
    i.e. 0.0136 M for the two stages (256 and 128 channels) of a CycleGAN ResNet generator with hidden = 16
    (the paper reports +0.018 M for its DMS).

    Initialization: the last conv starts at zero weight with ``gamma`` bias 1 and ``beta`` bias 0, so a fresh
    DMS is the identity and the generator starts out as the same network without the shortcut; the head's
    gradient is non-zero from the first step, so it learns how much of the moments to re-inject. We chose
    identity over "start as static MS" because the raw moments can be far from (0, 1) at initialization, and
    multiplying decoder features by them is a large, untrained perturbation.

    Args:
        num_channels: channels of the features the shortcut modulates.
        hidden_channels: width of the hidden layer.

    Shape:
        - x: (B, num_channels, H, W); moments: two (B, 1, H, W) maps
        - output: (B, num_channels, H, W)
    """

    def __init__(self, num_channels: int, hidden_channels: int = 16) -> None:
        super().__init__()
        if num_channels < 1 or hidden_channels < 1:
            raise ValueError("num_channels and hidden_channels must be positive, "
                             f"got {num_channels}, {hidden_channels}")
        self.num_channels = num_channels
        self.trunk = nn.Sequential(nn.Conv2d(2, hidden_channels, 3, padding=1), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(hidden_channels, 2 * num_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Identity start (see the class docstring); :func:`pono_gan.models.init_weights` calls this last."""
        nn.init.kaiming_normal_(self.trunk[0].weight, nonlinearity="relu")
        nn.init.zeros_(self.trunk[0].bias)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            self.head.bias[: self.num_channels].zero_()  # beta
            self.head.bias[self.num_channels :].fill_(1.0)  # gamma

    def modulation(self, moments: Moments) -> tuple[Tensor, Tensor]:
        """The predicted ``(beta, gamma)``, each (B, num_channels, H, W)."""
        features = torch.cat([moments.mean, moments.std], dim=1)
        beta, gamma = self.head(self.trunk(features)).chunk(2, dim=1)
        return beta, gamma

    def forward(self, x: Tensor, moments: Moments) -> Tensor:
        _check_4d(x, "x")
        if x.shape[1] != self.num_channels:
            raise ValueError(f"DynamicMomentShortcut built for {self.num_channels} channels "
                             f"got x of shape {tuple(x.shape)}")
        beta, gamma = self.modulation(moments)
        return moment_shortcut(x, beta, gamma)


SHORTCUT_NAMES: tuple[str, ...] = ("none", "ms", "dms", "ms_std")


def create_shortcut(kind: str, num_channels: int, hidden_channels: int = 16) -> nn.Module | None:
    """Build the shortcut ``kind`` (``none | ms | dms | ms_std``) for features of ``num_channels``; ``none`` gives
    None; ``ms_std`` is MS without the mean (:class:`MomentShortcut`)."""
    if kind not in SHORTCUT_NAMES:
        raise ValueError(f"unknown shortcut {kind!r}; valid shortcuts: {', '.join(SHORTCUT_NAMES)}")
    if kind in ("ms", "ms_std"):
        return MomentShortcut(with_mean=kind == "ms")
    if kind == "dms":
        return DynamicMomentShortcut(num_channels, hidden_channels)
    return None
