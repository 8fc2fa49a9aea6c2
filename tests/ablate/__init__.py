"""Shared by the ablate tests: records made by hand and a plan around them."""

from pono_gan.ablate.runner import Plan

__all__ = ["RECORDS", "plan", "record"]


def record(variant, seed, steps, l1, psnr):
    return {"variant": variant, "seed": seed, "steps": steps, "seconds": 60.0, "threads": 1, "parameters": 1000,
            "values": {"l1": l1, "psnr": psnr}}


def plan(tmp_path, variants=("instance", "group", "pono_ms")):
    return Plan("paired", tmp_path, {v: tmp_path / f"{v}.yaml" for v in variants}, [], [], tmp_path / "runs")


# IN and GN at noise level; PONO-MS clearly lower L1 (5 seeds) and PSNR indistinguishable
RECORDS = (
    [record("instance", s, 100, 0.20 + 0.01 * (s % 2), 12.0 + 0.3 * (s % 3)) for s in range(5)]
    + [record("group", s, 100, 0.22 + 0.01 * (s % 2), 11.0 + 0.3 * (s % 3)) for s in range(5)]
    + [record("pono_ms", s, 100, 0.15 + 0.01 * (s % 2), 12.1 + 0.3 * ((s + 1) % 3)) for s in range(5)]
    + [record("instance", s, 300, 0.18 + 0.01 * (s % 2), 13.0) for s in range(3)]
    + [record("pono_ms", s, 300, 0.18 + 0.01 * ((s + 1) % 2), 13.0) for s in range(3)]
)
