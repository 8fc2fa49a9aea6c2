"""Tests that need something this machine may lack (a C compiler, a font, an optional package).

Locally such a test skips and says what is missing; under CI (``CI`` set, as ``.ci/run`` runs) it fails with the
fix instead, so a green CI cannot hide code that no test ran.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

__all__ = ["IN_CI", "missing", "requires", "requires_module"]

IN_CI = bool(os.environ.get("CI"))


def missing(what: str, fix: str) -> None:
    """Skip the running test because ``what`` is missing, or fail it under CI, naming ``fix``."""
    if IN_CI:
        pytest.fail(f"{what}; CI must run this test: {fix}", pytrace=False)
    pytest.skip(f"{what} ({fix})")


def requires(available: bool, what: str, fix: str) -> pytest.MarkDecorator:
    """A mark: the test runs only where ``available`` (see :func:`missing`; checked by ``tests/conftest.py``)."""
    return pytest.mark.requires(available=available, what=what, fix=fix)


def requires_module(name: str, fix: str) -> pytest.MarkDecorator:
    return requires(importlib.util.find_spec(name) is not None, f"the Python package {name} is not installed", fix)
