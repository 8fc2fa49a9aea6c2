"""The errors a user can fix: the CLIs print their one-line message (no traceback) and exit with status 2."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["PonoGanError", "ConfigError", "DataError", "MissingPathError", "deprecated", "require"]


class PonoGanError(Exception):
    """Base of every user-facing error; its message is one line naming the thing and the fix."""


class DataError(PonoGanError, ValueError):
    """Data that cannot be used as it is (empty folder, unmatched pairs, crop larger than the image, ...)."""


class MissingPathError(PonoGanError, FileNotFoundError):
    """A file or folder the user named does not exist."""


class ConfigError(PonoGanError, ValueError):
    """A config value that cannot work: ``KEY=VALUE: FIX``. The object that checks a value names its own field;
    the CLI puts the key under its place in the config (:meth:`under`), e.g. ``model.init_args.generator.pono``."""

    def __init__(self, key: str, value: Any, fix: str) -> None:
        self.key, self.value, self.fix = key, value, fix
        super().__init__(f"{key}={value!r}: {fix}")

    def under(self, prefix: str) -> ConfigError:
        """The same error with its key under ``prefix``."""
        return ConfigError(f"{prefix}.{self.key}", self.value, self.fix)


def require(owner: Any, names: str, minimum: float = 1, *, strict: bool = False) -> None:
    """Raise :class:`ConfigError` for the first of ``owner``'s attributes ``names`` (space-separated) below
    ``minimum`` (at or below it where ``strict``); None values are not checked.

    >>> from types import SimpleNamespace
    >>> try:
    ...     require(SimpleNamespace(base_channels=-4, lr=0.0), "base_channels lr")
    ... except ConfigError as error:
    ...     print(error)
    base_channels=-4: must be at least 1
    """
    for name in names.split():
        value = getattr(owner, name)
        if value is not None and (value <= minimum if strict else value < minimum):
            raise ConfigError(name, value, f"must be {'above' if strict else 'at least'} {minimum}")


_NOTED: set[str] = set()


def deprecated(old: str, new: str, value: Any) -> None:
    """Say once per process, in one line on stderr, that setting ``old`` is read as ``new``.

    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     deprecated("x.old", "x.new", 3)
    ...     deprecated("x.old", "x.new", 3)
    >>> err.getvalue()
    'note: x.old is deprecated and read as x.new=3; rename it in your config\\n'
    """
    if old not in _NOTED:
        _NOTED.add(old)
        print(f"note: {old} is deprecated and read as {new}={value}; rename it in your config", file=sys.stderr)
