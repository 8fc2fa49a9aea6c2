"""The main job (``make demo``): for now, PONO moment maps of a real photo through a PONO-MS generator.

Writes ``outputs/demo/moments.png``: the photo, then the mean and std maps of each encoder stage.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from skimage import data as skdata
from torchvision.utils import save_image

from pono_gan.models import GeneratorConfig, build_generator, init_weights
from pono_gan.viz import moment_maps, sample_panel


def main(output_dir: str = "outputs/demo") -> str:
    torch.manual_seed(0)
    photo = torch.from_numpy(np.ascontiguousarray(skdata.astronaut())).permute(2, 0, 1).float() / 255
    photo = torch.nn.functional.interpolate(photo[None], size=(256, 256), mode="area")
    generator = init_weights(build_generator(GeneratorConfig(base_channels=32, num_blocks=2, pono=True, shortcut="ms")))
    with torch.inference_mode():
        output, moments = generator.eval().forward_with_moments(photo * 2 - 1)
    maps = moment_maps(moments, size=(256, 256))
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, "moments.png")
    save_image(sample_panel([photo, *maps.values()]), path)
    print(f"wrote {path}: photo | " + " | ".join(maps))
    return path


if __name__ == "__main__":
    main()
