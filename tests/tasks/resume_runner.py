"""Training runs in real child processes that start in milliseconds, for the kill-and-resume tests.

Each run is a process forked from a multiprocessing fork server that has imported pono-gan once (a fresh
``python train.py`` takes about 10 s to import torch and Lightning on these CPUs). The server never computes, so
its children start with an unused OpenMP pool and train with every core. :class:`SigkillAt` makes a run SIGKILL
itself at a chosen iteration, after that iteration's checkpoint is on disk: a kill at a known point, with no
race against a polling parent.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytorch_lightning as pl

from pono_gan.cli import main

__all__ = ["SigkillAt", "context", "train"]


class SigkillAt(pl.Callback):
    """SIGKILL this process when iteration ``step`` is about to start (``step`` iterations and their
    checkpoints are done)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def train(args: list[str]) -> None:
    """``python train.py ARGS`` in this process, as a fresh ``python train.py`` would run: its DataLoader workers
    forked (a fork-server child would otherwise start them through the fork server too), and its own W&B service
    (not one that the test process started and that would outlive a killed run and keep its run id in use)."""
    multiprocessing.set_start_method("fork", force=True)
    os.environ.pop("WANDB_SERVICE", None)
    main(args)


def context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx
