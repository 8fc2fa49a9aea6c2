"""Lightning tasks: a shared GAN base, paired (pix2pix), unpaired (CycleGAN) and style (MUNIT)."""

from pono_gan.tasks.base import DiscriminatorConfig, GANTask, LinearDecay, OptimizerConfig
from pono_gan.tasks.paired import PairedTask
from pono_gan.tasks.style import StyleTask
from pono_gan.tasks.unpaired import ImagePool, UnpairedTask

__all__ = [
    "DiscriminatorConfig",
    "GANTask",
    "LinearDecay",
    "OptimizerConfig",
    "PairedTask",
    "ImagePool",
    "UnpairedTask",
    "StyleTask",
]
