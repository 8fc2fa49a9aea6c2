"""What the machine can do natively: CPUs without AVX512-BF16 / AMX emulate bfloat16 (far slower than float32)."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

__all__ = ["cpu_has_native", "auto_bf16", "cpu_features", "machine"]


def cpu_has_native(dtype: torch.dtype) -> bool:
    """Whether this CPU computes ``dtype`` (bfloat16 or float16) natively rather than emulating it."""
    checks = {
        torch.bfloat16: ("_is_avx512_bf16_supported", "_is_amx_tile_supported"),
        torch.float16: ("_is_amx_fp16_supported",),
    }[dtype]
    for name in checks:
        check = getattr(torch.cpu, name, None)
        try:
            if check is not None and check():
                return True
        except Exception:  # private helpers: treat any failure as "unknown, assume not"
            pass
    return False


def auto_bf16(device: torch.device | str) -> tuple[bool, str]:
    """What ``auto`` precision decides on: whether ``device`` computes bfloat16 natively (a CUDA GPU that supports
    it, a CPU with AVX512-BF16 or AMX), and why, in words for the one line that reports the choice."""
    device = torch.device(device)
    if device.type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False):
            return True, "the GPU supports bfloat16"
        return False, "no native bfloat16 on this GPU"
    if cpu_has_native(torch.bfloat16):
        return True, "this CPU has AVX512-BF16 / AMX"
    return False, "no native bfloat16 on this CPU"


def cpu_features() -> str:
    """The CPU's vector features as torch sees them, for a benchmark's header: the kernels torch dispatches to
    (``AVX512``, ``AVX2``, ``DEFAULT``) and which of AVX512-BF16, AMX and VNNI it has, e.g.
    ``torch kernels AVX512; AVX512-BF16 yes, AMX yes, VNNI yes``."""
    flags = {"AVX512-BF16": "_is_avx512_bf16_supported", "AMX": "_is_amx_tile_supported", "VNNI": "_is_vnni_supported"}

    def has(name: str) -> str:
        check = getattr(torch.cpu, name, None)
        try:
            return "yes" if check is not None and check() else "no"
        except Exception:  # private helpers: unknown
            return "unknown"

    found = ", ".join(f"{flag} {has(name)}" for flag, name in flags.items())
    return f"torch kernels {torch.backends.cpu.get_cpu_capability()}; {found}"


def machine() -> str:
    """The CPU's model name and :func:`cpu_features`, for a study's record of where a run trained (runs of one study
    may train on machines whose bfloat16 kernels differ), e.g. ``AMD EPYC (torch kernels AVX512; AVX512-BF16 yes,
    AMX no, VNNI yes)``."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        name = models[0] if models else name
    return f"{name} ({cpu_features()})"
