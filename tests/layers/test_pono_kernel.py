"""The fused C kernel behind ``pono`` (float32 CPU tensors) and the paths that fall back to torch."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch

from pono_gan.layers import pono, pono_kernel, pono_reference
from tests.requirements import requires

HAS_COMPILER = bool(os.environ.get("CC")) or any(shutil.which(name) for name in ("cc", "gcc", "clang"))
COMPILER_FIX = "install a C compiler with OpenMP (apt-get install gcc) or set CC"
needs_kernel = requires(pono_kernel.library() is not None,
                        f"the fused PONO kernel is unavailable: {pono_kernel.status()}", COMPILER_FIX)
needs_compiler = requires(HAS_COMPILER, "no C compiler on this machine: pono runs its torch Function", COMPILER_FIX)


@pytest.fixture(autouse=True)
def _kernel_enabled(monkeypatch):
    monkeypatch.delenv(pono_kernel.DISABLE_ENV, raising=False)


@pytest.fixture
def fresh_build(monkeypatch, tmp_path):
    """An empty kernel cache in tmp_path and a loader that has not tried to build yet (restored afterwards)."""
    monkeypatch.setenv(pono_kernel.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(pono_kernel, "_tried", False)
    monkeypatch.setattr(pono_kernel, "_library", None)
    return tmp_path


def path_of(outputs) -> str:
    return type(outputs[0].grad_fn).__name__.removesuffix("Backward")


def max_errors(x: torch.Tensor, eps: float = 1e-5) -> list[float]:
    """Max abs error of pono's (normalized, mean, std) and of its gradient for x against the float64 formula."""
    x = x.detach().requires_grad_(True)
    reference_input = x.detach().double().requires_grad_(True)
    outputs, reference = pono(x, eps), pono_reference(reference_input, eps)
    weights = [torch.randn_like(out) for out in outputs]
    grad = torch.autograd.grad(outputs, x, weights)[0]
    reference_grad = torch.autograd.grad(reference, reference_input, [w.double() for w in weights])[0]
    pairs = [*zip(outputs, reference), (grad, reference_grad)]
    return [(ours.double() - theirs).abs().max().item() for ours, theirs in pairs]


@needs_compiler
def test_kernel_builds_where_a_compiler_exists():
    assert pono_kernel.library() is not None, pono_kernel.status()
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    assert path_of(pono(x)) == "_PonoKernelFunction"
    assert path_of(pono(x.contiguous(memory_format=torch.channels_last))) == "_PonoKernelFunction"


@needs_kernel
@pytest.mark.parametrize(
    "shape",
    [(4, 128, 64, 64), (2, 3, 7, 5), (1, 1, 1, 1), (1, 1, 6, 5), (1, 3, 9, 11), (3, 16, 1, 9), (1, 64, 65, 67),
     (2, 512, 4, 6), (1, 32, 96, 96), (2, 64, 97, 101), (1, 2048, 6, 7),
     (2, 37, 64, 64)],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_matches_reference(shape, channels_last):
    x = torch.randn(shape) * 2 + 0.5
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    assert path_of(pono(x.requires_grad_(True))) == "_PonoKernelFunction"
    errors = max_errors(x)
    assert max(errors) <= 1e-5, errors


@needs_kernel
@pytest.mark.parametrize("shape", [(4, 128, 16, 16), (2, 16, 7, 9), (1, 512, 3, 5)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_large_mean(shape, channels_last):
    # A float running sum of x would be off by about 1e-5 here; the kernel stays at the float32 rounding of the mean.
    x = torch.randn(shape) * 2 + 100
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    errors = max_errors(x)
    assert max(errors) <= 1e-5, errors


@needs_kernel
@pytest.mark.parametrize(
    "shape, offset_channels, offset",
    [((2, 64, 8, 8), 1, 50.0), ((2, 512, 8, 8), 4, 100.0), ((2, 512, 48, 48), 4, 100.0)],
    ids=["channel0", "first4", "first4-large"],
)
def test_first_channels_far_from_the_mean(shape, offset_channels, offset):
    # The one-pass moments are taken around the mean of the first four channels; far from the mean (the last two
    # cases), cancellation would cost about 3e-5 here, and the kernel must switch to two passes. The last tensor is
    # large enough (>= 4 MiB) for streaming stores.
    x = torch.randn(shape)
    x[:, :offset_channels] += offset
    errors = max_errors(x)
    assert max(errors) <= 1e-5, errors


@needs_kernel
@pytest.mark.parametrize("used", [(0,), (1,), (2,), (1, 2), (0, 2)],
                         ids=["normalized", "mean", "std", "moments", "n+std"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_unused_outputs(used, channels_last):
    x = torch.randn(2, 6, 5, 3) * 3
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    grads = []
    for fn in (pono, pono_reference):
        outputs = fn(x)
        grads.append(torch.autograd.grad(sum(outputs[i].sum() for i in used), x)[0])  # expanded upstream grads
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-5)


@needs_kernel
def test_thread_count_does_not_change_results():
    x = torch.randn(1, 32, 33, 35, requires_grad=True)
    weights = [torch.randn(1, 32, 33, 35), torch.randn(1, 1, 33, 35), torch.randn(1, 1, 33, 35)]
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3):
            torch.set_num_threads(count)
            outputs = pono(x)
            results.append([*outputs, torch.autograd.grad(outputs, x, weights)[0]])
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


@needs_kernel
def test_second_derivative_raises_like_the_torch_function(monkeypatch):
    x = torch.randn(1, 4, 3, 3, requires_grad=True)
    for disabled in ("0", "1"):
        monkeypatch.setenv(pono_kernel.DISABLE_ENV, disabled)
        (grad,) = torch.autograd.grad(pono(x)[0].pow(2).sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable|differentiate"):
            grad.sum().backward()


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.randn(2, 6, 5, 5, dtype=torch.float64),
        lambda: torch.randn(2, 6, 5, 10)[..., ::2],  # neither contiguous nor channels-last
        lambda: torch.randn(2, 5, 6, 5).transpose(1, 2),
    ],
    ids=["float64", "strided", "transposed"],
)
def test_fallbacks_use_the_torch_function(make):
    x = make().requires_grad_(True)
    assert path_of(pono(x)) == "_PonoFunction"
    errors = max_errors(x)
    assert max(errors) <= 1e-5, errors


@pytest.mark.parametrize("channels_last", [False, True])
def test_disable_env(monkeypatch, channels_last):
    monkeypatch.setenv(pono_kernel.DISABLE_ENV, "1")
    x = torch.randn(2, 6, 5, 5)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    assert path_of(pono(x.requires_grad_(True))) == "_PonoFunction"
    errors = max_errors(x)
    assert max(errors) <= 1e-5, errors


def test_float64_gradcheck_through_the_fallback():
    x = torch.randn(2, 5, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pono, (x,))


def test_failed_build_falls_back_once(monkeypatch, fresh_build, caplog):
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with caplog.at_level("WARNING", logger=pono_kernel.__name__):
        assert pono_kernel.library() is None
        assert pono_kernel.library() is None
    assert len(caplog.records) == 1 and "falls back" in caplog.text
    assert "failed" in pono_kernel.status()
    assert list(fresh_build.iterdir()) == []  # no half-written files left
    x = torch.randn(2, 6, 4, 4, requires_grad=True)
    assert path_of(pono(x)) == "_PonoFunction"


@needs_compiler
def test_unloadable_cached_library_is_rebuilt(fresh_build):
    compiler, source = pono_kernel._compiler(), pono_kernel.SOURCE.read_bytes()
    for flags in pono_kernel.FLAG_SETS:
        pono_kernel._library_path(compiler, flags, source).write_bytes(b"not a shared library")
    assert pono_kernel.library() is not None, pono_kernel.status()
    x = torch.randn(2, 6, 4, 4, requires_grad=True)
    assert path_of(pono(x)) == "_PonoKernelFunction"


def test_cache_key_covers_source_flags_and_compiler():
    source = pono_kernel.SOURCE.read_bytes()
    path = pono_kernel._library_path(["cc"], ("-O3",), source)
    assert path.parent == pono_kernel.cache_dir()
    assert path != pono_kernel._library_path(["cc"], ("-O2",), source)
    assert path != pono_kernel._library_path(["clang"], ("-O3",), source)
    assert path != pono_kernel._library_path(["cc"], ("-O3",), source + b"\n")


@pytest.mark.slow
@needs_compiler
def test_concurrent_first_builds_share_one_library(tmp_path):
    script = textwrap.dedent(
        """
        import torch
        from pono_gan.layers import pono_kernel, pono
        assert pono_kernel.library() is not None, pono_kernel.status()
        x = torch.randn(2, 8, 4, 4, requires_grad=True)
        assert type(pono(x)[0].grad_fn).__name__ == "_PonoKernelFunctionBackward"
        """
    )
    env = {**os.environ, pono_kernel.CACHE_ENV: str(tmp_path)}
    env.pop(pono_kernel.DISABLE_ENV, None)
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    assert [path.suffix for path in tmp_path.iterdir()] == [".so"]


def test_source_ships_with_the_package():
    from pathlib import Path

    import tomllib

    assert pono_kernel.SOURCE.is_file()
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["pono_gan.layers"]
    assert any(pono_kernel.SOURCE.match(pattern) for pattern in patterns)


@needs_kernel
def test_the_kernel_reports_the_widest_vector_isa_of_this_cpu():
    """Built with -march=native, the kernel may use the CPU's widest vectors (AVX-512 where the CPU has it, AVX2
    otherwise), and says so in its status (pono_speed.py prints it)."""
    if "-march=native" not in pono_kernel.status():
        pytest.skip(f"the kernel was built without -march=native: {pono_kernel.status()}")
    try:
        with open("/proc/cpuinfo") as info:
            flags = next(line for line in info if line.startswith("flags")).split()
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo flags to compare with")
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    if widest is None:
        pytest.skip("an x86 CPU with neither AVX2 nor AVX-512")
    assert pono_kernel.isa() == widest and pono_kernel.status().endswith(f": {widest})")
