"""``python -m pono_gan.ablate``: the report's statistics on records made by hand (fast), and a two-variant,
two-seed study on a data set the test makes, resumed and refused as a user would meet it (slow)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pono_gan.ablate.cli import default_layout, main, study_precision, variant_file
from pono_gan.ablate.report import (
    Page,
    Results,
    budget_section,
    comparison_rows,
    comparison_section,
    contrast_section,
    cost_line,
    default_contrasts,
    references_section,
    render,
    sample_budget,
)
from pono_gan.ablate.runner import Plan, Run, StudyError, schedule, train_command, train_run
from tests.data import make_paired
from tests.data.test_fonts import latin_benchmark, needs_dejavu
from tests.helpers import ROOT, run_python
from tests.tasks.helpers import TINY


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


def test_each_variant_is_compared_with_the_best_baseline_of_each_metric():
    results = Results.by_budget(RECORDS, ["instance", "group", "pono_ms"])
    assert [r.steps for r in results] == [100, 300] and list(results[1].runs) == ["instance", "pono_ms"]
    rows = {(metric, variant): (base, c)
            for metric, variant, base, c in comparison_rows(results[0], ["l1", "psnr"], ["instance", "group"])}
    assert set(rows) == {("l1", "pono_ms"), ("psnr", "pono_ms")}
    base, l1 = rows["l1", "pono_ms"]
    assert base == "instance" and l1.difference == pytest.approx(-0.05) and l1.beyond_noise and l1.high < 0
    base, psnr = rows["psnr", "pono_ms"]
    assert base == "instance" and not psnr.beyond_noise  # IN is the better baseline on PSNR too (12.x vs 11.x)
    text = comparison_section(results[0], ["l1", "psnr"], ["instance", "group"])
    assert "| L1 | PONO-MS | IN | -0.0500 |" in text and "**better, beyond noise**" in text and "within noise" in text
    assert "Of these 2 comparisons, 1 favour the variant beyond noise, 0 favour the baseline" in text


def test_the_gap_across_budgets_and_the_whole_report(tmp_path):
    results = Results.by_budget(RECORDS, ["instance", "group", "pono_ms"])
    gap = budget_section(results, ["l1"], ["instance", "group"])
    assert "100 iterations | 300 iterations" in gap and "| L1 | PONO-MS | IN | -0.0500 [" in gap
    text = render(plan(tmp_path), RECORDS, Page(["l1", "psnr"], ["instance", "group"], "A title",
                  "python -m pono_gan.ablate", "the setup", (None, None), "images/", 120.0))
    assert text.startswith("# A title")
    assert "21 runs, 3,300 training iterations in all, 21.0 CPU minutes of training (run time x threads)" in text
    measured = [{**r, "cpu_seconds": 30.0} for r in RECORDS]  # what the runner records now
    assert "10.5 CPU minutes of training (user + system time" in render(
        plan(tmp_path), measured, Page(["l1"], ["instance"], "t", "c", "s"))
    assert "## Results at 100 iterations" in text and "## Results at 300 iterations" in text
    assert "| PONO-MS | 5 | **0.1540 +- 0.0055** |" in text  # 5 seeds, best mean in bold
    assert "## Does the gap change with training?" in text
    assert text.count("| PONO-MS | 4 |") == 1  # per-seed rows name their seed


def test_the_cost_mixes_measured_and_older_records_and_scales_a_resumed_last_leg():
    old = record("instance", 0, 100, 0.2, 12.0)  # 60 s x 1 thread, no measured CPU time
    measured = {**record("group", 0, 100, 0.2, 12.0), "cpu_seconds": 120.0, "resumed_from": 0}
    resumed = {**record("pono_ms", 0, 100, 0.2, 12.0), "cpu_seconds": 45.0, "resumed_from": 25}  # 75 of 100 its
    text = cost_line([old, measured, resumed])
    assert text.startswith("3 runs, 300 training iterations in all, 4.0 CPU minutes of training")  # 60 + 120 + 60 s
    assert "user + system time of the training processes for 2 runs, run time x threads for the 1 trained" in text
    assert "1 run resumed from a checkpoint, its last leg scaled to the whole run" in text
    assert "resumed" not in cost_line([old, measured]) and "(user + system time" in cost_line([measured])


def test_the_report_names_the_means_that_do_not_beat_doing_nothing():
    references = {"input unchanged": {"l1": 0.16, "psnr": 12.05}, "constant image": {"l1": 0.30, "psnr": 9.0}}
    text = references_section(references, Results.by_budget(RECORDS, ["instance", "group", "pono_ms"]), ["l1", "psnr"])
    assert "| input unchanged | 0.1600 | 12.05 |" in text and "| constant image | 0.3000 | 9.00 |" in text
    # L1 means: IN 0.204, GN 0.224, PONO-MS 0.154 at 100 its; 0.184 / 0.186 at 300. PSNR: IN 12.3, GN 11.3,
    # PONO-MS 12.28
    assert "- L1: IN (100 its), GN (100 its), IN (300 its), PONO-MS (300 its)\n- PSNR (dB): GN (100 its)" in text
    assert references_section({}, Results.by_budget(RECORDS, ["instance"]), ["l1"]) == ""


def test_variants_are_ranked_only_where_a_baseline_learned(tmp_path):
    alive = {"D_B": {"real": 0.7, "fake": 0.3, "steps": 50, "tells_real_from_fake": True}}
    dead = {"D_B": {"real": 0.47, "fake": 0.46, "steps": 50, "tells_real_from_fake": False}}
    records = [{**r, "discriminators": dead if (r["variant"], r["steps"], r["seed"]) == ("instance", 300, 0) else alive}
               for r in RECORDS]
    references = {"input unchanged": {"l1": 0.215}, "blank page": {"l1": 0.25}}
    text = render(plan(tmp_path), records, Page(["l1"], ["instance", "group"], "t", "c", "s", (None, None), "",
                  references=references))
    assert "## Learning gates" in text and "it beats every reference above on L1" in text
    assert "| IN | 100 | 0 | tell real from fake | yes | **yes** |" in text  # L1 0.20 < 0.215
    assert "| GN | 100 | 1 | tell real from fake | no | no |" in text  # L1 0.23
    assert "| IN | 300 | 0 | **at chance** (D_B) | yes | no |" in text  # a dead discriminator fails the run
    at_100, at_300 = text.split("## Results at 300 iterations")
    assert "### Differences against the best baseline (100 iterations)" in at_100  # IN's mean 0.204 learned
    assert ("**Not learned at this budget.** No baseline (IN, GN) passed" in at_300
            and "Differences against" not in at_300)
    assert "15 of 21 runs passed." in text  # GN (5 seeds) and one IN run fail
    # a study without references is not gated
    assert "Learning gates" not in render(plan(tmp_path), RECORDS, Page(["l1"], ["instance"], "t", "c", "s",
                                          (None, None), ""))


def test_the_papers_questions_are_asked_where_both_variants_ran(tmp_path):
    # PONO without a shortcut matches IN; PONO-MS is clearly better than it on L1; GN + PONO-MS equals GN
    records = RECORDS + [record("pono", s, 100, 0.20 + 0.01 * (s % 2), 12.0) for s in range(3)] + [
        record("group_pono_ms", s, 100, 0.22 + 0.01 * ((s + 1) % 2), 11.0) for s in range(3)]
    variants = ["instance", "group", "pono_ms", "pono", "group_pono_ms"]
    assert default_contrasts(variants) == [("pono_ms", "pono"), ("group_pono_ms", "group")]
    assert default_contrasts(["instance", "pono_ms"]) == []
    results = Results.by_budget(records, variants)
    text = contrast_section(results[0], ["l1"], default_contrasts(variants))
    assert "- PONO-MS against PONO (no shortcut): Is it the re-injection" in text
    assert "- GN + PONO-MS against GN: Does PONO-MS add to the norm" in text
    assert "| L1 | PONO-MS | PONO (no shortcut) | -0.0493 | [-0.0607, -0.0380] | **better, beyond noise** |" in text
    assert "| L1 | GN + PONO-MS | GN | +0.0027 | [-0.0087, +0.0140] | within noise |" in text
    assert "Of these 2 comparisons, 1 favour the variant beyond noise, 0 favour the reference" in text
    assert contrast_section(results[1], ["l1"], default_contrasts(variants)) == ""  # neither pair ran at 300
    report = render(plan(tmp_path, variants), records, Page(["l1"], ["instance", "group"], "t", "c", "s"))
    assert report.count("### Specific comparisons") == 1 and "### Specific comparisons (100 iterations)" in report
    assert "Specific" not in render(plan(tmp_path, variants), records,
                                    Page(["l1"], ["instance", "group"], "t", "c", "s", contrasts=[]))
    # the sample grid shows the budget most variants ran, not the longest one
    assert sample_budget(records) == 100 and sample_budget([r for r in records if r["variant"] == "instance"]) == 300


def test_a_report_of_a_study_under_way_says_it_is_partial(tmp_path):
    study = plan(tmp_path)
    study.runs = [Run(v, s, 100) for v in ("instance", "group", "pono_ms") for s in range(6)]  # 18 planned, 15 done
    text = render(study, [r for r in RECORDS if r["steps"] == 100],
                  Page(["l1"], ["instance"], "t", "c --report-only", "s"))
    assert "**Partial: 15 of the 18 planned runs had finished**" in text
    assert "Partial" not in render(plan(tmp_path), RECORDS, Page(["l1"], ["instance"], "t", "c", "s"))


def test_too_few_seeds_give_no_interval(tmp_path):
    results = Results.by_budget([record("instance", 0, 10, 0.2, 10.0), record("pono_ms", 0, 10, 0.1, 11.0)],
                                ["instance", "pono_ms"])
    assert "no interval (fewer than 2 seeds)" in comparison_section(results[0], ["l1"], ["instance"])


def test_variants_layouts_and_schedule(tmp_path, monkeypatch):
    root = Path("/project")
    assert variant_file("unpaired", "pono_ms", root) == ("pono_ms", root / "unpaired/pono_ms.yaml")
    assert variant_file("unpaired", "pono_ms")[1].read_bytes() == (ROOT / "configs/unpaired/pono_ms.yaml").read_bytes()
    assert variant_file("unpaired", "my/own_variant.yaml", root) == ("own_variant", Path("my/own_variant.yaml"))
    make_paired(tmp_path / "pairs", "test", count=2, size=(8, 8))
    assert default_layout(tmp_path / "pairs") == "paired"
    (tmp_path / "pairs" / "testB" / "p0.png").unlink()
    assert default_layout(tmp_path / "pairs") == "unpaired"
    (tmp_path / "aligned" / "test").mkdir(parents=True)
    assert default_layout(tmp_path / "aligned") == "aligned"
    assert schedule(600) == (400, 200)
    plan = Plan("paired", tmp_path / "aligned", {"instance": tmp_path / "instance.yaml"}, [], [], tmp_path / "runs")
    for layout, trains_as in (("aligned", ["--data.layout", "aligned"]), ("paired", []), ("fonts", [])):
        command = train_command(replace(plan, layout=layout), Run("instance", 0, 10), tmp_path / "run")
        assert [part for i, part in enumerate(command) if "--data.layout" in command[i - 1:i + 1]] == trains_as
    monkeypatch.setattr("pono_gan.hardware.auto_bf16", lambda device: (True, "a test CPU with bf16"))
    assert study_precision("auto") == "bf16-mixed" and study_precision("32-true") == "32-true"
    monkeypatch.setattr("pono_gan.hardware.auto_bf16", lambda device: (False, "no native bfloat16 on this CPU"))
    assert study_precision("auto") == "32-true"
    for precision in ("32-true", "bf16-mixed"):  # one for the whole study, set on every run
        command = train_command(replace(plan, precision=precision), Run("instance", 0, 10), tmp_path / "run")
        assert command[command.index("--trainer.precision") + 1] == precision


def test_missing_data_or_variant_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    assert main(["--task", "paired", "--data", str(tmp_path / "data"), "--report", str(tmp_path / "r.md"), "--",
                 "--trainer.precision", "bf16-mixed"]) == 2  # the report would say 32-true
    assert "use ablate's --precision" in capsys.readouterr().err
    (tmp_path / "data").rmdir()
    assert main(["--task", "paired", "--data", str(tmp_path / "nope"), "--report", str(tmp_path / "r.md")]) == 2
    assert "data root" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    assert main(["--task", "paired", "--data", str(tmp_path / "data"), "--variants", "instance", "no_such_variant",
                 "--report", str(tmp_path / "r.md"), "--runs", str(tmp_path / "runs")]) == 2
    assert "variant 'no_such_variant'" in capsys.readouterr().err
    for bad in ("pono_ms", "pono_ms:pono", "instance:instance"):  # no reference, not a variant of the study, itself
        assert main(["--task", "paired", "--data", str(tmp_path / "data"), "--variants", "instance", "pono_ms",
                     "--contrast", bad, "--report", str(tmp_path / "r.md"), "--runs", str(tmp_path / "runs")]) == 2
        assert f"--contrast {bad}: give VARIANT:REFERENCE" in capsys.readouterr().err


def test_a_failed_training_names_the_run_and_its_log(tiny_dataset, tmp_path):
    root = Path(__file__).resolve().parents[2] / "configs" / "paired"
    study = Plan("paired", tiny_dataset, {"instance": root / "instance.yaml"}, [Run("instance", 0, 2)],
                 [root / "base.yaml"], tmp_path / "runs", overrides=["--no_such_flag", "1"])
    with pytest.raises(StudyError, match=r"training instance seed 0 failed \(exit 2\); see .*seed0/train.log"):
        train_run(study, study.runs[0], log=lambda line: None)
    assert "no_such_flag" in (tmp_path / "runs" / "instance" / "steps2" / "seed0" / "train.log").read_text()
    assert not (tmp_path / "runs" / "instance" / "steps2" / "seed0" / "trained.json").exists()


@pytest.mark.slow
def test_a_two_variant_two_seed_study_resumes_and_refuses_other_settings(tiny_dataset, tmp_path, capsys):
    at = TINY.index("--trainer.precision")
    tiny = TINY[:at] + TINY[at + 2:]  # ablate sets the precision itself (--precision)
    args = ["--task", "paired", "--data", str(tiny_dataset), "--variants", "instance", "pono_ms", "--seeds", "0", "1",
            "--steps", "2", "--runs", str(tmp_path / "runs"), "--report", str(tmp_path / "study.md"),
            "--metrics", "l1", "psnr", "ssim", "--contrast", "pono_ms:instance", "--", *tiny]
    # a W&B service in this process (as after any earlier in-process W&B use) must not be shared with the runs: a
    # resumed run would then find its own W&B run id still "in use" there
    import wandb

    wandb.setup()
    assert main(args) == 0
    text = (tmp_path / "study.md").read_text()
    assert "4 runs, 8 training iterations in all" in text
    assert "| IN | 2 |" in text and "| PONO-MS | 2 |" in text  # two seeds each
    # two iterations learn nothing: the gates say so, and the variants are not ranked (a ranked report, with the
    # differences, their intervals and --contrast's comparisons, is rendered by the tests above)
    assert "## Learning gates" in text and "**Not learned at this budget.**" in text and "95% interval" not in text
    assert "## What doing nothing scores" in text and "| input unchanged | " in text
    assert ((tmp_path / "study_images" / "samples.png").is_file()
            and (tmp_path / "study_images" / "moments.png").is_file())
    # the W&B summary run of the group: variant x metric, mean and std over seeds
    from tests.helpers import read_records, run_record

    [summary_run] = (tmp_path / "runs" / "wandb").glob("offline-run-*/run-*.wandb")
    records = read_records(summary_run)
    assert run_record(records).run_group == f"ablate-paired-{tiny_dataset.name}"
    [artifact] = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    table = json.loads(open(next(e.local_path for e in artifact.manifest.contents
                                 if e.path.endswith(".table.json"))).read())
    assert table["columns"][:4] == ["variant", "steps", "seeds", "l1 mean"]
    assert sorted((row[0], row[2]) for row in table["data"]) == [("instance", 2), ("pono_ms", 2)]
    trained = tmp_path / "runs" / "pono_ms" / "steps2" / "seed1" / "trained.json"
    record = json.loads(trained.read_text())
    assert (record["variant"], record["seed"], record["steps"]) == ("pono_ms", 1, 2)
    assert (0 < record["cpu_seconds"]
            and "CPU minutes of training (user + system time of the training processes)" in text)
    # a rerun trains nothing: every run is finished
    before = trained.stat().st_mtime
    capsys.readouterr()
    assert main(args) == 0
    assert trained.stat().st_mtime == before and "train " not in capsys.readouterr().out
    # --report-only trains nothing and reports what has finished, saying it is partial
    (tmp_path / "runs" / "instance" / "steps2" / "seed1" / "trained.json").unlink()
    assert main(args[: args.index("--")] + ["--report-only", "--", *tiny]) == 0
    assert "train " not in capsys.readouterr().out
    assert "**Partial: 3 of the 4 planned runs had finished**" in (tmp_path / "study.md").read_text()
    # that run's training is finished from its last.ckpt, and its record says from which iteration
    assert main(args) == 0
    resumed = json.loads((tmp_path / "runs" / "instance" / "steps2" / "seed1" / "trained.json").read_text())
    assert resumed["resumed_from"] == 2 and record["resumed_from"] == 0
    # the same run folders with other settings are refused, not reused
    assert main(args[:-len(tiny)] + tiny + ["--model.init_args.lambda_l1", "50"]) == 2
    assert "trained with other settings" in capsys.readouterr().err


@pytest.mark.slow
@needs_dejavu
def test_a_style_study_on_a_font_benchmark_reports_both_accuracies_and_three_references(tmp_path):
    data = latin_benchmark(tmp_path / "latin", tmp_path / "twin.ttf")
    assert default_layout(data) == "fonts"
    configs = [str(ROOT / "configs" / "style" / "base.yaml"), str(ROOT / "configs" / "ablation" / "fonts_style.yaml")]
    assert main(["--task", "style", "--data", str(data), "--config", configs[0], "--config", configs[1],
                 "--variants", "pono_ms", "--seeds", "0", "--steps", "2", "--runs", str(tmp_path / "runs"),
                 "--report", str(tmp_path / "study.md"), "--metrics", "l1", "ssim", "content_accuracy",
                 "style_accuracy", "diversity_l1", "--", "--data.num_workers", "0"]) == 0
    text = (tmp_path / "study.md").read_text()
    assert "in the `fonts` layout" in text and "| content accuracy | style accuracy |" in text
    assert f"**Precision:** every run trained in `{study_precision('auto')}`" in text
    for reference in ("source glyph unchanged", "example glyph copied", "blank page"):
        assert f"| {reference} | " in text
    assert "| PONO-MS | 1 |" in text
    assert ((tmp_path / "study_images" / "samples.png").is_file()
            and (tmp_path / "study_images" / "moments.png").is_file())
    summary = json.loads(
        (tmp_path / "runs" / "pono_ms" / "steps2" / "seed0" / "eval_test" / "summary.json").read_text())
    assert (summary["layout"] == "fonts"
            and set(summary["per_font"]) == {"dejavuserif", "dejavusansmono", "dejavusans-bold"})
    # benchmarks/budget.py scores the run's periodic checkpoints against the references and the gates (a pilot)
    result = run_python("benchmarks/budget.py", "--run", tmp_path / "runs" / "pono_ms" / "steps2" / "seed0",
                        "--data", data, "--metrics", "l1", "content_accuracy", "style_accuracy",
                        "--report", tmp_path / "budget.md")
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "budget.md").read_text()
    assert "| example glyph copied | | " in table and "| content accuracy | style accuracy | learned |" in table
    assert "| 1 | **at chance** (D_" in table or "| 1 | tell real from fake | " in table  # names those at chance
    assert "| 2 | " in table and table.count("| no |") + table.count("| **yes** |") == 2
