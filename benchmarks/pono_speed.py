"""PONO forward + backward speed against GroupNorm and InstanceNorm, measured in the same run.

    python benchmarks/pono_speed.py                 # (4, 128, 64, 64) float32, the issue's tensor
    python benchmarks/pono_speed.py --shape 1 256 64 64 --channels-last

Every case runs forward and backward with random upstream gradients (for PONO, on the normalized output and on
both moments, as a generator with moment shortcuts uses them). Cases alternate round by round and the median is
reported, so machine noise hits all of them alike. Ratios below 1 mean faster than GroupNorm.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_medians, print_ratios  # noqa: E402

from pono_gan.layers import pono, pono_reference  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=4, default=[4, 128, 64, 64], metavar=("B", "C", "H", "W"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    torch.manual_seed(0)
    batch, channels, height, width = args.shape
    x = torch.randn(*args.shape) * 2 + 0.5
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    grad_out = torch.randn(*args.shape)
    grad_moments = [torch.randn(batch, 1, height, width) for _ in range(2)]
    group_norm = nn.GroupNorm(min(32, channels), channels)
    instance_norm = nn.InstanceNorm2d(channels, affine=True)

    def norm_step(norm):
        return lambda: norm(x).backward(grad_out)

    def pono_step(fn):
        return lambda: torch.autograd.backward(fn(x), [grad_out, *grad_moments])

    cases = {
        "GroupNorm(32)": norm_step(group_norm),
        "InstanceNorm": norm_step(instance_norm),
        "pono (fast)": pono_step(pono),
        "pono (plain autograd)": pono_step(pono_reference),
    }
    print(f"forward + backward on {tuple(args.shape)} float32, channels_last={args.channels_last}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    medians = interleaved_medians(cases, args.rounds, args.repeats)
    print_ratios(medians, "GroupNorm(32)")

    with torch.no_grad():
        errors = [(fast.double() - ref).abs().max().item() for fast, ref in zip(pono(x), pono_reference(x.double()))]
    print("max abs error of the fast path vs the float64 formula (normalized, mean, std): "
          + ", ".join(f"{e:.1e}" for e in errors))


if __name__ == "__main__":
    main()
