import pytest
import torch
from torch import nn

from pono_gan.layers import NORM_NAMES, create_norm, group_count


@pytest.mark.parametrize("name", NORM_NAMES)
@pytest.mark.parametrize("num_channels", [1, 6, 64])
def test_every_norm_builds_and_runs(name, num_channels):
    norm = create_norm(name, num_channels)
    x = torch.randn(2, num_channels, 4, 4, requires_grad=True)
    out = norm(x)
    assert out.shape == x.shape
    out.sum().backward()


def test_expected_classes():
    assert isinstance(create_norm("instance", 8), nn.InstanceNorm2d)
    assert isinstance(create_norm("batch", 8), nn.BatchNorm2d)
    assert create_norm("group", 64).num_groups == 32
    assert create_norm("layer", 64).num_groups == 1
    assert isinstance(create_norm("none", 8), nn.Identity)


def test_group_count_divides():
    assert group_count(48) == 16 and group_count(3) == 1 and group_count(256) == 32


def test_unknown_norm_lists_valid_names():
    with pytest.raises(ValueError) as error:
        create_norm("weird", 8)
    for name in NORM_NAMES:
        assert name in str(error.value)
