import pytest
import torch
import torch.nn.functional as F
from skimage import data as photos

from pono_gan.errors import MissingPathError
from pono_gan.evaluate.features import (
    INCEPTION_ENV,
    INCEPTION_FILE,
    INCEPTION_URL,
    EffNetLite0Features,
    FeatureBank,
    InceptionFeatures,
    WeightsError,
    find_inception_weights,
    frechet_distance,
    inception_cache_path,
    kernel_distance,
    missing_inception_message,
)
from tests.helpers import write_random_inception_weights

pytestmark = pytest.mark.usefixtures("no_inception_weights")


@pytest.fixture(scope="module")
def effnet():
    return EffNetLite0Features()


@pytest.fixture(scope="module")
def photo_crops():
    """16 crops (64 px) of four photos bundled with scikit-image, in [0, 1]."""
    crops = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        image = torch.from_numpy(getattr(photos, name)()).permute(2, 0, 1).float()[None] / 255
        image = F.interpolate(image, size=(128, 128 * image.shape[3] // image.shape[2]), mode="bilinear",
                              antialias=True)[0]
        crops += [image[:, i : i + 64, j : j + 64] for i in (0, 64) for j in (0, 64)]
    return torch.stack(crops)


def _features(extractor, images, batch_size=8):
    bank = FeatureBank(extractor, batch_size)
    bank.add(images)
    return bank.features()


def test_effnet_features_are_pooled_1280_d_and_resize_any_input(effnet):
    images = torch.rand(3, 3, 40, 56)
    features = effnet(images)
    assert features.shape == (3, 1280) and torch.isfinite(features).all()
    assert not effnet.training and not any(p.requires_grad for p in effnet.parameters())
    effnet.train()  # frozen: stays in eval mode (batch norm statistics untouched)
    assert not effnet.training
    torch.testing.assert_close(effnet((images * 255).round().to(torch.uint8)), effnet((images * 255).round() / 255))
    gray = images[:, :1]
    torch.testing.assert_close(effnet(gray), effnet(gray.expand(-1, 3, -1, -1)))


def test_effnet_extractor_is_a_torchmetrics_feature(effnet):
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32) * 0.5
    metric = FrechetInceptionDistance(feature=effnet, normalize=True)  # reads effnet.num_features
    metric.update(real, real=True)
    metric.update(fake, real=False)
    ours = frechet_distance(_features(effnet, real), _features(effnet, fake))
    assert metric.compute().item() == pytest.approx(ours, rel=1e-3)


def test_feature_bank_batches_equal_sizes_and_keeps_every_image(effnet):
    calls = []

    class Spy(torch.nn.Module):
        num_features = 1

        def forward(self, images):
            calls.append(tuple(images.shape))
            return images.mean((1, 2, 3))[:, None]

    bank = FeatureBank(Spy(), batch_size=2)
    for size in (8, 8, 12, 8, 12):
        bank.add(torch.rand(1, 3, size, size))
    assert len(bank) == 5 and bank.features().shape == (5, 1)
    assert sorted(calls) == [(1, 3, 8, 8), (2, 3, 8, 8), (2, 3, 12, 12)]
    assert FeatureBank(effnet).features().shape == (0, 1280)


@pytest.mark.parametrize("count", [40, 100])  # fewer and more samples than dimensions
def test_frechet_distance_equals_torchmetrics_formula(count):
    from torchmetrics.image.fid import _compute_fid

    generator = torch.Generator().manual_seed(count)
    real = torch.randn(count, 64, generator=generator, dtype=torch.float64)
    fake = torch.randn(count + 7, 64, generator=generator, dtype=torch.float64) * 1.5 + 0.2
    expected = _compute_fid(real.mean(0), torch.cov(real.T), fake.mean(0), torch.cov(fake.T)).item()
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(real[:1], fake)


def test_fd_effnet_is_zero_for_identical_sets_and_grows_with_the_damage(effnet, photo_crops):
    targets = _features(effnet, photo_crops)
    blurred = F.avg_pool2d(F.pad(photo_crops, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    noise = torch.rand(photo_crops.shape, generator=torch.Generator().manual_seed(0))
    shuffled = frechet_distance(targets, targets.flip(0))
    fd_blur = frechet_distance(targets, _features(effnet, blurred))
    fd_noise = frechet_distance(targets, _features(effnet, noise))
    assert shuffled < 1e-6  # a set: the order does not matter
    assert 10 < fd_blur < fd_noise / 2, (fd_blur, fd_noise)
    kid_same = kernel_distance(targets, targets)["mean"]
    assert kid_same < 0.01 < kernel_distance(targets, _features(effnet, noise))["mean"]


def test_kid_subset_size_adapts_to_small_sets():
    generator = torch.Generator().manual_seed(0)
    real, fake = torch.randn(5, 16, generator=generator), torch.randn(7, 16, generator=generator) + 1
    result = kernel_distance(real, fake, subsets=10)
    assert result["subset_size"] == 5 and result["subsets"] == 10
    assert result["mean"] > 0 and result["std"] >= 0
    assert kernel_distance(real, fake, subsets=10) == result  # seeded: reproducible
    assert kernel_distance(torch.randn(1200, 4), torch.randn(1100, 4), subsets=2)["subset_size"] == 1000
    with pytest.raises(ValueError, match="at least 2 images in each set, got 1 and 7"):
        kernel_distance(real[:1], fake)


def test_missing_inception_weights_message_names_the_file_the_url_and_where_to_put_it():
    assert find_inception_weights() is None
    message = missing_inception_message()
    assert "\n" not in message
    for part in (INCEPTION_FILE, INCEPTION_URL, "--inception-weights", INCEPTION_ENV,
                 str(inception_cache_path().parent)):
        assert part in message
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert INCEPTION_URL == URL_INCEPTION_V3 and INCEPTION_URL.endswith("/" + INCEPTION_FILE)


def test_inception_weights_are_looked_for_in_the_flag_the_environment_and_torch_hub(tmp_path, monkeypatch):
    with pytest.raises(MissingPathError,
                       match=f"--inception-weights .*nothing.pth: no such file; download {INCEPTION_FILE}"):
        find_inception_weights(tmp_path / "nothing.pth")
    cached = inception_cache_path()
    assert str(cached).startswith(str(tmp_path / "torch_home"))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert find_inception_weights() == cached
    elsewhere = tmp_path / "elsewhere.pth"
    elsewhere.write_bytes(b"")
    monkeypatch.setenv(INCEPTION_ENV, str(elsewhere))
    assert find_inception_weights() == elsewhere
    explicit = tmp_path / "explicit.pth"
    explicit.write_bytes(b"")
    assert find_inception_weights(explicit) == explicit
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "gone.pth"))
    with pytest.raises(MissingPathError, match=INCEPTION_ENV):
        find_inception_weights()


@pytest.mark.slow
def test_inception_features_load_a_local_state_dict(tmp_path):
    """Random weights in the real file's format: proves the loading path and the shapes, not FID values."""
    weights = write_random_inception_weights(tmp_path / INCEPTION_FILE)
    extractor = InceptionFeatures(weights)
    features = extractor(torch.rand(2, 1, 32, 40))
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    assert extractor.weights == weights and extractor.num_features == 2048


def test_a_foreign_weights_file_is_one_line_error(tmp_path):
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    expected = f"wrong.pth: not torch-fidelity's Inception v3 state dict .*{INCEPTION_FILE}"
    with pytest.raises(WeightsError, match=expected) as error:
        InceptionFeatures(wrong)
    assert "\n" not in str(error.value)
    with pytest.raises(WeightsError, match="not an EfficientNet-Lite0 state dict"):
        EffNetLite0Features(wrong)


class _Payload:
    def __reduce__(self):
        return print, ("payload ran",)


def test_a_weights_file_with_code_is_refused_before_it_runs(tmp_path, capsys):
    """torch-fidelity unpickles the weights in full; a file that holds more than tensors never reaches it."""
    rigged = tmp_path / "rigged.pth"
    torch.save({"conv.weight": _Payload()}, rigged)
    with pytest.raises(WeightsError, match="rigged.pth: not torch-fidelity's Inception v3 state dict"):
        InceptionFeatures(rigged)
    assert "payload ran" not in capsys.readouterr().out
