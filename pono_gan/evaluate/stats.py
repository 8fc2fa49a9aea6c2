"""Statistics that tell an effect from noise: the difference of two means over seeds with a 95% interval.

A difference between two variants is *beyond noise* only when its interval excludes zero. The interval is Welch's
t interval (unequal variances, Welch-Satterthwaite degrees of freedom), the usual choice for a handful of seeds per
variant: with 3 to 5 seeds a bootstrap has too few distinct resamples to be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Comparison", "mean_std", "welch_interval"]


class Comparison(NamedTuple):
    """``a - b``: the difference of the means and its interval (``low``, ``high``) at ``confidence``."""

    difference: float
    low: float
    high: float
    dof: float
    n_a: int
    n_b: int
    confidence: float

    @property
    def defined(self) -> bool:
        """Whether there were enough runs for an interval (at least 2 on each side)."""
        return not math.isnan(self.low)

    @property
    def beyond_noise(self) -> bool:
        """The interval excludes zero."""
        return self.defined and (self.low > 0 or self.high < 0)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (divide by n - 1; 0 for a single value)."""
    if not values:
        raise ValueError("mean_std needs at least one value")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Comparison:
    """Welch's t interval for ``mean(a) - mean(b)``.

    Args:
        a, b: one value per seed for each variant (at least 2 each for an interval; with fewer the bounds are NaN).
        confidence: the interval's coverage (0.95: a 95% interval).

    Returns:
        A :class:`Comparison`. With both variances zero the interval is the difference itself.

    Example:
        >>> c = welch_interval([1.0, 1.2, 1.1], [0.5, 0.7, 0.6])
        >>> round(c.difference, 3), c.beyond_noise
        (0.5, True)
    """
    from scipy.stats import t as student_t

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    (mean_a, std_a), (mean_b, std_b) = mean_std(a), mean_std(b)
    difference = mean_a - mean_b
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return Comparison(difference, math.nan, math.nan, math.nan, n_a, n_b, confidence)
    var_a, var_b = std_a**2 / n_a, std_b**2 / n_b
    standard_error = math.sqrt(var_a + var_b)
    if standard_error == 0:
        return Comparison(difference, difference, difference, math.inf, n_a, n_b, confidence)
    dof = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, dof)) * standard_error
    return Comparison(difference, difference - half, difference + half, dof, n_a, n_b, confidence)
