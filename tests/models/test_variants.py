"""A variant has one config name (the variant files' ``variant:``, runs, W&B) and one display name."""

from pathlib import Path

import pytest
import yaml

from pono_gan.models import VARIANT_LABELS, GeneratorConfig, MunitConfig, variant_label, variant_name

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
VARIANT_FILES = sorted(p for task in ("paired", "unpaired", "style") for p in (CONFIGS / task).glob("*.yaml")
                       if p.name != "base.yaml")


@pytest.mark.parametrize("path", VARIANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_variant_file_is_named_after_its_generator_and_has_a_display_name(path):
    values = yaml.safe_load(path.read_text())
    assert values["variant"] == path.stem
    generator = values.get("model", {}).get("init_args", {}).get("generator", {})
    config = (MunitConfig if path.parent.name == "style" else GeneratorConfig)(**generator)
    # a variant that differs only in its generator is named by it; one that also changes the task (the moment loss,
    # a shared content encoder) extends that name
    assert path.stem == variant_name(config) or path.stem.startswith(variant_name(config) + "_")
    assert variant_label(path.stem) != path.stem and path.stem in VARIANT_LABELS


def test_variant_names_of_generator_settings():
    assert variant_name(GeneratorConfig(norm="group")) == "group"
    assert variant_name(GeneratorConfig(norm="instance", pono=True)) == "pono"
    assert variant_name(GeneratorConfig(norm="group", pono=True, shortcut="dms")) == "group_pono_dms"
    assert variant_name(MunitConfig(pono=True, shortcut="ms", placement="official")) == "pono_ms_official"
    assert variant_label("my_variant") == "my_variant"
