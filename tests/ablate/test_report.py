"""The ablate report's statistics, gates and sections, on records made by hand (fast)."""

from __future__ import annotations

import pytest

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
from pono_gan.ablate.runner import Run
from tests.ablate import RECORDS, plan, record


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


def test_a_baseline_that_did_not_learn_is_no_yardstick(tmp_path):
    # GN has the best PSNR at 100 iterations but fails the L1 gate (0.23 > the input's 0.215): IN is the yardstick
    records = [{**r, "values": {**r["values"], "psnr": 20.0}} if r["variant"] == "group" else r for r in RECORDS]
    page = Page(["l1", "psnr"], ["instance", "group"], "t", "c", "s", (None, None), "",
                references={"input unchanged": {"l1": 0.215, "psnr": 5.0}})
    at_100 = render(plan(tmp_path), records, page).split("## Results at 300 iterations")[0]
    assert "| PSNR (dB) | PONO-MS | IN | " in at_100 and "| PSNR (dB) | PONO-MS | GN | " not in at_100
    assert "of those that passed the learning gates (IN; not GN)." in at_100
    # with no references there are no gates, and the best mean decides
    page.references = None
    assert "| PSNR (dB) | PONO-MS | GN | " in render(plan(tmp_path), records, page)


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
    won = {"D_A": alive["D_B"], "D_B": {"real": 1.0, "fake": 0.0, "steps": 50, "tells_real_from_fake": True}}
    verdicts = {"D_A": {"tells_real_from_fake": True, "wins_outright": True}}  # transcribed from a report
    health = {("instance", 300, 0): dead, ("instance", 300, 1): won, ("pono_ms", 100, 0): verdicts}
    records = [{**r, "discriminators": health.get((r["variant"], r["steps"], r["seed"]), alive)} for r in RECORDS]
    references = {"input unchanged": {"l1": 0.215}, "blank page": {"l1": 0.25}}
    text = render(plan(tmp_path), records, Page(["l1"], ["instance", "group"], "t", "c", "s", (None, None), "",
                  references=references))
    assert "## Learning gates" in text and "it beats every reference above on L1" in text
    assert "| IN | 100 | 0 | tell real from fake | yes | **yes** |" in text  # L1 0.20 < 0.215
    assert "| GN | 100 | 1 | tell real from fake | no | no |" in text  # L1 0.23
    assert "| IN | 300 | 0 | **at chance** (D_B) | yes | no |" in text  # a dead discriminator fails the run
    assert "| IN | 300 | 1 | **win outright** (D_B) |" in text  # named; the metrics judge the run
    assert "| PONO-MS | 100 | 0 | **win outright** (D_A) |" in text
    at_100, at_300 = text.split("## Results at 300 iterations")
    assert "### Differences against the best baseline (100 iterations)" in at_100  # IN's mean 0.204 learned
    # GN did not run at 300 iterations, so only IN is named
    assert ("**Not learned at this budget.** No baseline (IN) passed" in at_300
            and "Differences against" not in at_300)
    assert "15 of 21 runs passed." in text  # GN (5 seeds) and one IN run fail
    # a partial study whose baselines have not run yet says so, and ranks nothing
    alone = render(plan(tmp_path), [r for r in records if r["variant"] == "pono_ms"],
                   Page(["l1"], ["instance", "group"], "t", "c", "s", (None, None), "", references=references))
    assert "**No baseline ran at 100 iterations** (IN, GN), so the variants are not ranked." in alone
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
