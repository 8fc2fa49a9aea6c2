"""The errors a user can fix: the CLIs print their one-line message (no traceback) and exit with status 2."""

from __future__ import annotations

__all__ = ["PonoGanError", "DataError", "MissingPathError"]


class PonoGanError(Exception):
    """Base of every user-facing error; its message is one line naming the thing and the fix."""


class DataError(PonoGanError, ValueError):
    """Data that cannot be used as it is (empty folder, unmatched pairs, crop larger than the image, ...)."""


class MissingPathError(PonoGanError, FileNotFoundError):
    """A file or folder the user named does not exist."""
