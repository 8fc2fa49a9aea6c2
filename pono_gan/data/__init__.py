"""Data: image IO, preprocessing presets, datasets for the aligned / paired / unpaired layouts, the
LightningDataModule, builders of small offline data sets, a downloader of the pix2pix / CycleGAN sets
(``python -m pono_gan.data.download``) and folder tools (``python -m pono_gan.data.tools``); see
``datasets/README.md``."""

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
from pono_gan.lazy import lazy_exports

# Imported on first use (pono_gan.lazy): the data module pulls in Lightning (seconds at start-up, which infer.py does
# not need), and `python -m pono_gan.data.builders` must not find builders pre-imported.
_LAZY = {"ImageTranslationDataModule": "datamodule", "build_edges2photo": "builders", "build_gray2photo": "builders",
         "build_pairs": "builders", "canny_edges": "builders", "combine": "tools", "split_sets": "tools"}
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

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
    "build_gray2photo",
    "build_pairs",
    "canny_edges",
    "collate",
    "combine",
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
    "split_sets",
]
