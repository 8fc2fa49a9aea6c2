"""The fused PONO CPU kernel: ``pono_kernel.c`` built at first use with the system C compiler, called via ctypes.

The shared library is cached per user in ``$PONO_GAN_CACHE`` (default ``$XDG_CACHE_HOME/pono_gan`` or
``~/.cache/pono_gan``) under a name hashed from the source, the compiler, its flags and the CPU (``-march=native``
code must not run on another machine sharing the home directory). It is compiled into a temporary file and renamed
into place, so concurrent processes (DDP ranks, pytest-xdist workers) never load a half-written library.

No compiler, a failed build, ``PONO_GAN_NO_KERNEL=1``, or a tensor the kernel does not handle (not a float32 CPU
tensor, neither contiguous nor channels-last) leaves :func:`pono_gan.layers.pono` on its torch implementation.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch
from torch import Tensor

log = logging.getLogger(__name__)

DISABLE_ENV = "PONO_GAN_NO_KERNEL"
CACHE_ENV = "PONO_GAN_CACHE"
SOURCE = Path(__file__).with_name("pono_kernel.c")
# Tried in order: the first that compiles is used. Without OpenMP the kernel would run on one thread, slower than
# torch's multi-threaded ops, so there is no such fallback.
FLAG_SETS: tuple[tuple[str, ...], ...] = (("-O3", "-march=native", "-fopenmp"), ("-O3", "-fopenmp"))
_COMMON_FLAGS = ("-shared", "-fPIC")

_ptr, _i64, _f64, _int = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double, ctypes.c_int
_SIGNATURES = {
    "pono_forward_nchw": (_ptr, _ptr, _ptr, _ptr, _ptr, _i64, _i64, _i64, _f64, _int),
    "pono_backward_nchw": (_ptr, _ptr, _ptr, _ptr, _ptr, _ptr, _i64, _i64, _i64, _int),
    "pono_forward_nhwc": (_ptr, _ptr, _ptr, _ptr, _ptr, _i64, _i64, _f64, _int),
    "pono_backward_nhwc": (_ptr, _ptr, _ptr, _ptr, _ptr, _ptr, _i64, _i64, _int),
}

_GRAIN = 32768  # elements below which the kernels run on one thread (at::internal::GRAIN_SIZE)

_lock = threading.Lock()
_library: ctypes.CDLL | None = None
_status = "not built yet"
_tried = False


def cache_dir() -> Path:
    """Where built kernels live: ``$PONO_GAN_CACHE``, else ``$XDG_CACHE_HOME/pono_gan`` or ``~/.cache/pono_gan``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pono_gan"


def disabled() -> bool:
    """True when ``PONO_GAN_NO_KERNEL`` is set to anything but ``""`` or ``"0"``."""
    return os.environ.get(DISABLE_ENV, "0") not in ("", "0")


def _compiler() -> list[str] | None:
    if os.environ.get("CC"):
        return shlex.split(os.environ["CC"])
    for name in ("cc", "gcc", "clang"):
        if path := shutil.which(name):
            return [path]
    return None


def _cpu_identity() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            lines = [line for line in cpuinfo if line.startswith(("model name", "flags", "Features", "CPU part"))]
        return "".join(dict.fromkeys(lines))  # one copy of each distinct line (every core repeats them)
    except OSError:
        return platform.processor()


def _library_path(compiler: list[str], flags: tuple[str, ...], source: bytes) -> Path:
    key = hashlib.sha256()
    for part in (source, " ".join(compiler), " ".join(flags), platform.machine(), _cpu_identity()):
        key.update(part if isinstance(part, bytes) else part.encode())
        key.update(b"\0")
    return cache_dir() / f"pono_kernel-{key.hexdigest()[:16]}.so"


def _compile(compiler: list[str], flags: tuple[str, ...], target: Path) -> str | None:
    """Build into a temporary file beside ``target`` and rename it into place; the compiler's error or None."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=target.stem + "-", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        command = [*compiler, *flags, *_COMMON_FLAGS, str(SOURCE), "-o", temporary, "-lm"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            return f"`{shlex.join(command)}` failed: {result.stderr.strip()[-2000:]}"
        os.replace(temporary, target)
        return None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _load(path: Path) -> ctypes.CDLL | None:
    try:
        library = ctypes.CDLL(str(path))
    except OSError:  # missing, or not loadable here (a stale or foreign build): built again
        return None
    for name, argtypes in _SIGNATURES.items():
        function = getattr(library, name)
        function.argtypes, function.restype = argtypes, None
    library.pono_isa.argtypes, library.pono_isa.restype = (), ctypes.c_char_p
    return library


def _build_and_load() -> tuple[ctypes.CDLL | None, str]:
    compiler = _compiler()
    if compiler is None:
        return None, "no C compiler found (set CC or install cc / gcc / clang)"
    source = SOURCE.read_bytes()
    error = "no flag set tried"
    for flags in FLAG_SETS:
        path = _library_path(compiler, flags, source)
        try:
            library = _load(path) if path.exists() else None
            if library is None:
                error = _compile(compiler, flags, path) or f"{path} does not load"
                library = _load(path)
        except (OSError, subprocess.SubprocessError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            continue
        if library is not None:
            return library, f"fused C kernel {path} ({' '.join(flags)}: {library.pono_isa().decode()})"
    return None, error


def library() -> ctypes.CDLL | None:
    """The loaded kernel, building it on first use; None when it cannot be built (logged once)."""
    global _library, _status, _tried
    if not _tried:
        with _lock:
            if not _tried:
                _library, _status = _build_and_load()
                _tried = True
                if _library is None:
                    log.warning(
                        "PONO falls back to its torch implementation: %s (CC picks the compiler, %s the cache "
                        "folder; %s=1 turns the kernel off)", _status, CACHE_ENV, DISABLE_ENV
                    )
                else:
                    log.debug("PONO uses the %s", _status)
    return _library


def status() -> str:
    """What :func:`library` found: the library's path and flags, or why there is none."""
    library()
    return _status


def isa() -> str | None:
    """The widest vector instruction-set extension the kernel's compiler flags enabled (``AVX-512``, ``AVX2``, ...,
    ``scalar``); None when there is no kernel."""
    built = library()
    return None if built is None else built.pono_isa().decode()


def _threads(x: Tensor) -> int:
    """torch's intra-op thread count, or 1 for tensors too small to be worth waking the others (as at::parallel_for)."""
    return torch.get_num_threads() if x.numel() >= _GRAIN else 1


def _channels_last(x: Tensor) -> bool | None:
    """False for contiguous x, True for channels-last, None for any other layout."""
    if x.is_contiguous():
        return False
    return True if x.is_contiguous(memory_format=torch.channels_last) else None


def usable(x: Tensor) -> bool:
    """Whether :func:`forward` handles ``x``: a non-empty float32 CPU tensor, contiguous or channels-last."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and type(x) in (Tensor, torch.nn.Parameter)
        and x.numel() > 0
        and _channels_last(x) is not None
        and not disabled()
        and library() is not None
    )


def forward(x: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(normalized, mean, std, rstd)`` of a tensor :func:`usable` accepted; normalized keeps x's layout."""
    batch, channels, height, width = x.shape
    y = torch.empty_like(x)
    mean, std, rstd = (x.new_empty(batch, 1, height, width) for _ in range(3))
    pointers = (x.data_ptr(), y.data_ptr(), mean.data_ptr(), std.data_ptr(), rstd.data_ptr())
    threads = _threads(x)
    if _channels_last(x):
        _library.pono_forward_nhwc(*pointers, batch * height * width, channels, eps, threads)
    else:
        _library.pono_forward_nchw(*pointers, batch, channels, height * width, eps, threads)
    return y, mean, std, rstd


def backward(grad_y: Tensor | None, y: Tensor, rstd: Tensor, grad_mean: Tensor | None,
             grad_std: Tensor | None) -> Tensor:
    """The gradient for x from those for ``(normalized, mean, std)`` (each may be None); y, rstd from
    :func:`forward`."""
    batch, channels, height, width = y.shape
    layout = torch.channels_last if _channels_last(y) else torch.contiguous_format

    def dense(grad: Tensor | None, memory_format: torch.memory_format = torch.contiguous_format) -> Tensor | None:
        return None if grad is None else grad.to(torch.float32).contiguous(memory_format=memory_format)

    # the dense copies must outlive the call: keep the tensors, not just their addresses
    dense_grads = (dense(grad_y, layout), y, rstd, dense(grad_mean), dense(grad_std))
    grads = [None if grad is None else grad.data_ptr() for grad in dense_grads]
    grad_x = torch.empty_like(y)
    threads = _threads(y)
    if layout == torch.channels_last:
        _library.pono_backward_nhwc(*grads, grad_x.data_ptr(), batch * height * width, channels, threads)
    else:
        _library.pono_backward_nchw(*grads, grad_x.data_ptr(), batch, channels, height * width, threads)
    return grad_x
