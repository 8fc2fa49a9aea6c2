import math

import numpy as np
import pytest
from scipy import stats

from pono_gan.evaluate.stats import mean_std, welch_interval


@pytest.mark.parametrize("seed", range(5))
def test_welch_interval_equals_scipys(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.3, 1.0, 5), rng.normal(0.0, 2.0, 3)
    result = welch_interval(list(a), list(b))
    reference = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert result.difference == pytest.approx(a.mean() - b.mean())
    assert (result.low, result.high) == (pytest.approx(reference.low), pytest.approx(reference.high))
    assert result.beyond_noise == (reference.low > 0 or reference.high < 0)


def test_hand_computed_interval():
    # a = [1, 2, 3], b = [0, 0, 0]: difference 2, standard error sqrt(1 / 3), 2 degrees of freedom, t = 4.3027
    result = welch_interval([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert result.dof == pytest.approx(2.0)
    half = 4.302652729911275 * math.sqrt(1 / 3)
    assert (result.low, result.high) == (pytest.approx(2 - half), pytest.approx(2 + half))
    assert not result.beyond_noise  # a mean difference of 2, but the interval (-0.48, 4.48) holds zero
    assert welch_interval([1.0, 2.0, 3.0, 2.0, 2.0], [0.0, 0.1, -0.1, 0.0, 0.0]).beyond_noise  # more seeds, less spread


def test_too_few_runs_and_no_spread():
    single = welch_interval([1.0], [0.0, 0.5])
    assert single.difference == pytest.approx(0.75) and not single.defined and not single.beyond_noise
    constant = welch_interval([1.0, 1.0], [0.5, 0.5])
    assert (constant.low, constant.high) == (0.5, 0.5) and constant.beyond_noise
    with pytest.raises(ValueError, match="confidence"):
        welch_interval([1.0, 2.0], [1.0, 2.0], confidence=95)


def test_mean_std_is_the_sample_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])
