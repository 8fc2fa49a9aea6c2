"""The random stream training steps draw from, kept apart from everything else and saved with checkpoints.

A training step draws random numbers (dropout, MUNIT's random style codes, and anything a subclass adds) from
the global generators of Python, NumPy, torch and CUDA. So do things between steps that a resumed run does not
repeat in the same way: validation, image logging, the start of a DataLoader's workers, the sanity check. If the
steps shared the global stream with them, a resumed run would draw other numbers than the uninterrupted one.
:class:`TrainingRandomness` gives the steps a stream of their own: each step swaps it in, runs, and swaps the
outside stream back; checkpoints store it, and a resumed run continues it. It starts from the run's seed
(``torch.initial_seed()``, which ``seed_everything`` sets), so it does not depend on what ran before the first step.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = ["TrainingRandomness", "capture_rng", "restore_rng"]


def capture_rng(device: torch.device | None = None) -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's global generators (and CUDA's on ``device``), as plain data
    and tensors (so a checkpoint holding them loads with ``weights_only=True``)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
    }
    if device is not None and device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device | None = None) -> None:
    """Set the global generators to ``state`` (from :func:`capture_rng`); CUDA's only when both have it."""
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state((numpy["kind"], keys, numpy["position"], numpy["has_gauss"], numpy["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    outside = capture_rng()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        restore_rng(outside)


class TrainingRandomness:
    """The training steps' own random stream (see the module docstring).

    ``with randomness.active(device): ...`` runs a step on it. :meth:`state_dict` / :meth:`load_state_dict` save
    and restore it with checkpoints.
    """

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def _initial_state(self, device: torch.device) -> dict[str, Any]:
        seed = (torch.initial_seed() + 1) % 2**63  # + 1: not the very stream the weights were drawn from
        with _seeded(seed):  # torch.manual_seed seeds every CUDA device too
            return capture_rng(device)

    @contextmanager
    def active(self, device: torch.device) -> Iterator[None]:
        outside = capture_rng(device)
        restore_rng(self.state if self.state is not None else self._initial_state(device), device)
        try:
            yield
        finally:
            self.state = capture_rng(device)
            restore_rng(outside, device)

    def state_dict(self) -> dict[str, Any] | None:
        return self.state

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        self.state = state
