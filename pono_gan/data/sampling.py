"""Resumable training order: shuffling and every sample's randomness as a function of (seed, epoch) alone.

Why not a plain shuffled DataLoader: its order comes from torch's global generator and its augmentations from
per-worker generators, so a run resumed mid-epoch replays another order and other crops, and the result depends
on ``num_workers``. Here :class:`EpochSampler` draws, per epoch, a permutation *and* a seed for each sample from
``(seed, epoch)``; it yields ``(index, sample_seed)`` keys, and the datasets draw that sample's crop, flip and
unpaired partner from ``sample_seed`` (:func:`sample_generator`). :class:`ResumableDataLoader` counts the batches
it has handed out in the epoch; Lightning saves that count with each checkpoint (``state_dict``) and gives it
back on resume (``load_state_dict``), so the epoch continues with the next unseen sample, with any number of
worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

__all__ = ["EpochSampler", "ResumableDataLoader", "SampleKey", "sample_generator"]

#: what :class:`EpochSampler` yields and the training datasets take: ``(dataset index, sample seed)``.
SampleKey = tuple[int, int]

_SEED_BOUND = 2**62


def sample_generator(seed: int) -> torch.Generator:
    """The generator one sample's random choices (crop window, flip, unpaired partner) are drawn from."""
    return torch.Generator().manual_seed(seed)


class EpochSampler(DistributedSampler):
    """A shuffled order and one seed per sample for each epoch, both drawn from ``(seed, epoch)`` only.

    It is a :class:`~torch.utils.data.DistributedSampler` so that Lightning, under DDP, keeps it instead of
    wrapping it (each rank takes every ``num_replicas``-th key of the epoch's order, padded as DistributedSampler
    pads); in one process ``num_replicas`` is 1. ``start`` skips the first keys of this rank's share of the epoch
    (what a resumed run has already trained on).

    Args:
        dataset: the training dataset (only its length is used).
        seed: the run's seed (keep it across a resume).
        num_replicas: DDP world size.
        rank: this process's rank.
        shuffle: permute the order each epoch (False: index order; the sample seeds still change per epoch).
    """

    def __init__(self, dataset: Dataset, seed: int, num_replicas: int = 1, rank: int = 0, shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.start = 0

    def epoch_keys(self) -> list[SampleKey]:
        """This rank's ``(index, sample_seed)`` keys of the whole current epoch, in order."""
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
        length = len(self.dataset)  # type: ignore[arg-type]
        order = torch.randperm(length, generator=generator) if self.shuffle else torch.arange(length)
        seeds = torch.randint(_SEED_BOUND, (length,), generator=generator)
        keys = list(zip(order.tolist(), seeds.tolist()))
        keys += keys[: self.total_size - length]  # pad so every rank gets num_samples keys
        return keys[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[SampleKey]:  # type: ignore[override]
        return iter(self.epoch_keys()[self.start :])

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.start = 0
        super().set_epoch(epoch)


class ResumableDataLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` whose position in the epoch is saved and restored.

    ``state_dict()`` is ``{"seed", "epoch", "samples"}``: the samples of this rank's epoch handed out so far.
    Lightning calls it when it writes a checkpoint and ``load_state_dict`` before it iterates a resumed run's
    loader; an epoch that was complete continues with the next one.
    """

    sampler: EpochSampler

    def __init__(self, dataset: Dataset, sampler: EpochSampler, **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self._handed_out = 0

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        sampler = self.sampler
        self._handed_out = sampler.start
        for batch in super().__iter__():
            self._handed_out += self.batch_size or 1
            yield batch
        sampler.start = 0

    def state_dict(self) -> dict[str, int]:
        sampler = self.sampler
        return {"seed": sampler.seed, "epoch": sampler.epoch, "samples": min(self._handed_out, sampler.num_samples)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler = self.sampler
        sampler.seed = int(state["seed"])
        epoch, samples = int(state["epoch"]), int(state["samples"])
        if samples >= sampler.num_samples:
            epoch, samples = epoch + 1, 0
        sampler.set_epoch(epoch)
        sampler.start = samples
        self._handed_out = samples
