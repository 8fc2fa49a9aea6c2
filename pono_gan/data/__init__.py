"""Data: image IO, preprocessing presets, datasets for the aligned / paired / unpaired layouts, the
LightningDataModule, and builders of small offline data sets (see ``datasets/README.md``)."""

from pono_gan.data.datamodule import ImageTranslationDataModule
from pono_gan.data.datasets import (
    DIRECTIONS,
    LAYOUTS,
    AlignedImageDataset,
    PairedImageDataset,
    UnpairedImageDataset,
    UnreadableImageWarning,
    collate,
    find_pairs,
    image_size,
    make_dataset,
    split_exists,
    split_folders,
)
from pono_gan.data.io import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    is_image_file,
    list_images,
    load_image,
    load_image_and_alpha,
    save_image,
)
from pono_gan.data.transforms import PREPROCESS_NAMES, Geometry, Preprocessing, apply_geometry, resize

_LAZY = {"build_edges2photo", "canny_edges"}


def __getattr__(name: str):
    # builders is imported on first use, so `python -m pono_gan.data.builders` does not find it pre-imported
    if name in _LAZY:
        from pono_gan.data import builders

        return getattr(builders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DIRECTIONS",
    "IMAGE_EXTENSIONS",
    "LAYOUTS",
    "PREPROCESS_NAMES",
    "AlignedImageDataset",
    "Geometry",
    "ImageReadError",
    "ImageTranslationDataModule",
    "PairedImageDataset",
    "Preprocessing",
    "UnpairedImageDataset",
    "UnreadableImageWarning",
    "apply_geometry",
    "build_edges2photo",
    "canny_edges",
    "collate",
    "find_pairs",
    "image_size",
    "is_image_file",
    "list_images",
    "load_image",
    "load_image_and_alpha",
    "make_dataset",
    "resize",
    "save_image",
    "split_exists",
    "split_folders",
]
