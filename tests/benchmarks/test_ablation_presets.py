"""benchmarks/ablation.py: the glyph studies as presets of ``pono_gan.ablate`` (their plans, config files and
errors)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from pono_gan.ablate.report import LABELS

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ablation.py"


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["ablation"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_preset_has_its_config_files_and_labelled_metrics(ablation):
    for preset in ablation.PRESETS.values():
        assert set(preset.metrics) <= set(LABELS)
        for config in preset.configs:
            assert (ablation.CONFIGS / config).is_file(), config
        for variant in {*preset.variants, *(extra[0] for extra in preset.extra)}:
            assert (ablation.CONFIGS / preset.task / f"{variant}.yaml").is_file(), (preset.task, variant)


def test_the_unpaired_study_plan(ablation):
    preset = ablation.PRESETS["unpaired"]
    runs = ablation.plan_runs(preset, list(preset.variants), list(range(5)), 600)
    by = lambda variant, steps: sorted(r.seed for r in runs if r.variant == variant and r.steps == steps)  # noqa: E731
    for variant in ("instance", "group", "pono_ms", "pono_dms"):  # the headline comparison: 5 seeds each
        assert by(variant, 600) == [0, 1, 2, 3, 4]
    assert by("pono", 600) == by("group_pono_ms", 600) == [0, 1, 2]  # the two questions of the paper: 3 seeds
    assert by("instance", 1800) == by("pono_ms", 1800) == [0, 1, 2]  # the longer budget
    assert len(runs) == 32 and len(set(runs)) == 32
    assert preset.unpaired and preset.direction == "AtoB"


def test_the_paired_study_asks_the_papers_two_questions_too(ablation):
    preset = ablation.PRESETS["paired"]
    runs = ablation.plan_runs(preset, list(preset.variants), list(range(5)), 600)
    assert sorted({r.variant for r in runs}) == ["group", "group_pono_ms", "instance", "pono", "pono_dms", "pono_ms"]
    assert sum(r.variant == "pono" for r in runs) == sum(r.variant == "group_pono_ms" for r in runs) == 3
    assert len(runs) == 26 and {r.steps for r in runs} == {600}


def test_a_missing_font_exits_2_with_one_line(ablation, monkeypatch, tmp_path, capsys):
    from pono_gan.data.glyphs import build_glyphs

    missing = tmp_path / "no-such-font.ttf"
    monkeypatch.setattr(ablation, "build_glyphs", lambda root, drawing: build_glyphs(root, source_font=missing,
                                                                                     drawing=drawing))
    with pytest.raises(SystemExit) as caught:
        ablation.main(["--task", "unpaired", "--data", str(tmp_path / "glyphs"), "--runs", str(tmp_path / "runs"),
                       "--docs", str(tmp_path / "r.md")])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ablation: error:") and "no-such-font.ttf" in err[0]


def test_the_song_to_kai_study_trains_on_kai_alone_with_the_issues_variants(ablation, monkeypatch, tmp_path):
    preset = ablation.PRESETS["fonts_kai"]
    runs = ablation.plan_runs(preset, list(preset.variants), list(range(5)), preset.steps)
    seeds = {variant: sorted(r.seed for r in runs if r.variant == variant) for variant in {r.variant for r in runs}}
    assert seeds == {"instance": [0, 1, 2, 3, 4], "pono_ms": [0, 1, 2, 3, 4], "group": [0, 1, 2],
                     "pono_dms": [0, 1, 2], "pono_ms_official": [0, 1, 2], "pono_ms_no_moment_loss": [0, 1, 2],
                     "pono_ms_std": [0, 1, 2, 3, 4],  # the fix for a PONO-MS that draws the source's strokes
                     "pono_ms_shared": [0, 1]}  # the other candidate fix
    built = {}
    monkeypatch.setattr(ablation, "build_fonts", lambda root, **kwargs: built.update(root=root, **kwargs))
    assert ablation.prepare_data(preset) == ablation.ROOT / "data" / "fonts_gkai00mp"
    assert built["train_fonts"] == ("gkai00mp",) and built["drawing"].size == 64
    assert ablation.prepare_data(ablation.PRESETS["fonts"], str(tmp_path)) == tmp_path and built["train_fonts"] is None


def test_the_fonts_kai_config_trains_as_the_study_does(ablation):
    """configs/ablation/fonts_kai.yaml (the README's style quickstart) is the study's budget, schedule and data, and
    the study trains with it (its learning rates, 4e-4 for the generators and 1e-4 for the discriminators, come from
    nowhere else)."""
    import yaml

    from pono_gan.ablate.runner import schedule

    preset = ablation.PRESETS["fonts_kai"]
    config = yaml.safe_load((ablation.CONFIGS / "ablation" / "fonts_kai.yaml").read_text())
    optimizer = config["model"]["init_args"]["optimizer"]
    assert config["trainer"]["max_steps"] == preset.steps
    assert (optimizer["constant_for"], optimizer["decay_for"]) == schedule(preset.steps)
    assert config["data"]["root"] == ablation.default_data(preset)
    assert preset.configs[-1] == "ablation/fonts_kai.yaml"
    assert (optimizer["lr_generator"], optimizer["lr_discriminator"]) == (4e-4, 1e-4)
