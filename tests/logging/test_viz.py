"""Panels say what they show: column labels drawn into the image above the columns."""

import pytest
import torch

from pono_gan.layers import Moments
from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel
from pono_gan.tasks import PairedTask
from tests.tasks.helpers import DISCRIMINATOR, GENERATOR


def test_labels_sit_in_a_strip_above_their_columns():
    columns = [torch.ones(2, 3, 48, 48) for _ in range(3)]  # white tiles: any dark pixel above them is text
    plain = sample_panel(columns)
    labelled = sample_panel(columns, ["input", "output", "target"])
    strip = labelled.shape[1] - plain.shape[1]
    assert labelled.shape[2] == plain.shape[2] and strip > 8
    torch.testing.assert_close(labelled[:, strip:], plain)
    cell = 48 + 2
    for column in range(3):
        ink = labelled[:, :strip, 2 + column * cell : (column + 1) * cell].min()
        assert ink < 0.5  # each column's cell holds its label
    with pytest.raises(ValueError, match="2 labels for 3 columns"):
        sample_panel(columns, ["input", "output"])


def test_moment_labels_name_the_statistic_and_stage():
    moments = [Moments(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)),
               Moments(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4))]
    assert moment_labels(moment_maps(moments, (16, 16))) == ["mean 1", "std 1", "mean 2", "std 2"]


def test_training_panels_are_labelled():
    task = PairedTask(GENERATOR, DISCRIMINATOR)
    batch = {"A": torch.rand(2, 3, 16, 16) * 2 - 1, "B": torch.rand(2, 3, 16, 16) * 2 - 1}
    with torch.no_grad():
        panels = task.log_images(batch)
    rows = 2 * (16 + 2) + 2
    assert panels["samples"].shape[1] > rows and panels["moments"].shape[1] > rows
