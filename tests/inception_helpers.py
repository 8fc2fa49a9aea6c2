"""A stand-in for the FID Inception weights, which cannot be downloaded in tests: the same network, random weights."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch

__all__ = ["write_random_inception_weights"]


def write_random_inception_weights(path: str | Path, seed: int = 0) -> Path:
    """Save torch-fidelity's FeatureExtractorInceptionV3 with random (PyTorch default) initialisation as a state dict.

    The file has the format and keys of the real ``weights-inception-2015-12-05-6726825d.pth`` (about 96 MB; see
    torch-fidelity's ``utils/util_convert_inception_weights.py``), so it exercises the loading path; its features mean
    nothing, so FID / KID values from it prove only that the path runs.
    The constructor always loads weights (downloading them when given no path), so loading is stubbed out while
    it builds.
    """
    import torch_fidelity.feature_extractor_inceptionv3 as inception

    torch.manual_seed(seed)
    with (
        mock.patch.object(inception, "load_state_dict_from_url", side_effect=AssertionError("no downloads in tests")),
        mock.patch.object(torch, "load", return_value={}),
        mock.patch.object(inception.FeatureExtractorInceptionV3, "load_state_dict", return_value=None),
    ):
        network = inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                                        feature_extractor_weights_path="-")
    # the real file is a plain {name: tensor} dict converted from TensorFlow, without batch-norm step counters
    state = {key: value for key, value in network.state_dict().items() if not key.endswith("num_batches_tracked")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path
