import os

import pytest
import torch

# Tests never talk to W&B's servers and never prompt.
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_pair_folders(root, num_train=6, num_test=2, size=32, seed=0):
    """A tiny paired / unpaired data set: trainA, trainB, testA, testB with matching names, B a colour remap of A."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, count in (("train", num_train), ("test", num_test)):
        for index in range(count):
            a = np.zeros((size, size, 3), np.uint8)
            x0, y0 = rng.integers(0, size // 2, 2)
            a[y0 : y0 + size // 2, x0 : x0 + size // 2] = rng.integers(60, 255, 3)
            b = 255 - a[..., ::-1]
            for side, image in (("A", a), ("B", b)):
                folder = root / f"{split}{side}"
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.ascontiguousarray(image)).save(folder / f"{index:03d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    return make_pair_folders(tmp_path_factory.mktemp("tiny_data"))
