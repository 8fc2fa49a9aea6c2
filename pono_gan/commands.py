"""``pono-gan``: every tool of the project behind one command, installed by ``pip install .`` (``[project.scripts]``).

    pono-gan train fit --config configs/demo.yaml        # train.py; packaged configs by name from any folder:
    pono-gan train fit --config style/base --config style/pono_ms --data.root data/cat2dog
    pono-gan infer --checkpoint last.ckpt --input photos/ --output out/     # infer.py
    pono-gan evaluate --checkpoint last.ckpt             # python -m pono_gan.evaluate
    pono-gan ablate --task paired --data data/facades    # python -m pono_gan.ablate
    pono-gan convert junyanz latest_net_G.pth --netG unet_256 --norm batch --out facades.ckpt
    pono-gan figure1 photo.jpg --out figure1.png
    pono-gan download facades                            # python -m pono_gan.data.download
    pono-gan build fonts --root data/fonts               # python -m pono_gan.data.builders

``pono-gan COMMAND --help`` shows a command's options; each exits as its module does (2 for a usage or input error).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

__all__ = ["COMMANDS", "main"]

#: command -> (module, what it does); each module has ``main(argv)``
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("pono_gan.cli", "train or validate a model (train.py: fit | validate)"),
    "infer": ("pono_gan.inference.cli", "translate a folder of images with a checkpoint (infer.py)"),
    "evaluate": ("pono_gan.evaluate.cli", "score a checkpoint on a test split"),
    "ablate": ("pono_gan.ablate.cli", "train and compare variants over seeds, with intervals"),
    "convert": ("pono_gan.convert", "turn junyanz / official PONO generators into checkpoints"),
    "figure1": ("pono_gan.figure1", "the PONO moments of images, as the paper's figure 1"),
    "download": ("pono_gan.data.download", "download the public pix2pix / CycleGAN data sets"),
    "build": ("pono_gan.data.builders", "build the offline data sets (glyphs, fonts, edges2photo, ...)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return ("usage: pono-gan COMMAND [ARGS ...]\n\ncommands:\n" + "\n".join(lines)
            + "\n\n`pono-gan COMMAND --help` for a command's options.")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"pono-gan: error: unknown command {name!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    command: Callable = import_module(COMMANDS[name][0]).main
    if name == "infer":
        result = command(rest, prog="pono-gan infer")
    else:
        result = command(rest)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
