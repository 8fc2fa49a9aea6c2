"""Generators, discriminators, weight init and the generator config."""

from pono_gan.models.config import GeneratorConfig, build_generator
from pono_gan.models.discriminators import MultiScaleDiscriminator, PatchDiscriminator, build_discriminator
from pono_gan.models.generators import ResnetBlock, ResnetGenerator, UnetGenerator, check_image_batch
from pono_gan.models.init import INIT_NAMES, init_weights

__all__ = [
    "GeneratorConfig",
    "build_generator",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "build_discriminator",
    "ResnetBlock",
    "ResnetGenerator",
    "UnetGenerator",
    "check_image_batch",
    "INIT_NAMES",
    "init_weights",
]
