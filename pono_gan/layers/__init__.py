"""Layers: PONO, Moment Shortcuts and the norm factory."""

from pono_gan.layers.moments import (
    PONO,
    SHORTCUT_NAMES,
    DynamicMomentShortcut,
    Moments,
    MomentShortcut,
    create_shortcut,
    moment_shortcut,
    pono,
    pono_reference,
)
from pono_gan.layers.norms import NORM_NAMES, MunitLayerNorm, create_norm, group_count

__all__ = [
    "PONO",
    "DynamicMomentShortcut",
    "Moments",
    "MomentShortcut",
    "SHORTCUT_NAMES",
    "create_shortcut",
    "moment_shortcut",
    "pono",
    "pono_reference",
    "NORM_NAMES",
    "MunitLayerNorm",
    "create_norm",
    "group_count",
]
