"""PONO forward + backward speed against GroupNorm and InstanceNorm, measured in the same run.

    python benchmarks/pono_speed.py                 # (4, 128, 64, 64) float32, the issue's tensor
    python benchmarks/pono_speed.py --shape 1 256 64 64 --channels-last
    python benchmarks/pono_speed.py --threads 1    # less sensitive to other processes on a small machine
    python benchmarks/pono_speed.py --kernel-only  # the kernel's two calls alone against Tensor.copy_

Every case runs forward and backward with random upstream gradients (for PONO, on the normalized output and on
both moments, as a generator with moment shortcuts uses them). Cases alternate round by round and the median is
reported, so machine noise hits all of them alike. Ratios below 1 mean faster than GroupNorm.

``pono`` runs twice: as it runs by default (the fused C kernel for float32 CPU tensors, when it builds) and with
``PONO_GAN_NO_KERNEL=1`` (the torch autograd Function it falls back to); the first lines say which path was taken
(for the kernel: its compiler flags and the widest vector ISA they let it use, e.g. AVX-512) and the CPU's features.

``--kernel-only`` times the fused kernel's forward and backward calls alone, on preallocated buffers (no autograd, no
allocation, no page faults), against ``Tensor.copy_`` of the same tensor: how close the kernel comes to the memory
traffic the machine allows (the forward reads x and writes y, as a copy does; the backward reads grad_y and y and
writes grad_x).
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_medians, print_ratios  # noqa: E402

from pono_gan.hardware import cpu_features  # noqa: E402
from pono_gan.layers import pono, pono_kernel, pono_reference  # noqa: E402


def without_kernel(fn):
    """``fn`` with ``PONO_GAN_NO_KERNEL=1``: pono's torch Function instead of the fused kernel."""

    def run(*args):
        previous = os.environ.get(pono_kernel.DISABLE_ENV)
        os.environ[pono_kernel.DISABLE_ENV] = "1"
        try:
            return fn(*args)
        finally:
            if previous is None:
                del os.environ[pono_kernel.DISABLE_ENV]
            else:
                os.environ[pono_kernel.DISABLE_ENV] = previous

    return run


def kernel_only(x: torch.Tensor, grad_out: torch.Tensor, grad_moments: list[torch.Tensor], rounds: int,
                repeats: int) -> None:
    """Time the fused kernel's two calls on preallocated buffers against ``Tensor.copy_`` of x (see the docstring)."""
    library = pono_kernel.library()
    if not pono_kernel.usable(x) or not x.is_contiguous():  # usable: the kernel built, and x is float32 on CPU
        print("pono_speed.py: error: --kernel-only needs the fused kernel and a contiguous float32 tensor "
              f"(kernel: {pono_kernel.status()}); drop --channels-last", file=sys.stderr)
        raise SystemExit(2)
    batch, channels, height, width = x.shape
    y, out = torch.empty_like(x), torch.empty_like(x)
    mean, std, rstd = (x.new_empty(batch, 1, height, width) for _ in range(3))
    threads = torch.get_num_threads()
    copy = f"Tensor.copy_ ({x.numel() * 4 / 2**20:.0f} MiB in and out)"
    cases = {  # dicts keep their order: each round runs the forward before the backward that reads its y and rstd
        copy: lambda: out.copy_(x),
        "kernel forward": lambda: library.pono_forward_nchw(
            x.data_ptr(), y.data_ptr(), mean.data_ptr(), std.data_ptr(), rstd.data_ptr(), batch, channels,
            height * width, 1e-5, threads),
        "kernel backward": lambda: library.pono_backward_nchw(
            grad_out.data_ptr(), y.data_ptr(), rstd.data_ptr(), grad_moments[0].data_ptr(),
            grad_moments[1].data_ptr(), out.data_ptr(), batch, channels, height * width, threads),
    }
    print_ratios(interleaved_medians(cases, rounds, repeats), copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=4, default=[4, 128, 64, 64], metavar=("B", "C", "H", "W"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--kernel-only", action="store_true",
                        help="the fused kernel's calls alone on preallocated buffers, against Tensor.copy_")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

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

    # x's gradient is not accumulated from call to call: in a network x is an activation, whose gradient goes on to
    # the layer before, so a step's cost holds no `x.grad += ...` (GroupNorm's and InstanceNorm's weights still get
    # theirs, as in training)
    def norm_step(norm):
        def step():
            x.grad = None
            norm(x).backward(grad_out)
        return step

    def pono_step(fn):
        def step():
            x.grad = None
            torch.autograd.backward(fn(x), [grad_out, *grad_moments])
        return step

    if args.kernel_only:
        print(f"the fused kernel alone on {tuple(args.shape)} float32, {torch.get_num_threads()} threads: "
              f"{pono_kernel.status()}")
        kernel_only(x.detach(), grad_out, grad_moments, args.rounds, args.repeats)
        return
    fused = pono_kernel.usable(x)
    default = "pono (fused kernel)" if fused else "pono (torch Function)"
    cases = {"GroupNorm(32)": norm_step(group_norm), "InstanceNorm": norm_step(instance_norm), default: pono_step(pono)}
    if fused:
        cases["pono (torch Function)"] = pono_step(without_kernel(pono))
    cases["pono (plain autograd)"] = pono_step(pono_reference)
    # bf16 activations (autocast) reach pono as bf16: it computes on a float32 copy and casts its outputs back
    x_bf16, grads_bf16 = x.detach().bfloat16().requires_grad_(True), [g.bfloat16() for g in (grad_out, *grad_moments)]

    def pono_bf16_step():
        x_bf16.grad = None
        torch.autograd.backward(pono(x_bf16), grads_bf16)

    bf16_input = "pono (bf16 input)"
    cases[bf16_input] = pono_bf16_step
    if fused:
        path = pono_kernel.status()
    else:
        why = f"{pono_kernel.DISABLE_ENV} is set" if pono_kernel.disabled() else pono_kernel.status()
        path = f"the torch Function ({why})"
    print(f"forward + backward on {tuple(args.shape)} float32, channels_last={args.channels_last}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"pono's default path: {path}")
    print(f"CPU: {cpu_features()}")
    medians = interleaved_medians(cases, args.rounds, args.repeats)
    print_ratios(medians, "GroupNorm(32)")
    for name in (default, "pono (torch Function)") if fused else (default,):
        print(f"{name}: {medians[name] / medians['GroupNorm(32)']:.2f}x GroupNorm(32), "
              f"{medians[name] / medians['InstanceNorm']:.2f}x InstanceNorm")
    print(f"{bf16_input}: {medians[bf16_input] / medians[default]:.2f}x {default} on float32 input "
          f"(+{(medians[bf16_input] - medians[default]) * 1e3:.2f} ms: the copies to float32 and back)")

    with torch.no_grad():
        reference = pono_reference(x.double())
        for name, fn in (("default path", pono), ("torch Function", without_kernel(pono))):
            errors = [(fast.double() - ref).abs().max().item() for fast, ref in zip(fn(x), reference)]
            print(f"max abs error of the {name} vs the float64 formula (normalized, mean, std): "
                  + ", ".join(f"{e:.1e}" for e in errors))


if __name__ == "__main__":
    main()
