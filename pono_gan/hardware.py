"""What the machine can do natively: CPUs without AVX512-BF16 / AMX emulate bfloat16 (far slower than float32)."""

from __future__ import annotations

import torch

__all__ = ["cpu_has_native"]


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
