"""Generators (pix2pix / CycleGAN and MUNIT), discriminators, weight init and the generator configs."""

from pono_gan.models.config import GeneratorConfig, build_generator
from pono_gan.models.discriminators import (
    DISCRIMINATOR_ARCHS,
    MultiScaleDiscriminator,
    MunitPatchDiscriminator,
    PatchDiscriminator,
    build_discriminator,
    layers_for_field_of_view,
    receptive_field,
)
from pono_gan.models.generators import ResnetBlock, ResnetGenerator, UnetGenerator, check_image_batch
from pono_gan.models.init import INIT_NAMES, init_weights
from pono_gan.models.munit import (
    MunitConfig,
    MunitGenerator,
    StyleTransfer,
    build_munit,
    translate,
)
from pono_gan.models.variants import VARIANT_LABELS, variant_label, variant_name

__all__ = [
    "GeneratorConfig",
    "build_generator",
    "DISCRIMINATOR_ARCHS",
    "MultiScaleDiscriminator",
    "MunitPatchDiscriminator",
    "PatchDiscriminator",
    "build_discriminator",
    "layers_for_field_of_view",
    "receptive_field",
    "ResnetBlock",
    "ResnetGenerator",
    "UnetGenerator",
    "check_image_batch",
    "INIT_NAMES",
    "init_weights",
    "MunitConfig",
    "MunitGenerator",
    "StyleTransfer",
    "build_munit",
    "translate",
    "VARIANT_LABELS",
    "variant_label",
    "variant_name",
]
