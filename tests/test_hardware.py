"""pono_gan.hardware: what the CPU does natively, as the benchmarks' headers say it."""

import torch

from pono_gan.hardware import cpu_features, cpu_has_native, machine


def test_the_cpu_features_line_names_torchs_kernels_and_each_bf16_feature(monkeypatch):
    line = cpu_features()
    assert line.startswith(f"torch kernels {torch.backends.cpu.get_cpu_capability()}; ")
    for flag in ("AVX512-BF16", "AMX", "VNNI"):
        assert f"{flag} yes" in line or f"{flag} no" in line
    # what the line says agrees with the native-bf16 decision; a helper that fails reads as unknown
    assert ("AVX512-BF16 yes" in line or "AMX yes" in line) == cpu_has_native(torch.bfloat16)
    monkeypatch.setattr(torch.cpu, "_is_vnni_supported", lambda: 1 / 0, raising=False)
    assert "VNNI unknown" in cpu_features()


def test_the_machine_line_names_the_cpu_then_its_features():
    assert machine().endswith(f" ({cpu_features()})") and not machine().startswith(" (")
