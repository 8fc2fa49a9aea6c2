import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from pono_gan.data import (
    ImageReadError,
    Preprocessing,
    UnreadableImageWarning,
    collate,
    find_pairs,
    image_size,
    load_image,
    make_dataset,
    split_exists,
)
from pono_gan.data.datasets import check_first_images
from pono_gan.errors import DataError
from tests.data import make_aligned, make_paired, make_unpaired, random_rgb, write

CROP = Preprocessing("crop", crop_size=16, size_multiple=4)
RESIZE = Preprocessing("resize_and_crop", load_size=40, crop_size=32, size_multiple=4)


def assert_one_line(error, *names):
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert str(name) in message, message


# ------------------------------------------------------------------------------------------------------- layouts


class TestLayouts:
    @pytest.mark.parametrize("layout", ["aligned", "paired", "unpaired"])
    def test_shapes_range_and_paths(self, tmp_path, layout):
        {"aligned": make_aligned, "paired": make_paired, "unpaired": make_unpaired}[layout](tmp_path)
        dataset = make_dataset(tmp_path, layout, "train", preprocessing=RESIZE, channels=(3, 1))
        assert len(dataset) == (5 if layout == "unpaired" else 3)
        sample = dataset[0]
        assert sample["A"].shape == (3, 32, 32) and sample["B"].shape == (1, 32, 32)
        for key in ("A", "B"):
            assert sample[key].dtype == torch.float32
            assert -1 <= sample[key].min() < 0 < sample[key].max() <= 1
        assert sample["A_path"].startswith(str(tmp_path)) and sample["B_path"].startswith(str(tmp_path))

    def test_paired_matches_on_name_without_extension_and_searches_subfolders(self, tmp_path):
        write(tmp_path / "trainA" / "x" / "1.png", random_rgb(8, 8))
        write(tmp_path / "trainB" / "x" / "1.jpg", random_rgb(8, 8))
        write(tmp_path / "trainA" / "2.png", random_rgb(8, 8))
        write(tmp_path / "trainB" / "2.bmp", random_rgb(8, 8))
        pairs = find_pairs(tmp_path / "trainA", tmp_path / "trainB")
        assert [(a.relative_to(tmp_path).as_posix(), b.relative_to(tmp_path).as_posix()) for a, b in pairs] == [
            ("trainA/2.png", "trainB/2.bmp"),
            ("trainA/x/1.png", "trainB/x/1.jpg"),
        ]

    def test_aligned_halves(self, tmp_path):
        left, right = random_rgb(8, 12, seed=1), random_rgb(8, 12, seed=2)
        write(tmp_path / "train" / "ab.png", np.concatenate([left, right], axis=1))
        pre = Preprocessing("none", size_multiple=4)
        dataset = make_dataset(tmp_path, "aligned", "train", preprocessing=pre, train=False)
        sample = dataset[0]
        assert torch.allclose(sample["A"], torch.from_numpy(left).permute(2, 0, 1) / 127.5 - 1, atol=1e-6)
        assert torch.allclose(sample["B"], torch.from_numpy(right).permute(2, 0, 1) / 127.5 - 1, atol=1e-6)

    @pytest.mark.parametrize("layout", ["aligned", "paired"])
    def test_direction_swaps_input_and_target(self, tmp_path, layout):
        (make_aligned if layout == "aligned" else make_paired)(tmp_path)
        kwargs = dict(preprocessing=CROP, train=False)
        forward = make_dataset(tmp_path, layout, "train", direction="AtoB", **kwargs)[1]
        backward = make_dataset(tmp_path, layout, "train", direction="BtoA", **kwargs)[1]
        assert torch.equal(forward["A"], backward["B"]) and torch.equal(forward["B"], backward["A"])
        assert forward["A_path"] == backward["B_path"]
        if layout == "paired":
            assert "trainB" in backward["A_path"]

    def test_unpaired_direction_swaps_domains(self, tmp_path):
        make_unpaired(tmp_path, count_a=2, count_b=4)
        dataset = make_dataset(tmp_path, "unpaired", "train", preprocessing=CROP, direction="BtoA", channels=(1, 3))
        assert len(dataset) == 4
        assert "trainB" in dataset[0]["A_path"] and "trainA" in dataset[0]["B_path"]

    def test_unpaired_length_cycling_and_random_partner(self, tmp_path):
        make_unpaired(tmp_path, count_a=5, count_b=2)
        dataset = make_dataset(tmp_path, "unpaired", "train", preprocessing=CROP)
        assert len(dataset) == 5
        assert [dataset[i]["A_path"].rsplit("/", 1)[1] for i in range(5)] == [f"a{i}.png" for i in range(5)]
        partners = {dataset[0]["B_path"] for _ in range(30)}
        assert len(partners) == 2  # random B
        evaluation = make_dataset(tmp_path, "unpaired", "train", preprocessing=CROP, train=False)
        assert [evaluation[i]["B_path"].rsplit("/", 1)[1] for i in range(4)] == ["b0.png", "b1.png", "b0.png", "b1.png"]

    def test_limit_keeps_the_first_samples(self, tmp_path):
        make_paired(tmp_path, count=5)
        dataset = make_dataset(tmp_path, "paired", "train", preprocessing=CROP, limit=2)
        assert len(dataset) == 2 and dataset[1]["A_path"].endswith("p1.png")


# --------------------------------------------------------------------------------------------- channels, formats


class TestChannels:
    @pytest.mark.parametrize(
        "kind",
        ["gray", "rgba", "sixteen_bit", "palette"],
    )
    @pytest.mark.parametrize("channels", [(1, 3), (3, 1)])
    def test_conversion(self, tmp_path, kind, channels):
        rgb = random_rgb(16, 16)
        image = {
            "gray": Image.fromarray(rgb[..., 0]),
            "rgba": Image.fromarray(np.dstack([rgb, np.full((16, 16), 128, np.uint8)])),
            "sixteen_bit": Image.fromarray(rgb[..., 0].astype(np.uint16) * 257),
            "palette": Image.fromarray(rgb).convert("P"),
        }[kind]
        write(tmp_path / "trainA" / "x.png", image)
        write(tmp_path / "trainB" / "x.png", image)
        sample = make_dataset(tmp_path, "paired", "train", preprocessing=CROP, channels=channels, train=False)[0]
        assert sample["A"].shape[0] == channels[0] and sample["B"].shape[0] == channels[1]
        assert -1 <= sample["A"].min() and sample["A"].max() <= 1
        if kind == "sixteen_bit":  # 257 * v / 65535 == v / 255: same pixels as the 8-bit image
            expected = torch.from_numpy(rgb[..., 0]).float()[None, :16, :16] / 127.5 - 1
            gray = sample["A"] if channels[0] == 1 else sample["B"]
            assert torch.allclose(gray, expected, atol=1e-5)

    def test_bad_channels(self, tmp_path):
        make_paired(tmp_path)
        with pytest.raises(ValueError, match="1 or 3"):
            make_dataset(tmp_path, "paired", "train", preprocessing=CROP, channels=(4, 3))

    def test_image_size_follows_exif_orientation(self, tmp_path):
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees
        path = write(tmp_path / "rotated.jpg", Image.fromarray(random_rgb(10, 30)), exif=exif)
        assert image_size(path) == (30, 10) == tuple(load_image(path).shape[-2:])
        assert image_size(write(tmp_path / "plain.png", random_rgb(10, 30))) == (10, 30)


# ---------------------------------------------------------------------------------------------------- geometry


class TestPairGeometry:
    @pytest.mark.parametrize("preset", ["resize_and_crop", "crop", "scale_width_and_crop", "scale_width", "none"])
    @pytest.mark.parametrize("layout", ["paired", "aligned"])
    def test_identical_random_geometry(self, tmp_path, layout, preset):
        # B = 1 - A pixelwise on disk; random crops and flips must keep it so: B = -A in [-1, 1]
        (make_aligned if layout == "aligned" else make_paired)(tmp_path, count=2, size=(40, 48))
        pre = Preprocessing(preset, load_size=44, crop_size=24, size_multiple=4)
        dataset = make_dataset(tmp_path, layout, "train", preprocessing=pre)
        firsts = set()
        for _ in range(12):
            sample = dataset[0]
            assert torch.allclose(sample["B"], -sample["A"], atol=1e-5)
            firsts.add(tuple(sample["A"][0, 0, :3].tolist()))
        if pre.crops or pre.flip:
            assert len(firsts) > 1  # the geometry really was random

    def test_geometry_is_a_window_of_the_original(self, tmp_path):
        # with 'crop' the sample is an exact window of the file (maybe mirrored), the same for A and B
        make_paired(tmp_path, count=1, size=(20, 20))
        original = torch.from_numpy(random_rgb(20, 20, seed=0)).permute(2, 0, 1).float() / 127.5 - 1
        pre = Preprocessing("crop", crop_size=8, size_multiple=1)
        dataset = make_dataset(tmp_path, "paired", "train", preprocessing=pre)
        windows = {
            (top, left, flip): original[:, top : top + 8, left : left + 8].flip(-1 if flip else ())
            for top in range(13)
            for left in range(13)
            for flip in (False, True)
        }
        for _ in range(5):
            sample = dataset[0]
            matches = [key for key, window in windows.items() if torch.allclose(window, sample["A"], atol=1e-5)]
            assert len(matches) == 1
            assert torch.allclose(sample["B"], -sample["A"], atol=1e-5)

    def test_target_of_another_size_is_resized_to_the_input_frame(self, tmp_path):
        a = random_rgb(16, 16)
        write(tmp_path / "trainA" / "x.png", a)
        write(tmp_path / "trainB" / "x.png", Image.fromarray(a).resize((32, 32)))
        with pytest.warns(UserWarning, match="1 pairs differ in size.*resized to its input's size"):
            dataset = make_dataset(tmp_path, "paired", "train", preprocessing=Preprocessing("none"))
        sample = dataset[0]
        assert sample["A"].shape == sample["B"].shape == (3, 16, 16)

    def test_batches_through_workers_keep_geometry(self, tmp_path):
        make_paired(tmp_path, count=4, size=(40, 48))
        dataset = make_dataset(tmp_path, "paired", "train", preprocessing=RESIZE)
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=1, collate_fn=collate)
        for batch in loader:
            assert batch["A"].shape == (2, 3, 32, 32)
            assert torch.allclose(batch["B"], -batch["A"], atol=1e-5)
            assert len(batch["A_path"]) == 2


# ------------------------------------------------------------------------------------------------------ errors


class TestErrors:
    def test_the_quick_check_reads_the_input_folder_of_the_direction(self, tmp_path):
        write(tmp_path / "trainA" / "p0.png", random_rgb(16, 16))  # labels smaller than the photos
        write(tmp_path / "trainB" / "p0.png", random_rgb(32, 32))
        crop = Preprocessing("crop", crop_size=32)
        check_first_images(tmp_path, "paired", "train", crop, "BtoA")  # the input is B: it fits
        with pytest.raises(DataError, match="trainA/p0.png is smaller than crop_size 32"):
            check_first_images(tmp_path, "paired", "train", crop, "AtoB")

    def test_missing_split_folders(self, tmp_path):
        with pytest.raises(FileNotFoundError) as error:
            make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        assert_one_line(error, tmp_path / "trainA", tmp_path / "trainB", "layout 'paired'", "datasets/README.md")

    def test_missing_split_suggests_layout(self, tmp_path):
        make_aligned(tmp_path)
        with pytest.raises(FileNotFoundError) as error:
            make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        assert_one_line(error, "did you mean layout 'aligned'")

    def test_half_a_split(self, tmp_path):
        make_paired(tmp_path, split="val")
        for path in (tmp_path / "valB").iterdir():
            path.unlink()
        (tmp_path / "valB").rmdir()
        with pytest.raises(FileNotFoundError) as error:
            split_exists(tmp_path, "paired", "val")
        assert_one_line(error, tmp_path / "valA", tmp_path / "valB")

    def test_empty_folder(self, tmp_path):
        (tmp_path / "trainA").mkdir()
        (tmp_path / "trainB").mkdir()
        write(tmp_path / "trainA" / "notes.txt", random_rgb(2, 2)[..., 0], format="PNG")  # wrong extension
        with pytest.raises(ValueError) as error:
            make_dataset(tmp_path, "unpaired", "train", preprocessing=CROP)
        assert_one_line(error, f"no images in {tmp_path / 'trainA'}")

    def test_files_without_partner_are_listed(self, tmp_path):
        make_paired(tmp_path, count=2)
        for index in range(12):
            write(tmp_path / "trainA" / f"lonely{index:02d}.png", random_rgb(4, 4))
        write(tmp_path / "trainB" / "orphan.jpg", random_rgb(4, 4))
        with pytest.raises(ValueError) as error:
            make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        assert_one_line(error, "12 in", "lonely00.png", "lonely09.png", "(+2 more)", "1 in", "orphan.jpg")
        assert "lonely10.png" not in str(error.value)

    def test_ambiguous_names(self, tmp_path):
        make_paired(tmp_path, count=1)
        write(tmp_path / "trainA" / "p0.jpg", random_rgb(4, 4))
        with pytest.raises(ValueError) as error:
            make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        assert_one_line(error, "p0.png", "p0.jpg")

    @pytest.mark.parametrize(
        ("preset", "hint"),
        [
            ("crop", "lower crop_size or use preprocess 'resize_and_crop'"),
            ("scale_width_and_crop", "lower crop_size or raise load_size"),
        ],
    )
    def test_crop_larger_than_image_names_the_file(self, tmp_path, preset, hint):
        make_paired(tmp_path, count=2, size=(40, 40))
        write(tmp_path / "trainA" / "small.png", random_rgb(10, 40))
        write(tmp_path / "trainB" / "small.png", random_rgb(10, 40))
        with pytest.raises(ValueError) as error:
            make_dataset(tmp_path, "paired", "train", preprocessing=Preprocessing(preset, load_size=40, crop_size=32))
        assert_one_line(error, tmp_path / "trainA" / "small.png", "crop_size 32", hint)


# ----------------------------------------------------------------------------------------------- corrupt files


class TestCorruptFiles:
    def test_unreadable_headers_are_skipped_with_one_warning(self, tmp_path):
        make_paired(tmp_path, count=3)
        for name in ("bad1.png", "bad2.png"):
            (tmp_path / "trainA" / name).write_bytes(b"not an image at all")
            write(tmp_path / "trainB" / name, random_rgb(24, 32))
        with pytest.warns(UnreadableImageWarning) as record:
            dataset = make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        assert len(record) == 1
        message = str(record[0].message)
        assert "skipping 2 of 10 images" in message and "bad1.png" in message and "bad2.png" in message
        assert len(dataset) == 3 and all("bad" not in pair[0].name for pair in dataset.pairs)

    def test_all_unreadable_is_an_error(self, tmp_path):
        (tmp_path / "train").mkdir()
        (tmp_path / "train" / "x.png").write_bytes(b"\x89PNG broken")
        with pytest.warns(UnreadableImageWarning), pytest.raises(ValueError) as error:
            make_dataset(tmp_path, "aligned", "train", preprocessing=CROP)
        assert_one_line(error, "no readable images", tmp_path / "train")

    def test_refusing_instead_of_skipping(self, tmp_path):
        make_paired(tmp_path, count=1)
        (tmp_path / "trainA" / "p0.png").write_bytes(b"junk")
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnreadableImageWarning)
            with pytest.raises(UnreadableImageWarning, match="p0.png"):
                make_dataset(tmp_path, "paired", "train", preprocessing=CROP)

    def test_truncated_body_is_skipped_in_getitem(self, tmp_path):
        make_paired(tmp_path, count=3, size=(64, 64))
        broken = tmp_path / "trainB" / "p1.png"
        data = broken.read_bytes()
        broken.write_bytes(data[: len(data) // 2])  # the header still opens
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnreadableImageWarning)  # no warning at setup
            dataset = make_dataset(tmp_path, "paired", "train", preprocessing=CROP, train=False)
        with pytest.warns(UnreadableImageWarning, match="p1.png"):
            sample = dataset[1]
        assert sample["A_path"].endswith("p2.png")
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnreadableImageWarning)  # known bad: skipped quietly
            assert dataset[1]["A_path"].endswith("p2.png")
        assert len(dataset) == 3

    def test_every_sample_unreadable(self, tmp_path):
        make_paired(tmp_path, count=1, size=(64, 64))
        path = tmp_path / "trainA" / "p0.png"
        path.write_bytes(path.read_bytes()[:80])
        dataset = make_dataset(tmp_path, "paired", "train", preprocessing=CROP)
        with pytest.warns(UnreadableImageWarning), pytest.raises(ImageReadError, match="every sample"):
            dataset[0]


def test_collate_names_mismatched_sizes(tmp_path):
    write(tmp_path / "trainA" / "a.png", random_rgb(16, 16))
    write(tmp_path / "trainA" / "b.png", random_rgb(16, 24))
    write(tmp_path / "trainB" / "c.png", random_rgb(16, 16))
    dataset = make_dataset(tmp_path, "unpaired", "train", preprocessing=Preprocessing("none"), train=False)
    with pytest.raises(ValueError) as error:
        collate([dataset[0], dataset[1]])
    assert_one_line(error, "a.png", "b.png", "batch_size 1")
