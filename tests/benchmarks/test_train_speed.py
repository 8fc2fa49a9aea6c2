"""benchmarks/train_speed.py: the style study's model as its configs build it, timed through a real Trainer."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_speed.py"


def load(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_style_study_task_is_the_one_its_configs_build(monkeypatch):
    train_speed = load(monkeypatch)
    task = train_speed.style_study_task("pono_ms_std")
    g, d = task.generator_config, task.discriminator_config
    # the fonts_kai preset's configs (fonts_style.yaml over style/base.yaml), then the variant file
    assert (g.in_channels, g.base_channels, g.num_blocks, g.mlp_dim, g.style_downsampling) == (1, 16, 2, 64, 2)
    assert (g.pono, g.shortcut) == (True, "ms_std")
    assert (d.arch, d.base_channels, d.num_layers, d.num_scales) == ("patchgan", 64, 3, 2)
    assert task.image_channels == (1, 1) and task.moment_loss


def test_a_style_step_is_timed_on_one_channel_glyphs(monkeypatch):
    train_speed = load(monkeypatch)
    args = SimpleNamespace(size=64, batch_size=2, steps=2, warmup=1)
    seconds = train_speed.measure(args, "32-true", False, False, make_task=train_speed.style_study_task)
    assert 0 < seconds < 60


def test_an_unknown_style_variant_is_named_with_the_valid_ones(monkeypatch, capsys):
    train_speed = load(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["train_speed.py", "--task", "style", "--variant", "nosuch"])
    with pytest.raises(SystemExit) as exit_info:
        train_speed.main()
    assert exit_info.value.code == 2
    assert "--variant nosuch: no configs/style/nosuch.yaml; valid: group, instance" in capsys.readouterr().err
