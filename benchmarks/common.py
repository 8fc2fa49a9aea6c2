"""Timing helpers shared by the benchmarks: interleaved rounds, medians, ratios against a reference."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_medians(cases: dict[str, Callable[[], object]], rounds: int, repeats: int,
                        warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each case; cases alternate within every round so machine noise hits all alike."""
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            samples[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_ratios(medians: dict[str, float], reference: str, unit: str = "ms", scale: float = 1e3) -> None:
    """One line a case: its median time and its ratio to ``reference`` (lower is faster)."""
    base = medians[reference]
    width = max(map(len, medians))
    for name, seconds in medians.items():
        print(f"{name:<{width}}  {seconds * scale:9.3f} {unit}   ratio vs {reference}: {seconds / base:5.2f}")
