import os

import pytest
import torch

# Tests never talk to W&B's servers and never prompt.
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


def pytest_runtest_setup(item):
    from tests.requirements import missing

    for mark in item.iter_markers("requires"):
        if not mark.kwargs["available"]:
            missing(mark.kwargs["what"], mark.kwargs["fix"])


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _end_in_process_wandb():
    """A test that logs to W&B in this process (the ablate study's summary, a run in-process) leaves its W&B service
    running and named in WANDB_SERVICE, which later tests' training subprocesses inherit and attach to: their runs
    then close late (a reader waited a minute for the exit record). End it after the test."""
    yield
    if "WANDB_SERVICE" in os.environ:
        import wandb

        wandb.teardown()


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A tiny paired / unpaired data set: 6 train and 2 test 32x32 pairs, B = 255 - A (a learnable map)."""
    from tests.data import make_paired

    root = tmp_path_factory.mktemp("tiny_data")
    make_paired(root, "train", count=6, size=(32, 32))
    make_paired(root, "test", count=2, size=(32, 32))
    return root


@pytest.fixture()
def no_inception_weights(monkeypatch, tmp_path):
    """No real Inception weights anywhere (an empty torch hub folder, no environment variable; subprocesses inherit
    this): FID / KID are skipped unless a test gives some."""
    from pono_gan.evaluate.features import INCEPTION_ENV

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
