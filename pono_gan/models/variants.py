"""A variant's names: the config name of a generator's norm, PONO and shortcut (``pono_ms``), which the variant
files of ``configs/`` are named after and runs, W&B groups and tags use, and its display name in reports
(``PONO-MS``). One home for both, so a variant has one spelling in each role.

>>> from pono_gan.models import GeneratorConfig
>>> variant_name(GeneratorConfig(norm="group", pono=True, shortcut="ms"))
'group_pono_ms'
>>> variant_label(variant_name(GeneratorConfig(norm="instance", pono=True, shortcut="ms")))
'PONO-MS'
"""

from __future__ import annotations

from typing import Any

__all__ = ["VARIANT_LABELS", "variant_label", "variant_name"]

#: the display names of the variants (by config name); another name shows as it is
VARIANT_LABELS = {
    "instance": "IN", "group": "GN", "pono_ms": "PONO-MS", "pono_dms": "PONO-DMS", "pono": "PONO (no shortcut)",
    "group_pono_ms": "GN + PONO-MS", "pono_ms_official": "PONO-MS (official layout)",
    "pono_ms_no_moment_loss": "PONO-MS (no moment loss)", "pono_ms_std": "PONO-MS (std only)",
    "pono_ms_shared": "PONO-MS (shared content encoder)", "instance_shared": "IN (shared content encoder)",
}


def variant_name(config: Any) -> str:
    """The config name of a generator config's variant: its norm without PONO (``instance``, ``group``); with PONO,
    ``pono`` and the shortcut, prefixed by the norm where it is not instance norm (``pono``, ``pono_ms``,
    ``pono_dms``, ``group_pono_ms``), and ``_official`` for a style model in the official code's placement."""
    if not config.pono:
        return config.norm
    prefix = "" if config.norm == "instance" else f"{config.norm}_"
    name = prefix + "pono" + ("" if config.shortcut == "none" else f"_{config.shortcut}")
    return name + ("_official" if getattr(config, "placement", None) == "official" else "")


def variant_label(variant: str) -> str:
    """The display name of a variant's config name (``pono_ms`` -> ``PONO-MS``); an unknown name as it is."""
    return VARIANT_LABELS.get(variant, variant)
