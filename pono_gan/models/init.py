"""Weight initialization dispatched on module type (junyanz ``init_weights``)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from pono_gan.layers import DynamicMomentShortcut

__all__ = ["INIT_NAMES", "init_weights"]

_INITS: dict[str, Callable[[Tensor, float], object]] = {
    "normal": lambda w, gain: nn.init.normal_(w, 0.0, gain),
    "xavier": lambda w, gain: nn.init.xavier_normal_(w, gain=gain),
    "kaiming": lambda w, gain: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
    "orthogonal": lambda w, gain: nn.init.orthogonal_(w, gain=gain),
}
INIT_NAMES: tuple[str, ...] = tuple(_INITS)

_WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_NORMS = (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)


def init_weights(module: nn.Module, init_type: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialize convs / linears with ``init_type`` (biases 0) and affine norms with N(1, gain) (biases 0).

    Dynamic Moment Shortcuts are reset last to their identity start, which a generic init would destroy.
    Spectral-normalized weights are initialized through their ``weight_orig``. Returns ``module``.
    """
    try:
        initialize = _INITS[init_type]
    except KeyError:
        raise ValueError(f"unknown init {init_type!r}; valid inits: {', '.join(INIT_NAMES)}") from None
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            weight = getattr(m, "weight_orig", m.weight)
            initialize(weight.data, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, DynamicMomentShortcut):
            m.reset_parameters()
    return module
