"""Discriminator health: the real / fake (/ constant) scores each task logs, the verdict over the last steps, its
line at the end of a run and its entry in the checkpoint."""

import logging

import pytest
import torch

from pono_gan.checkpoint import read_checkpoint
from pono_gan.tasks.base import HEALTH_WINDOW, health_line
from tests.tasks.helpers import tiny_run, tiny_style_task


def test_the_verdict_compares_real_and_fake_over_the_last_steps():
    task = tiny_style_task("ms")
    for _ in range(HEALTH_WINDOW + 5):
        logs = task.judge("D_B", [torch.full((1, 1, 4, 4), 0.9), torch.full((1, 1, 2, 2), 0.7)],
                          [torch.full((1, 1, 4, 4), 0.1), torch.full((1, 1, 2, 2), 0.3)],
                          [torch.full((1, 1, 4, 4), 0.5), torch.full((1, 1, 2, 2), 0.5)])
        task.judge("D_A", torch.full((1, 1, 4, 4), 0.52), torch.full((1, 1, 4, 4), 0.47))
    assert set(logs) == {f"D_B_{kind}_score_s{scale}" for kind in ("real", "fake", "constant") for scale in (0, 1)}
    assert logs["D_B_real_score_s1"].item() == pytest.approx(0.7)
    health = task.discriminator_health()
    assert health["D_B"] == {"real": 0.8, "fake": 0.2, "constant": 0.5, "steps": HEALTH_WINDOW,
                             "tells_real_from_fake": True}
    assert health["D_A"]["tells_real_from_fake"] is False  # real beats fake by 0.05 < 0.1: at chance
    line = health_line(health)
    assert line.startswith("discriminators: D_B tells real from fake (real 0.80, fake 0.20, constant 0.50 "
                           "over the last")
    assert "D_A does NOT tell real from fake" in line and line.endswith("gives the generator nothing to learn from")
    won = health_line({"D_B": {"real": 1.0, "fake": 0.02, "steps": 50, "tells_real_from_fake": True}})
    assert won.startswith("discriminators: D_B wins outright (real 1.00, fake 0.02")  # a generator that diverged
    assert won.endswith("look at the samples for a generator that collapsed or diverged")
    task.gan_loss = "vanilla"  # scores are probabilities for the vanilla loss
    assert (task.judge("D", torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))["D_real_score"].item()
            == pytest.approx(0.5))


@pytest.mark.parametrize("task, names", [("paired", ["D_real_score", "D_fake_score"]),
                                         ("unpaired", ["D_A_real_score", "D_A_fake_score", "D_B_real_score",
                                                       "D_B_fake_score"])])
def test_every_task_logs_its_discriminators_scores_and_ends_with_a_verdict(task, names, tiny_dataset, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        cli = tiny_run([f"configs/{task}/base.yaml", f"configs/{task}/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                       "--trainer.max_steps", "3")
    logged = cli.trainer.logged_metrics
    for name in names:
        assert f"train/{name}" in logged, sorted(logged)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("discriminators: ")]
    assert "over the last 3 steps" in line
    saved = read_checkpoint(next((tmp_path / "run").rglob("*.ckpt")))["pono_gan"]["discriminators"]
    assert set(saved) == {name.rsplit("_", 2)[0] for name in names}
    assert all(isinstance(entry["tells_real_from_fake"], bool) for entry in saved.values())
