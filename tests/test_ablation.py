"""benchmarks/ablation.py's bookkeeping: metric values from evaluate summaries, the schedule, and the verdict."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ablation.py"


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def summary(l1, fd):
    return {"metrics": {"l1": {"mean": l1, "std": 0.1}},
            "distribution_metrics": {"fd_effnet_lite0": {"value": fd}, "kid_effnet_lite0": {"mean": fd / 100, "std": 0.0}}}


def test_values_flatten_per_image_and_distribution_metrics(ablation):
    assert ablation.values(summary(0.2, 50.0)) == {"l1": 0.2, "fd_effnet_lite0": 50.0, "kid_effnet_lite0": 0.5}


def test_schedule_decays_over_the_last_third(ablation):
    assert ablation.schedule(600) == (400, 200)
    assert sum(ablation.schedule(7)) == 7


def test_mean_std_is_the_sample_standard_deviation(ablation):
    assert ablation.mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
    assert ablation.mean_std([5.0]) == (5.0, 0.0)


def test_verdict_compares_pono_with_the_better_baseline(ablation):
    def runs(*l1s):
        return [{"values": {"l1": v, "psnr": 20 - v, "ssim": 1 - v, "fd_effnet_lite0": 10 * v,
                            "kid_effnet_lite0": v}} for v in l1s]

    results = {"instance": runs(0.10, 0.11), "group": runs(0.20, 0.21), "pono_ms": runs(0.050, 0.051)}
    text = ablation.verdict(results)
    assert "L1: PONO-MS 0.0505 vs the better baseline IN 0.1050" in text
    assert "better)" in text and "worse)" not in text
    assert "Of these 5 comparisons, 5 favour PONO" in text
    worse = ablation.verdict({"instance": runs(0.10, 0.10), "pono_ms": runs(0.30, 0.30)})
    assert "Of these 5 comparisons, 0 favour PONO beyond the seed-to-seed spread, 5 favour the baseline" in worse
    assert "no comparison" in ablation.verdict({"instance": runs(0.1)})
