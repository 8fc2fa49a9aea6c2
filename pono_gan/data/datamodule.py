"""The LightningDataModule for image-to-image translation: one class for the aligned, paired and unpaired layouts."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Literal

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from pono_gan.data.datasets import check_first_images, collate, make_dataset, split_exists
from pono_gan.data.sampling import EpochSampler, ResumableDataLoader
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError, MissingPathError, require

__all__ = ["ImageTranslationDataModule"]

log = logging.getLogger(__name__)

_EMPTY_VAL_WARNING = r"Total length of `list` across ranks is zero"


#: the subcommands of ``python -m pono_gan.data.builders``, named where a data root is missing
BUILDERS = ("edges2photo", "gray2photo", "glyphs", "fonts")


class ImageTranslationDataModule(pl.LightningDataModule):
    """Image pairs (or two unpaired image sets) from a folder, as batches
    ``{"A": (N, Ca, H, W), "B": (N, Cb, H, W), "A_path": list[str], "B_path": list[str]}`` in [-1, 1].

    A is the model's input and B its target after ``direction``. Splits are ``train``, ``val`` and ``test``;
    validation uses ``val``, else ``test``, else there is none (``val_dataloader`` returns an empty list and
    Lightning skips the validation loop). The folder layouts, presets and the unreadable-file policy are
    described in ``datasets/README.md``.

    Args:
        root: the data root, holding ``train/`` (aligned) or ``trainA/`` and ``trainB/`` (paired, unpaired),
            and optionally the same for ``val`` and ``test``.
        layout: ``aligned`` (A | B side by side in one image), ``paired`` (two folders, files matched by name)
            or ``unpaired`` (two independent folders, CycleGAN-style).
        direction: ``AtoB`` or ``BtoA``; BtoA swaps input and target (for unpaired: the two domains).
        preprocess: the junyanz preset: ``resize_and_crop`` (resize to load_size square, crop crop_size),
            ``crop`` (crop crop_size), ``scale_width`` (width to load_size, keep the aspect ratio),
            ``scale_width_and_crop`` (then crop crop_size), ``none`` (keep the size). Training crops are
            random; validation and test take the centre crop.
        load_size: the side (``resize_and_crop``) or width (``scale_width*``) images are resized to.
        crop_size: the side of the square crop.
        flip: random horizontal flips in training (the same flip for both images of a pair).
        size_multiple: output height and width are rounded down to a multiple of this (the generator's
            total downsampling factor).
        batch_size: samples per training batch; validation and test use it too, or 1 when a non-cropping
            preset gives images of different sizes.
        num_workers: DataLoader worker processes that decode images (0: decode in the main process).
        max_val_images: validate on at most this many samples, the first ones (None: all; 0: no validation).
        channels: (channels of A, channels of B) after ``direction``, each 1 or 3. None: the trained module's
            ``image_channels`` attribute if it has one, else (3, 3). Images are converted (gray, RGBA, palette,
            16-bit) to these counts.
    """

    def __init__(
        self,
        root: str,
        layout: Literal["aligned", "paired", "unpaired"] = "paired",
        direction: Literal["AtoB", "BtoA"] = "AtoB",
        preprocess: Literal[
            "resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"
        ] = "resize_and_crop",
        load_size: int = 286,
        crop_size: int = 256,
        flip: bool = True,
        size_multiple: int = 4,
        batch_size: int = 1,
        num_workers: int = 2,
        max_val_images: int | None = 64,
        channels: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        require(self.hparams, "batch_size")
        require(self.hparams, "num_workers max_val_images", 0)
        self.preprocessing = Preprocessing(preprocess, load_size, crop_size, flip, size_multiple)
        self.train_dataset = None
        self.val_dataset = None
        self.test_dataset = None
        #: the split validation reads (``val`` or ``test``), or None when there is no validation.
        self.val_split: str | None = None
        self._train_eval_dataset = None
        self._channels: tuple[int, int] | None = None

    # ------------------------------------------------------------------------------------------------ setup

    @property
    def channels(self) -> tuple[int, int]:
        """(channels of A, channels of B) in use: resolved in :meth:`setup`, see the ``channels`` argument."""
        if self._channels is None:
            self._channels = self._resolve_channels()
        return self._channels

    def _resolve_channels(self) -> tuple[int, int]:
        channels = self.hparams.channels
        source = "channels"
        if channels is None:
            module = getattr(self.trainer, "lightning_module", None) if self.trainer is not None else None
            channels = getattr(module, "image_channels", None)
            source = f"{type(module).__name__}.image_channels"
        if channels is None:
            return (3, 3)
        channels = tuple(int(c) for c in channels)
        if len(channels) != 2 or any(c not in (1, 3) for c in channels):
            raise DataError(f"{source} must be (channels of A, channels of B) with 1 or 3 each, got {channels}")
        return channels  # type: ignore[return-value]

    def _dataset(self, split: str, train: bool, limit: int | None = None):
        return make_dataset(
            self.hparams.root,
            self.hparams.layout,
            split,
            preprocessing=self.preprocessing,
            direction=self.hparams.direction,
            channels=self.channels,
            train=train,
            limit=limit,
        )

    def _find_val_split(self) -> str | None:
        if self.hparams.max_val_images == 0:
            return None
        for split in ("val", "test"):
            if split_exists(self.hparams.root, self.hparams.layout, split):
                return split
        return None

    def check_folders(self, stage: str | None = "fit") -> Path:
        """The data root, after checking that it is there and, for ``fit``, that the training split's folders of
        the layout are and their first images fit the preset (:func:`check_first_images`): what ``train.py`` checks
        before it builds a model. Each failure is one line naming the folder or file and the fix (the other layout
        where the folder holds that one's)."""
        root = Path(self.hparams.root)
        if not root.is_dir():
            raise MissingPathError(
                f"data root not found: {root} (fix root, or build the set there with the builder the config names: "
                f"`python -m pono_gan.data.builders {{{','.join(BUILDERS)}}} --root {root}`; see datasets/README.md)"
            )
        if stage in (None, "fit"):
            check_first_images(root, self.hparams.layout, "train", self.preprocessing, self.hparams.direction)
        return root

    def setup(self, stage: str | None = None) -> None:
        """Scan and check the splits the stage needs (``fit``: train and validation; ``validate``; ``test``).

        Raises:
            FileNotFoundError: the root or a split folder is missing (one line, naming it and the fix).
            ValueError: empty folders, files without a partner, images too small for the preset, images of
                different sizes that cannot be batched in training.
        """
        root = self.check_folders(stage)
        channels = self._resolve_channels()
        if channels != self._channels:  # e.g. a module with image_channels attached after an earlier setup
            self._channels = channels
            self.train_dataset = self.val_dataset = self.test_dataset = self._train_eval_dataset = None
            self.val_split = None
        if stage in (None, "fit") and self.train_dataset is None:
            self.train_dataset = self._dataset("train", train=True)
            conflict = self.train_dataset.size_conflict() if self.hparams.batch_size > 1 else None
            if conflict:
                raise DataError(
                    f"preprocess {self.hparams.preprocess!r} gives training images of different sizes ({conflict}), "
                    f"which cannot be batched; use batch_size 1 or a cropping preset (resize_and_crop, crop, "
                    f"scale_width_and_crop)"
                )
        if stage in (None, "fit", "validate") and self.val_dataset is None:
            self.val_split = self._find_val_split()
            if self.val_split is not None:
                self.val_dataset = self._dataset(self.val_split, train=False, limit=self.hparams.max_val_images)
                log.info("validating on the first %d samples of split %r", len(self.val_dataset), self.val_split)
                if self.val_split == "test":
                    rank_zero_warn(f"no val split under {root}: validation uses the first {len(self.val_dataset)} "
                                   "samples of the test split, so its metrics are not held out; `python -m "
                                   "pono_gan.data.tools split-sets` makes a val split")
            else:
                log.info("no val or test split under %s: validation is skipped", root)
        if stage in (None, "test", "predict") and self.test_dataset is None:
            if stage in ("test", "predict") or split_exists(root, self.hparams.layout, "test"):
                self.test_dataset = self._dataset("test", train=False)

    @property
    def has_validation(self) -> bool:
        """Whether there is a validation split (after :meth:`setup`)."""
        return self.val_dataset is not None and len(self.val_dataset) > 0

    # ------------------------------------------------------------------------------------------- dataloaders

    def _loader_options(self) -> dict:
        workers = self.hparams.num_workers
        return dict(
            num_workers=workers,
            collate_fn=collate,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
        )

    def _loader(self, dataset, batch_size: int) -> DataLoader:
        return DataLoader(dataset, batch_size=batch_size, shuffle=False, **self._loader_options())

    def _eval_batch_size(self, dataset) -> int:
        return self.hparams.batch_size if dataset.uniform_output_size() else 1

    def train_dataloader(self) -> ResumableDataLoader:
        """Shuffled batches whose order, crops, flips and unpaired partners follow from the run's seed and the
        epoch alone (see :mod:`pono_gan.data.sampling`): a run resumed mid-epoch continues with the next unseen
        sample, and ``num_workers`` does not change what is trained on. Under DDP each rank takes its share."""
        if self.train_dataset is None:
            self.setup("fit")
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        # torch.initial_seed() is the seed seed_everything set (the same on every rank); resume restores it.
        sampler = EpochSampler(self.train_dataset, seed=torch.initial_seed(), num_replicas=replicas, rank=rank)
        return ResumableDataLoader(self.train_dataset, sampler, batch_size=self.hparams.batch_size,
                                   **self._loader_options())

    def val_dataloader(self) -> DataLoader | list:
        """The validation loader, or an empty list when there is no validation split (Lightning then skips
        the validation loop, including the sanity check)."""
        if self.val_dataset is None and self.val_split is None:
            self.setup("validate")
        if not self.has_validation:
            # Lightning warns about a zero-length loader; here that is the intended way to skip validation.
            warnings.filterwarnings("ignore", message=_EMPTY_VAL_WARNING)
            return []
        return self._loader(self.val_dataset, batch_size=self._eval_batch_size(self.val_dataset))

    def test_dataloader(self) -> DataLoader:
        if self.test_dataset is None:
            self.setup("test")
        return self._loader(self.test_dataset, batch_size=self._eval_batch_size(self.test_dataset))

    # ------------------------------------------------------------------------------------------ sample panel

    def sample_batch(self, n: int) -> dict:
        """The first ``n`` validation samples (training samples if there is no validation) with evaluation
        transforms (centre crop, no flip), collated like a batch; the same on every call.

        Fewer than ``n`` samples come back when the split holds fewer. Decoding happens in this process.
        """
        if n < 1:
            raise DataError(f"n must be positive, got {n}")
        if self.train_dataset is None and self.val_dataset is None:
            self.setup("fit")
        dataset = self.val_dataset if self.has_validation else None
        if dataset is None:
            if self._train_eval_dataset is None:
                self._train_eval_dataset = self._dataset("train", train=False)
            dataset = self._train_eval_dataset
        return collate([dataset[i] for i in range(min(n, len(dataset)))])
