"""``python -m pono_gan.ablate``: plans, errors, and a two-variant, two-seed study on a data set the test makes,
resumed and refused as a user would meet it (slow)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from pono_gan.ablate import runner
from pono_gan.ablate.cli import default_layout, main, study_precision, variant_file
from pono_gan.ablate.runner import Plan, Run, StudyError, read_archive, schedule, train_command, train_run
from tests.data import make_paired
from tests.data.test_fonts import latin_benchmark, needs_dejavu
from tests.helpers import ROOT, run_python
from tests.tasks.helpers import TINY


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


def test_the_archive_keeps_each_runs_record_and_gives_back_those_of_the_plans_settings(tmp_path):
    (tmp_path / "instance.yaml").write_text("model: {}\n")
    plan = Plan("paired", tmp_path / "data", {"instance": tmp_path / "instance.yaml"},
                [Run("instance", 0, 10), Run("instance", 1, 10)], [], tmp_path / "runs",
                archive=tmp_path / "report_images" / "runs.json")
    assert read_archive(plan) == {}  # none yet

    def record(seed: int, value: float) -> dict:
        run = Run("instance", seed, 10)
        return {"variant": "instance", "seed": seed, "steps": 10, "values": {"l1": value},
                "fingerprint": runner._fingerprint(plan, run, run.folder(plan.runs_folder))}

    other = {**record(5, 0.5), "seed": 5}  # a run of another plan, kept as it is
    runner.write_archive(plan, [record(0, 0.1), other])
    runner.write_archive(plan, [record(0, 0.2), record(1, 0.3)])  # the same run again replaces its record
    assert read_archive(plan) == {Run("instance", 0, 10): record(0, 0.2), Run("instance", 1, 10): record(1, 0.3)}
    assert len(json.loads(plan.archive.read_text())["runs"]) == 3
    # every run from the archive: the paired layout's references need a checkpoint of this machine, and say so
    with pytest.raises(StudyError, match=r"need one run's checkpoint, and no run under .*runs has finished"):
        runner.score_references(plan)
    # a run archived with other settings (its config file changed since) is not reused, and that is said
    (tmp_path / "instance.yaml").write_text("model: {lambda_l1: 50}\n")
    said = []
    assert read_archive(plan, log=said.append) == {}
    assert said == [f"instance seed {seed} (10 steps): archived with other settings, not reused" for seed in (0, 1)]
    plan.archive.write_text('{"runs": [{"variant": "instance"')  # truncated: one line naming the file and the fix
    with pytest.raises(StudyError, match=r"runs.json is not a study's archive .*restore it with git, or delete it"):
        read_archive(plan)


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
    # another machine: PONO-MS's run folders are gone, and its records in the archive (committed with the report)
    # stand in for them: nothing trains, the report still holds all 4 runs and says where they trained
    archive = json.loads((tmp_path / "study_images" / "runs.json").read_text())["runs"]
    assert [(r["variant"], r["seed"]) for r in archive] == [("instance", 0), ("instance", 1), ("pono_ms", 0),
                                                            ("pono_ms", 1)]
    assert all(r["values"]["l1"] > 0 and r["machine"] for r in archive)
    shutil.move(tmp_path / "runs" / "pono_ms", tmp_path / "elsewhere")
    drawn = (tmp_path / "study_images" / "samples.png").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "train " not in out and "2 runs taken from" in out
    text = (tmp_path / "study.md").read_text()
    assert "4 runs, 8 training iterations in all" in text and "| PONO-MS | 2 |" in text and "Partial" not in text
    assert f"where they trained: 4 runs on {archive[0]['machine']}" in text
    # the samples drawn from PONO-MS's seed 0 where it trained are kept (its checkpoint is not here)
    assert (tmp_path / "study_images" / "samples.png").stat().st_mtime_ns == drawn
    shutil.move(tmp_path / "elsewhere", tmp_path / "runs" / "pono_ms")
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
                 "style_accuracy", "diversity_l1", "--", "--data.num_workers", "0",
                 "--model.init_args.discriminator.num_layers", "2"]) == 0  # 32 px glyphs: 3 layers need 47 px
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
