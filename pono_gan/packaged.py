"""The configs that ship with pono-gan, found the same way in a checkout and after a plain ``pip install .``.

``pono_gan/configs`` is a link to the project's ``configs/`` folder; ``pip install`` copies the YAML files behind it
into the installed package (``[tool.setuptools.package-data]`` in ``pyproject.toml``), so ``pono-gan train --config
style/pono_ms`` works from any folder.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIGS", "find_config", "with_packaged_configs"]

#: the packaged configs folder (the project's ``configs/``)
CONFIGS = Path(__file__).resolve().parent / "configs"


def find_config(name: str) -> str:
    """``name`` where it is a file; else the packaged config it names, with or without ``configs/`` and ``.yaml``:
    ``configs/style/pono_ms.yaml``, ``style/pono_ms.yaml`` and ``style/pono_ms`` all name the same file. A name that
    is neither comes back unchanged, for the caller's own one-line error."""
    if Path(name).is_file():
        return name
    relative = name.removeprefix("configs/")
    for candidate in (CONFIGS / relative, CONFIGS / f"{relative}.yaml"):
        if candidate.is_file():
            return str(candidate)
    return name


def with_packaged_configs(args: list[str]) -> list[str]:
    """``args`` with the value of every ``--config`` / ``-c`` (and ``--config=``) resolved by :func:`find_config`.

    >>> with_packaged_configs(["fit", "--config", "style/pono_ms"])[-1].endswith("configs/style/pono_ms.yaml")
    True
    """
    resolved = list(args)
    for index, arg in enumerate(resolved):
        if arg in ("--config", "-c") and index + 1 < len(resolved):
            resolved[index + 1] = find_config(resolved[index + 1])
        elif arg.startswith("--config="):
            resolved[index] = "--config=" + find_config(arg.removeprefix("--config="))
    return resolved
