"""benchmarks/ablation.py's bookkeeping: metric values from evaluate summaries, the schedule, and the verdict."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ablation.py"


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ablation"] = module  # its dataclasses look their module up there
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


def test_every_study_variant_has_its_config_files_and_labelled_metrics(ablation):
    for study in ablation.STUDIES.values():
        assert set(study.metrics) <= set(ablation.LABELS)
        for variant in study.variants:
            assert all(path.is_file() for path in study.config_files(variant)), (study, variant)
    style = ablation.STUDIES["style"]
    assert style.direction == "AtoB" and style.config_files("pono_ms")[-1].name == "pono_ms.yaml"
    assert {"l1_random", "diversity_l1"} <= set(style.metrics)


def test_tables_bold_the_best_mean_per_metric(ablation):
    def run(seed, l1, diversity):
        return {"seed": seed, "parameters": 1234, "values": {"l1": l1, "diversity_l1": diversity}}

    results = {"instance": [run(0, 0.2, 0.1), run(1, 0.3, 0.1)], "pono_ms": [run(0, 0.1, 0.05), run(1, 0.1, 0.05)]}
    lines, per_seed = ablation.tables(results, ("l1", "diversity_l1", "psnr"))  # psnr: not measured, no column
    assert "PSNR" not in lines[0] and "diversity (pairwise L1) (higher is better)" in lines[0]
    assert lines[2] == "| IN | 0.2500 +- 0.0707 | **0.1000 +- 0.0000** | 1,234 |"
    assert lines[3] == "| PONO-MS | **0.1000 +- 0.0000** | 0.0500 +- 0.0000 | 1,234 |"
    assert per_seed[2:] == ["| IN | 0 | 0.2000 | 0.1000 |", "| IN | 1 | 0.3000 | 0.1000 |",
                            "| PONO-MS | 0 | 0.1000 | 0.0500 |", "| PONO-MS | 1 | 0.1000 | 0.0500 |"]
    text = ablation.verdict(results, ("l1", "diversity_l1"))
    assert "Of these 2 comparisons" in text and "diversity (pairwise L1): PONO-MS 0.0500" in text


def test_style_report_names_the_setup_and_the_measured_table(ablation, tmp_path):
    import argparse

    metrics = ablation.STUDIES["style"].metrics
    results = {variant: [{"seed": seed, "parameters": 10, "seconds": 300.0,
                          "values": {m: 0.1 * (seed + 1) + (variant == "pono_ms") * 0.01 for m in metrics}}
                         for seed in (0, 1)] for variant in ("instance", "pono_ms")}
    args = argparse.Namespace(command="python benchmarks/ablation.py --task style", seeds=[0, 1], steps=600, jobs=2,
                              threads=1, runs="runs/ablation_style", verdict=ablation.verdict(results, metrics))
    path = tmp_path / "results_style.md"
    ablation.write_style_report(path, results, args, ["glyphs_style_samples.png"], [list("七万")], {
        "counts": {"train": 3191, "val": 188, "test": 376}, "seed": 0})
    text = path.read_text()
    assert text.startswith("# Results: the style (MUNIT) model with and without PONO-MS")
    assert "2 variants x 2 seeds" in text and "about 5 minutes" in text and "![samples](results/glyphs_style_samples.png)" in text
    assert "| IN | **0.1500 +- 0.0707** |" in text and "| PONO-MS | 1 |" in text and "Of these 7 comparisons" in text
    assert "| Cat -> Dog | 315.6 | 80.4 |" in text and "PONO-DMS" not in text


def test_a_missing_font_exits_2_with_one_line(ablation, monkeypatch, tmp_path, capsys):
    from pono_gan.data.glyphs import build_glyphs

    missing = tmp_path / "no-such-font.ttf"
    monkeypatch.setattr(ablation, "build_glyphs", lambda root, size: build_glyphs(root, size=size, source_font=missing))
    with pytest.raises(SystemExit) as caught:
        ablation.main(["--data", str(tmp_path / "glyphs"), "--runs", str(tmp_path / "runs"), "--docs", str(tmp_path / "r.md")])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ablation: error:") and "no-such-font.ttf" in err[0]
