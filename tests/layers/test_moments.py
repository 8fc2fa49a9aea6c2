import pytest
import torch

from pono_gan.layers import (
    PONO,
    DynamicMomentShortcut,
    Moments,
    MomentShortcut,
    create_shortcut,
    moment_shortcut,
    pono,
    pono_reference,
)


class TestPono:
    def test_smoke(self):
        normalized, mean, std = pono(torch.randn(2, 4, 3, 5))
        assert normalized.shape == (2, 4, 3, 5)
        assert mean.shape == std.shape == (2, 1, 3, 5)

    def test_hand_computed(self):
        # One position, channels [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5.
        x = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 4, 1, 1)
        normalized, mean, std = pono(x, eps=0.0)
        assert mean.item() == pytest.approx(3.0)
        assert std.item() == pytest.approx(3.5**0.5)
        expected = (torch.tensor([1.0, 2.0, 3.0, 6.0]) - 3.0) / 3.5**0.5
        torch.testing.assert_close(normalized.flatten(), expected)

    def test_eps_inside_square_root(self):
        x = torch.zeros(1, 3, 2, 2)
        _, _, std = pono(x, eps=0.25)
        torch.testing.assert_close(std, torch.full((1, 1, 2, 2), 0.5))

    @pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 7, 5), (4, 128, 64, 64), (3, 16, 1, 9)])
    @pytest.mark.parametrize("channels_last", [False, True])
    def test_matches_reference_float32(self, shape, channels_last):
        x = torch.randn(shape) * 3 + 2
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        for fast, ref in zip(pono(x), pono_reference(x.double())):
            assert (fast.double() - ref).abs().max().item() <= 1e-5

    def test_gradients_match_reference(self):
        x = torch.randn(2, 6, 4, 4, dtype=torch.float64, requires_grad=True)
        weights = [torch.randn(2, 6, 4, 4), torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)]
        grads = []
        for fn in (pono, pono_reference):
            out = fn(x)
            loss = sum((o * w.double()).sum() for o, w in zip(out, weights))
            grads.append(torch.autograd.grad(loss, x)[0])
        torch.testing.assert_close(grads[0], grads[1])

    def test_zero_mean_unit_std_across_channels(self):
        normalized, _, _ = pono(torch.randn(3, 32, 8, 8) * 5 - 1)
        torch.testing.assert_close(normalized.mean(1), torch.zeros(3, 8, 8), atol=1e-5, rtol=0)
        torch.testing.assert_close(normalized.var(1, unbiased=False), torch.ones(3, 8, 8), atol=1e-3, rtol=0)

    def test_shortcut_recovers_input(self):
        x = torch.randn(2, 16, 5, 6)
        torch.testing.assert_close(moment_shortcut(*pono(x)), x, atol=1e-5, rtol=1e-5)

    @pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
    def test_low_precision_keeps_dtype_with_float32_statistics(self, dtype):
        x = (torch.randn(2, 64, 4, 4) * 100 + 1000).to(dtype)
        normalized, mean, std = pono(x)
        assert normalized.dtype == mean.dtype == std.dtype == dtype
        ref = pono_reference(x.double())
        # float32 statistics, then one rounding to the low-precision dtype
        torch.testing.assert_close(normalized.double(), ref[0], atol=0.05, rtol=0.02)
        torch.testing.assert_close(mean.double(), ref[1].to(dtype).double())

    def test_under_autocast(self):
        x = torch.randn(2, 8, 4, 4, requires_grad=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            normalized, mean, std = pono(x)
        assert normalized.dtype == torch.float32
        normalized.sum().backward()
        assert x.grad is not None

    def test_gradcheck(self):
        x = torch.randn(2, 5, 3, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(pono, (x,))
        assert torch.autograd.gradcheck(lambda t: pono(t)[1:], (x,))  # the moments alone

    def test_unused_outputs(self):
        x = torch.randn(2, 5, 3, 3, requires_grad=True)
        pono(x)[0].sum().backward()
        grad_normalized_only = x.grad.clone()
        x.grad = None
        reference = torch.autograd.grad(pono_reference(x)[0].sum(), x)[0]
        torch.testing.assert_close(grad_normalized_only, reference, atol=1e-5, rtol=1e-4)

    @pytest.mark.parametrize("bad", [torch.randn(3, 4, 5), torch.randn(1, 2, 3, 4, 5)])
    def test_bad_shape(self, bad):
        with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
            pono(bad)

    def test_integer_input(self):
        with pytest.raises(TypeError, match="floating-point"):
            pono(torch.ones(1, 2, 3, 3, dtype=torch.int64))

    def test_module_equals_function(self):
        x = torch.randn(2, 8, 4, 4)
        normalized, moments = PONO()(x)
        assert isinstance(moments, Moments)
        for a, b in zip((normalized, *moments), pono(x)):
            torch.testing.assert_close(a, b)
        for a, b in zip((PONO(unbiased=True)(x)[0], *PONO(unbiased=True)(x)[1]), pono(x, unbiased=True)):
            torch.testing.assert_close(a, b)


class TestPonoUnbiased:
    """The official PyTorch code's variant: the variance divided by C - 1."""

    def test_hand_computed(self):
        # channels [1, 2, 3, 6]: mean 3, unbiased variance (4 + 1 + 0 + 9) / 3
        x = torch.tensor([1.0, 2.0, 3.0, 6.0]).view(1, 4, 1, 1)
        normalized, mean, std = pono(x, eps=0.1, unbiased=True)
        assert std.item() == pytest.approx((14 / 3 + 0.1) ** 0.5)
        torch.testing.assert_close(normalized.flatten(), (x.flatten() - 3.0) / (14 / 3 + 0.1) ** 0.5)

    @pytest.mark.parametrize("channels_last", [False, True])
    def test_matches_the_official_formula_and_gradients(self, channels_last):
        x = torch.randn(2, 16, 5, 7) * 3 + 1
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        mean = x.double().mean(1, keepdim=True)
        std = (x.double().var(1, keepdim=True) + 1e-5).sqrt()  # torch's var: unbiased, as the official code
        for fast, ref in zip(pono(x, unbiased=True), ((x.double() - mean) / std, mean, std)):
            assert (fast.double() - ref).abs().max().item() <= 1e-5
        assert (pono(x)[2].double() - std).abs().max() > 1e-3  # the default (biased) differs
        inputs = torch.randn(2, 5, 3, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: pono(t, unbiased=True), (inputs,))

    def test_one_channel_is_refused(self):
        with pytest.raises(ValueError, match="at least 2 channels"):
            pono(torch.randn(1, 1, 2, 2), unbiased=True)


class TestMomentShortcut:
    def test_formula_out_of_place(self):
        x, mean, std = torch.randn(2, 4, 3, 3), torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3)
        x_before = x.clone()
        out = moment_shortcut(x, mean, std)
        torch.testing.assert_close(out, x_before * std + mean)
        torch.testing.assert_close(x, x_before)  # untouched

    @pytest.mark.parametrize(
        "mean_shape", [(2, 1, 4, 3), (3, 1, 3, 3), (2, 2, 3, 3)], ids=["spatial", "batch", "channels"]
    )
    def test_mismatch_names_both_shapes(self, mean_shape):
        x = torch.randn(2, 4, 3, 3)
        with pytest.raises(ValueError) as error:
            moment_shortcut(x, torch.randn(mean_shape), torch.rand(2, 1, 3, 3))
        assert str(tuple(mean_shape)) in str(error.value) and "(2, 4, 3, 3)" in str(error.value)

    def test_gradcheck(self):
        args = [torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True) for _ in range(1)]
        args += [torch.randn(2, 1, 2, 2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
        assert torch.autograd.gradcheck(moment_shortcut, tuple(args))

    def test_module_equals_function(self):
        x, mean, std = torch.randn(2, 4, 3, 3), torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3)
        torch.testing.assert_close(MomentShortcut()(x, Moments(mean, std)), moment_shortcut(x, mean, std))


class TestDynamicMomentShortcut:
    def test_shapes_and_parameter_count(self):
        dms = DynamicMomentShortcut(32, hidden_channels=16)
        out = dms(torch.randn(2, 32, 5, 5), Moments(torch.randn(2, 1, 5, 5), torch.rand(2, 1, 5, 5)))
        assert out.shape == (2, 32, 5, 5)
        assert sum(p.numel() for p in dms.parameters()) == 19 * 16 + 17 * 2 * 32

    def test_starts_as_identity_and_learns(self):
        dms = DynamicMomentShortcut(8)
        x = torch.randn(2, 8, 4, 4)
        moments = Moments(torch.randn(2, 1, 4, 4), torch.rand(2, 1, 4, 4))
        out = dms(x, moments)
        torch.testing.assert_close(out, x)
        out.pow(2).sum().backward()
        assert dms.head.weight.grad.abs().sum() > 0

    def test_gradcheck(self):
        dms = DynamicMomentShortcut(3, hidden_channels=2).double()
        torch.nn.init.normal_(dms.head.weight)  # leave the identity start so every path is exercised
        x = torch.randn(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
        mean = torch.randn(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        std = torch.rand(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda a, m, s: dms(a, Moments(m, s)), (x, mean, std))

    def test_wrong_channels(self):
        with pytest.raises(ValueError, match="built for 8 channels"):
            DynamicMomentShortcut(8)(torch.randn(1, 4, 2, 2), Moments(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)))


def test_create_shortcut():
    assert create_shortcut("none", 4) is None
    assert isinstance(create_shortcut("ms", 4), MomentShortcut)
    x, moments = torch.randn(2, 4, 3, 3), Moments(torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3) + 0.5)
    torch.testing.assert_close(create_shortcut("ms_std", 4)(x, moments), x * moments.std)  # the std alone
    torch.testing.assert_close(create_shortcut("ms", 4)(x, moments), x * moments.std + moments.mean)
    assert isinstance(create_shortcut("dms", 4), DynamicMomentShortcut)
    with pytest.raises(ValueError, match="none, ms, dms"):
        create_shortcut("adain", 4)


def test_traced_pono_equals_eager():
    x = torch.randn(2, 8, 5, 5)
    module = PONO()
    traced = torch.jit.trace(lambda t: module(t)[0], x, check_trace=False)
    torch.testing.assert_close(traced(x), pono(x)[0])
    y = torch.randn(1, 8, 3, 7)  # the trace records tensor ops, not the shapes it was traced with
    torch.testing.assert_close(traced(y), pono(y)[0])
