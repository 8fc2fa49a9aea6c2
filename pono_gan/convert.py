"""Bring generators trained elsewhere into pono-gan: a foreign state dict in, a pono-gan checkpoint out, which
``infer.py``, ``evaluate`` and ``--export`` take as they are.

    python -m pono_gan.convert junyanz latest_net_G_A.pth --netG resnet_9blocks --norm instance --no_dropout \\
        --out g.ckpt
    python -m pono_gan.convert junyanz latest_net_G.pth --netG unet_256 --norm batch --out facades.ckpt
    python -m pono_gan.convert official-pono latest_net_G_A.pth --netG restnetPONOMS_9block --out pono_ms.ckpt

Flags are the foreign tool's own (``--netG``, ``--norm``, ``--no_dropout``, ``--input_nc``, ``--output_nc``,
``--ngf``): give those the model was trained with.

* ``junyanz`` (junyanz/pytorch-CycleGAN-and-pix2pix, its ``models/networks.py``): ``resnet_9blocks``,
  ``resnet_6blocks``, ``unet_128``, ``unet_256`` with ``--norm instance | batch | none``, dropout or not. These map
  one to one onto :class:`pono_gan.models.ResnetGenerator` / :class:`UnetGenerator` (the same layers in the same
  order; its reflection pads are our convs' ``padding_mode="reflect"``): the outputs are the reference's.
  ``--norm none`` models have no conv biases there; ours get zero biases (the same function). Instance-norm
  running statistics that old files carry (PyTorch < 0.4) are dropped, as junyanz's own loader does.
* ``official-pono`` (Boyiliee/PONO, ``pytorch-CycleGAN-and-pix2pix-with-PONO/networks_pono.py``):
  ``restnetPONOMS_9block`` maps exactly, with ``pono_unbiased`` (its PONO divides by C - 1) and
  ``sampling_norm: batch`` (its down- and up-sampling blocks hard-code BatchNorm2d whatever ``--norm`` says); its
  MS sits at the input of each up-sampling block, as ours. ``resnetPONODMS_9blocks`` is refused: its dynamic
  shortcut (a stride-2 transposed conv with batch norm and ReLU, then a 3x3 conv with ReLU, applied after the
  up-sampling conv and its norm) is another network than pono-gan's DMS, so its weights have nowhere to go.

Both tools normalize images to [-1, 1] and end in tanh, as pono-gan does, so no pre- or post-processing changes.
What differs at test time: their ``test.py`` runs the network in train mode unless ``--eval`` (``infer.py
--train-mode`` gives that; it matters for batch norm and dropout), and resizes every image to a square
``--load_size`` (``infer.py`` keeps each image's size and aspect).

Every key and shape is checked: a file that does not fit the flags is refused in one line naming the first
key that does not fit and the flags to check (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pono_gan.errors import PonoGanError

__all__ = ["ConvertError", "NETG", "foreign_config", "key_map", "convert", "main"]

#: (tool, netG) -> (arch, residual blocks or U-Net levels)
NETG = {
    ("junyanz", "resnet_9blocks"): ("resnet", 9),
    ("junyanz", "resnet_6blocks"): ("resnet", 6),
    ("junyanz", "unet_128"): ("unet", 7),
    ("junyanz", "unet_256"): ("unet", 8),
    ("official-pono", "restnetPONOMS_9block"): ("resnet", 9),
    ("official-pono", "resnet_9blocks"): ("resnet", 9),
    ("official-pono", "resnet_6blocks"): ("resnet", 6),
    ("official-pono", "unet_128"): ("unet", 7),
    ("official-pono", "unet_256"): ("unet", 8),
}
REFUSED = {
    ("official-pono", "resnetPONODMS_9blocks"): (
        "its dynamic shortcut (a stride-2 transposed conv with batch norm and ReLU, then a 3x3 conv with ReLU, applied "
        "after the up-sampling conv) is another network than pono-gan's DMS, so its weights have nowhere to go; "
        "retrain with configs/unpaired/pono_dms.yaml"
    ),
}
TOOLS = ("junyanz", "official-pono")


class ConvertError(PonoGanError):
    """A foreign file or flags that do not fit; the message is one line naming what and the fix."""


def foreign_config(tool: str, netG: str, norm: str = "instance", no_dropout: bool = False, input_nc: int = 3,
                   output_nc: int = 3, ngf: int = 64):
    """The :class:`pono_gan.models.GeneratorConfig` that reproduces ``tool``'s ``netG`` with those flags."""
    from pono_gan.models import GeneratorConfig

    if (tool, netG) in REFUSED:
        raise ConvertError(f"{tool} --netG {netG} cannot be converted: {REFUSED[tool, netG]}")
    if (tool, netG) not in NETG:
        valid = [name for (t, name) in [*NETG, *REFUSED] if t == tool]
        raise ConvertError(f"unknown --netG {netG!r} for {tool}; valid: {', '.join(valid)}")
    if norm not in ("instance", "batch", "none"):
        raise ConvertError(f"unknown --norm {norm!r}; valid: instance, batch, none (as the reference names them)")
    arch, size = NETG[tool, netG]
    official_ms = netG == "restnetPONOMS_9block"
    return GeneratorConfig(
        arch=arch, in_channels=input_nc, out_channels=output_nc, base_channels=ngf,
        num_blocks=size if arch == "resnet" else 9, num_downsampling=2 if arch == "resnet" else size,
        norm=norm, dropout=0.0 if no_dropout else 0.5, pono=official_ms, shortcut="ms" if official_ms else "none",
        pono_unbiased=official_ms, sampling_norm="batch" if official_ms else None,
    )


def _resnet_map(ours: str, num_blocks: int, official: bool) -> str:
    """Our ResnetGenerator key -> the reference's (junyanz ``model.N``; official PONO-MS named blocks)."""
    parts = ours.split(".")
    if official:
        if parts[0] == "stem":
            return ".".join(["reflection_block", *parts[1:]])
        if parts[0] == "down":
            return ".".join(["down_model", *parts[1:]])
        if parts[0] == "blocks":
            j = int(parts[3])
            return ".".join(["res_block", parts[1], "conv_block", str(j + 1 if j < 3 else j + 2), *parts[4:]])
        if parts[0] == "up":
            return ".".join(["up_model", parts[1], {"0": "conv", "1": "norm"}[parts[3]], *parts[4:]])
        return ".".join(["out_block", *parts[1:]])
    # junyanz: pad 0, conv 1, norm 2, ReLU 3; per down stage conv, norm, ReLU; the blocks; per up stage convT, norm,
    # ReLU; pad, conv, tanh. In a block, its pads push our index j up by 1 before the second conv and by 2 after.
    if parts[0] == "stem":
        return ".".join(["model", *parts[1:]])
    if parts[0] == "down":
        index = 4 + 3 * int(parts[1]) + {"conv": 0, "norm": 1}[parts[2]]
        return ".".join(["model", str(index), *parts[3:]])
    if parts[0] == "blocks":
        j = int(parts[3])
        return ".".join(["model", str(10 + int(parts[1])), "conv_block", str(j + 1 if j < 3 else j + 2), *parts[4:]])
    if parts[0] == "up":
        index = 10 + num_blocks + 3 * int(parts[1]) + int(parts[3])
        return ".".join(["model", str(index), *parts[4:]])
    return ".".join(["model", str(10 + num_blocks + 6 + int(parts[1])), *parts[2:]])


def _unet_map(ours: str, levels: int) -> str:
    """Our UnetGenerator key -> junyanz's nested ``UnetSkipConnectionBlock`` key. Level 0's block is
    ``[downconv, submodule, ReLU, upconv, tanh]``, the innermost ``[LeakyReLU, downconv, ReLU, upconv, upnorm]``,
    the others ``[LeakyReLU, downconv, downnorm, submodule, ReLU, upconv, upnorm, (dropout)]``."""
    parts = ours.split(".")
    level = int(parts[1])
    prefix = "model.model." + "".join("1.model." if i == 0 else "3.model." for i in range(level))
    innermost = level == levels - 1
    if parts[0] == "down":  # ours: conv = [(LeakyReLU), Conv2d], norm
        index = (0 if level == 0 else 1) if parts[2] == "conv" else 2
        return prefix + ".".join([str(index), *parts[4 if parts[2] == "conv" else 3:]])
    # ours: up body = [ReLU, ConvTranspose2d, norm / tanh, (dropout)]; theirs: ReLU at 2 (outermost, innermost) or 4
    index = int(parts[3]) + (2 if level == 0 or innermost else 4)
    return prefix + ".".join([str(index), *parts[4:]])


def key_map(tool: str, netG: str, generator) -> dict[str, str]:
    """Each key of ``generator``'s state dict -> the key the foreign file stores it under."""
    arch, size = NETG[tool, netG]
    official = netG == "restnetPONOMS_9block"
    if arch == "resnet":
        return {key: _resnet_map(key, size, official) for key in generator.state_dict()}
    return {key: _unet_map(key, size) for key in generator.state_dict()}


def convert(tool: str, path: str | Path, netG: str, out: str | Path, *, norm: str = "instance",
            no_dropout: bool = False, input_nc: int = 3, output_nc: int = 3, ngf: int = 64,
            direction: str = "AtoB") -> tuple[Path, list[str]]:
    """Convert the generator in ``path`` into a pono-gan checkpoint at ``out``; returns it and notes (one line each)."""
    import torch

    from pono_gan.checkpoint import FORMAT_VERSION, KEY
    from pono_gan.models import build_generator
    from pono_gan.models.variants import variant_name

    if tool not in TOOLS:
        raise ConvertError(f"unknown tool {tool!r}; valid: {', '.join(TOOLS)}")
    if direction not in ("AtoB", "BtoA"):
        raise ConvertError(f"--direction {direction!r}: AtoB or BtoA")
    config = foreign_config(tool, netG, norm, no_dropout, input_nc, output_nc, ngf)
    path, out = Path(path), Path(out)
    if not path.is_file():
        raise ConvertError(f"{path} not found; pass the generator file the other tool saved (e.g. latest_net_G_A.pth)")
    try:
        foreign = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        reason = (str(error).splitlines() or [type(error).__name__])[0][:160]
        raise ConvertError(f"{path}: cannot be read as a PyTorch state dict ({reason}); is it complete?") from None
    if isinstance(foreign, dict) and KEY in foreign:
        raise ConvertError(f"{path}: already a pono-gan checkpoint; pass it to infer.py / evaluate as it is")
    if isinstance(foreign, dict) and isinstance(foreign.get("state_dict"), dict):
        foreign = foreign["state_dict"]
    if not isinstance(foreign, dict) or not all(isinstance(v, torch.Tensor) for v in foreign.values()):
        raise ConvertError(f"{path}: not a state dict of tensors (a generator's .pth from {tool})")
    foreign = {key.removeprefix("module."): value for key, value in foreign.items()}  # saved from DataParallel
    generator = build_generator(config)
    notes = []
    state = {}
    used = set()
    targets = generator.state_dict()
    for ours, theirs in key_map(tool, netG, generator).items():
        target = targets[ours]
        if theirs not in foreign:
            if ours.endswith(".bias") and norm == "none":
                state[ours] = torch.zeros_like(target)  # the reference has no bias here: zero is the same function
                continue
            raise ConvertError(f"{path}: has no {theirs} (pono-gan's {ours}); check --netG {netG}, --norm {norm} and "
                               f"{'--no_dropout' if no_dropout else 'whether it was trained with --no_dropout'}")
        value = foreign[theirs]
        if value.shape != target.shape:
            raise ConvertError(f"{path}: {theirs} has shape {tuple(value.shape)}, --netG {netG} with these flags needs "
                               f"{tuple(target.shape)}; check --ngf {ngf}, --input_nc {input_nc}, "
                               f"--output_nc {output_nc}")
        state[ours] = value.to(target.dtype)
        used.add(theirs)
    if norm == "none" and any(k.endswith(".bias") and k not in used for k in state):
        notes.append("--norm none: the reference's convs have no bias; they are zero here (the same function)")
    left = sorted(set(foreign) - used)
    stale = [k for k in left
             if k.endswith(("running_mean", "running_var", "num_batches_tracked")) and norm == "instance"]
    if stale:
        notes.append(f"dropped {len(stale)} instance-norm running statistics (old PyTorch files; junyanz's loader "
                     "drops them too)")
    left = [k for k in left if k not in stale]
    if left:
        raise ConvertError(f"{path}: {len(left)} tensors do not belong to --netG {netG} with these flags "
                           f"(first: {left[0]}); check --netG, --norm and --no_dropout")
    generator.load_state_dict(state)
    checkpoint: dict[str, Any] = {
        KEY: {
            "format": FORMAT_VERSION, "task": "paired", "direction": direction,
            "generators": {direction: {"config": asdict(config), "prefix": "generator."}},
            "data": {"channels": [input_nc, output_nc]}, "variant": variant_name(config), "wandb_run_id": None,
            "converted_from": {"tool": tool, "file": str(path), "netG": netG, "norm": norm, "no_dropout": no_dropout,
                               "input_nc": input_nc, "output_nc": output_nc, "ngf": ngf},
        },
        "state_dict": {f"generator.{key}": value for key, value in generator.state_dict().items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    torch.save(checkpoint, partial)
    partial.replace(out)  # atomic: a killed conversion leaves no truncated checkpoint
    return out, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pono_gan.convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tool", choices=TOOLS, help="the code that trained the generator")
    parser.add_argument("file", help="its generator state dict, e.g. latest_net_G_A.pth")
    parser.add_argument("--netG", required=True, help="the generator it was trained with (the tool's own name)")
    parser.add_argument("--norm", default="instance",
                        help="instance | batch | none (default: %(default)s; pix2pix used batch)")
    parser.add_argument("--no_dropout", action="store_true",
                        help="it was trained with --no_dropout (CycleGAN's default)")
    parser.add_argument("--input_nc", type=int, default=3, help="input channels (default: %(default)s)")
    parser.add_argument("--output_nc", type=int, default=3, help="output channels (default: %(default)s)")
    parser.add_argument("--ngf", type=int, default=64, help="generator width (default: %(default)s)")
    parser.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"),
                        help="the direction it translates, recorded in the checkpoint (default: %(default)s)")
    parser.add_argument("--out", required=True, help="the pono-gan checkpoint to write (.ckpt)")
    args = parser.parse_args(argv)
    try:
        out, notes = convert(args.tool, args.file, args.netG, args.out, norm=args.norm, no_dropout=args.no_dropout,
                             input_nc=args.input_nc, output_nc=args.output_nc, ngf=args.ngf, direction=args.direction)
    except PonoGanError as error:
        print(f"convert: error: {error}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"convert: note: {note}", file=sys.stderr)
    print(f"convert: wrote {out}; use it as: python infer.py --checkpoint {out} --input IMAGES --output OUT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
