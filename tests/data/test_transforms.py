import pytest
import torch

from pono_gan.data.transforms import PREPROCESS_NAMES, Geometry, Preprocessing, apply_geometry, resize

# (preset, input (H, W)) -> output (H, W) with load_size 40, crop_size 32, size_multiple 8
EXPECTED_SIZES = {
    ("resize_and_crop", (30, 50)): (32, 32),
    ("crop", (30, 50)): None,  # 30 < crop_size: a problem, tested below
    ("crop", (45, 50)): (32, 32),
    ("scale_width", (30, 50)): (24, 40),  # 40 wide, 24 high, both multiples of 8
    ("scale_width", (50, 30)): (64, 40),  # 40 wide, round(50 * 40 / 30) = 67 -> 64
    ("scale_width_and_crop", (50, 30)): (32, 32),
    ("none", (30, 50)): (24, 48),
}


class TestPreprocessing:
    def test_every_preset_is_covered(self):
        assert {preset for preset, _ in EXPECTED_SIZES} == set(PREPROCESS_NAMES)

    @pytest.mark.parametrize(("preset", "size"), [key for key, value in EXPECTED_SIZES.items() if value])
    @pytest.mark.parametrize("train", [True, False])
    def test_output_size(self, preset, size, train):
        pre = Preprocessing(preset, load_size=40, crop_size=32, size_multiple=8)
        expected = EXPECTED_SIZES[(preset, size)]
        assert pre.output_size(*size) == expected
        image = torch.rand(3, *size)
        resized = resize(image, pre.resized_size(*size))
        out = apply_geometry(resized, pre.sample(*resized.shape[-2:], train=train))
        assert tuple(out.shape) == (3, *expected)

    def test_rounding_to_multiple(self):
        pre = Preprocessing("none", size_multiple=4)
        assert pre.output_size(31, 17) == (28, 16)
        assert Preprocessing("crop", crop_size=30, size_multiple=4).output_size(64, 64) == (28, 28)

    def test_eval_takes_centre_without_flip_and_is_deterministic(self):
        pre = Preprocessing("crop", crop_size=4, size_multiple=1)
        assert pre.sample(10, 8, train=False) == Geometry(3, 2, 4, 4, False)
        assert pre.sample(10, 8, train=False) == pre.sample(10, 8, train=False)

    def test_train_samples_inside_and_varies(self):
        pre = Preprocessing("crop", crop_size=4, size_multiple=1)
        geometries = {pre.sample(10, 8, train=True) for _ in range(200)}
        assert all(0 <= g.top <= 6 and 0 <= g.left <= 4 for g in geometries)
        assert {g.flip for g in geometries} == {True, False}
        assert len({(g.top, g.left) for g in geometries}) > 10

    def test_no_flip_when_disabled(self):
        pre = Preprocessing("crop", crop_size=4, flip=False, size_multiple=1)
        assert not any(pre.sample(10, 8, train=True).flip for _ in range(50))

    def test_problems_name_the_fix(self):
        assert "lower crop_size or use preprocess 'resize_and_crop'" in Preprocessing("crop", crop_size=32).fix_hint()
        assert "smaller than crop_size 32" in Preprocessing("crop", crop_size=32).problem(30, 50)
        assert "after resizing" in Preprocessing("scale_width_and_crop", 40, 32).problem(10, 100)
        assert Preprocessing("scale_width_and_crop", 40, 32).problem(100, 10) is None
        assert "size_multiple" in Preprocessing("none", size_multiple=8).problem(5, 50)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="valid presets: resize_and_crop, crop"):
            Preprocessing("zoom")
        with pytest.raises(ValueError, match="crop_size=300: larger than load_size 286.*raise load_size"):
            Preprocessing("resize_and_crop", crop_size=300)
        Preprocessing("crop", load_size=10, crop_size=300)  # load_size does not matter for 'crop'
        with pytest.raises(ValueError, match="size_multiple=0: must be at least 1"):
            Preprocessing(size_multiple=0)

    def test_sample_refuses_small_image(self):
        with pytest.raises(ValueError, match="too small"):
            Preprocessing("crop", crop_size=32).sample(20, 40, train=True)


class TestApplyGeometry:
    def test_window_and_flip(self):
        image = torch.arange(24.0).reshape(1, 4, 6)
        out = apply_geometry(image, Geometry(1, 2, 2, 3, False))
        assert torch.equal(out, image[:, 1:3, 2:5])
        assert torch.equal(apply_geometry(image, Geometry(1, 2, 2, 3, True)), image[:, 1:3, 2:5].flip(-1))

    def test_window_outside_raises(self):
        with pytest.raises(ValueError, match="does not fit"):
            apply_geometry(torch.zeros(1, 4, 4), Geometry(2, 0, 4, 4, False))


class TestResize:
    def test_noop_and_range(self):
        image = torch.rand(3, 8, 8)
        assert resize(image, (8, 8)) is image
        out = resize(torch.randint(0, 2, (3, 8, 8)).float(), (20, 20))
        assert out.shape == (3, 20, 20) and out.min() >= 0 and out.max() <= 1

    def test_commutes_with_inversion(self):
        # what identical pair geometry relies on: resize(1 - x) == 1 - resize(x), clamping included
        image = torch.rand(3, 16, 16)
        assert torch.allclose(resize(1 - image, (40, 40)), 1 - resize(image, (40, 40)), atol=1e-5)
