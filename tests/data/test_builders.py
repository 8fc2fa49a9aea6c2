import json

import kornia
import numpy as np
import pytest
import torch
from PIL import Image

from pono_gan.data import ImageTranslationDataModule, list_images
from pono_gan.data.builders import EDGES2PHOTO_TEST_PHOTOS, build_edges2photo, canny_edges, main

SMALL = dict(size=32, num_train=6, num_test=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_edges2photo(tmp_path_factory.mktemp("edges2photo"), **SMALL)


def pixels(path):
    return np.array(Image.open(path))


def test_layout_names_and_formats(built):
    for split, count in (("train", 6), ("test", 2)):
        a, b = list_images(built / f"{split}A"), list_images(built / f"{split}B")
        assert [p.name for p in a] == [p.name for p in b] and len(a) == count
        for path_a, path_b in zip(a, b):
            sketch, photo = pixels(path_a), pixels(path_b)
            assert sketch.shape == photo.shape == (32, 32, 3)
            assert set(np.unique(sketch)) <= {0, 255}  # dark edges on white
            assert (sketch[..., 0] == sketch[..., 2]).all()
            assert (sketch == 255).mean() > 0.5  # mostly white paper
    assert json.loads((built / "edges2photo.json").read_text())["num_train"] == 6


def test_test_photos_are_not_training_photos(built):
    train_sources = {p.name.rsplit("_", 1)[0] for p in list_images(built / "trainA")}
    test_sources = {p.name.rsplit("_", 1)[0] for p in list_images(built / "testA")}
    assert test_sources <= set(EDGES2PHOTO_TEST_PHOTOS) and not train_sources & test_sources


def test_edges_are_the_canny_edges_of_the_photo(built):
    path = list_images(built / "trainB")[0]
    photo = torch.from_numpy(pixels(path)).permute(2, 0, 1).float()[None] / 255
    sketch = pixels(built / "trainA" / path.name)[..., 0]
    assert np.array_equal(sketch == 0, canny_edges(photo)[0, 0].numpy() == 1)


def test_deterministic_and_idempotent(built, tmp_path):
    again = build_edges2photo(tmp_path / "again", **SMALL)
    for path in list_images(built):
        assert np.array_equal(pixels(path), pixels(again / path.relative_to(built)))
    stamp = {p: p.stat().st_mtime_ns for p in list_images(again)}
    build_edges2photo(again, **SMALL)  # same arguments: nothing rewritten
    assert stamp == {p: p.stat().st_mtime_ns for p in list_images(again)}


def test_refuses_to_mix_with_other_images(built, tmp_path):
    root = build_edges2photo(tmp_path / "other", size=16, num_train=2, num_test=1)
    with pytest.raises(FileExistsError, match="overwrite"):
        build_edges2photo(root, size=16, num_train=3, num_test=1)
    build_edges2photo(root, size=16, num_train=3, num_test=1, seed=1, overwrite=True)
    assert len(list_images(root / "trainA")) == 3


def test_canny_edges_match_kornia_hysteresis():
    from skimage import data

    photo = torch.from_numpy(data.astronaut()[::8, ::8].copy()).permute(2, 0, 1).float()[None] / 255
    _, expected = kornia.filters.canny(photo)  # kornia's own iterative hysteresis
    assert torch.equal(canny_edges(photo), expected)


def test_command_line_and_data_module(tmp_path, capsys):
    root = main(["edges2photo", "--root", str(tmp_path / "cli"), "--size", "32", "--num-train", "3", "--num-test", "1"])
    assert str(root) in capsys.readouterr().out
    module = ImageTranslationDataModule(str(root), load_size=32, crop_size=32, num_workers=0)
    module.setup("fit")
    assert module.val_split == "test" and len(module.train_dataset) == 3
    assert module.sample_batch(1)["A"].shape == (1, 3, 32, 32)


def test_gray2photo_inputs_are_the_luma_of_the_targets(tmp_path):
    import numpy as np
    from PIL import Image

    from pono_gan.data import build_gray2photo

    root = build_gray2photo(tmp_path / "g", size=16, num_train=4, num_test=2)
    a = np.asarray(Image.open(root / "trainA" / sorted(p.name for p in (root / "trainA").iterdir())[0]),
                   dtype=np.float64)
    b = np.asarray(Image.open(root / "trainB" / sorted(p.name for p in (root / "trainB").iterdir())[0]),
                   dtype=np.float64)
    luma = b @ np.array([0.299, 0.587, 0.114])
    assert np.abs(a[..., 0] - luma).max() <= 1.0 and (a[..., 0] == a[..., 2]).all()
    assert (root / "gray2photo.json").is_file() and len(list((root / "testB").iterdir())) == 2


@pytest.mark.slow
def test_build_demo_builds_what_the_demo_trains_on(tmp_path):
    """datasets/build_demo.py and `make demo` (pono_gan.demo) build the same files."""
    from pono_gan.data import build_gray2photo
    from pono_gan.demo import DEMO_DATA
    from tests.helpers import run_python

    result = run_python("datasets/build_demo.py", "--root", tmp_path / "script")
    assert result.returncode == 0, result.stderr[-2000:]
    build_gray2photo(tmp_path / "demo", **DEMO_DATA)
    script, demo = (sorted(p.relative_to(tmp_path / name) for p in list_images(tmp_path / name))
                    for name in ("script", "demo"))
    assert script == demo and len(list_images(tmp_path / "demo" / "testA")) == DEMO_DATA["num_test"]
    assert all((tmp_path / "script" / p).read_bytes() == (tmp_path / "demo" / p).read_bytes() for p in demo[::50])
