"""Unit tests for pono_gan.inference: model loading, planning, padding, tiling, moments, the run loop, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pono_gan.checkpoint import CheckpointError
from pono_gan.data.io import load_image_and_alpha
from pono_gan.inference import (
    InferenceError,
    InferenceOptions,
    Job,
    Summary,
    Translator,
    export_generator,
    load_model,
    min_input_size,
    moments_panel,
    pad_to_multiple,
    plan_jobs,
    resolve_device,
    run_inference,
    translate_jobs,
)
from pono_gan.inference.geometry import BlendAccumulator, ramp_window, tile_starts
from pono_gan.inference.jobs import remove_stale_temporaries
from pono_gan.inference.model import precision_warning, resolve_precision
from pono_gan.models import build_generator, init_weights
from tests.helpers import tiny_config, write_image_zoo, write_tiny_checkpoint
from tests.requirements import requires_module

QUIET = dict(progress=False, workers=0)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zoo")
    return folder, write_image_zoo(folder)


@pytest.fixture
def paired(tmp_path):
    return write_tiny_checkpoint(tmp_path / "paired.ckpt")


def _generator(**overrides):
    return init_weights(build_generator(tiny_config(**overrides))).eval()


class TestLoadModel:
    def test_paired_rebuilds_generator_from_checkpoint_alone(self, tmp_path):
        path = write_tiny_checkpoint(tmp_path / "p.ckpt", in_channels=1, out_channels=3, seed=3)
        model = load_model(path)
        assert (model.direction, model.task, model.config.in_channels, model.multiple) == ("AtoB", "paired", 1, 4)
        assert not model.generator.training
        saved = torch.load(path, weights_only=True)["state_dict"]
        for name, value in model.generator.state_dict().items():
            torch.testing.assert_close(value, saved["generator." + name])

    def test_paired_keeps_its_trained_direction(self, tmp_path):
        assert load_model(write_tiny_checkpoint(tmp_path / "p.ckpt", direction="BtoA")).direction == "BtoA"

    def test_direction_on_paired_model_is_an_error(self, paired):
        with pytest.raises(InferenceError, match="paired model .* drop --direction"):
            load_model(paired, "BtoA")

    def test_unpaired_needs_and_honours_direction(self, tmp_path):
        path = write_tiny_checkpoint(tmp_path / "u.ckpt", task="unpaired")
        with pytest.raises(InferenceError, match="--direction AtoB or --direction BtoA"):
            load_model(path)
        x = torch.rand(1, 3, 16, 16) * 2 - 1
        forward, backward = load_model(path, "AtoB"), load_model(path, "BtoA")
        assert backward.direction == "BtoA"
        with torch.no_grad():
            assert not torch.allclose(forward.generator(x), backward.generator(x))

    @pytest.mark.parametrize("kind", ["missing", "foreign", "truncated", "garbage", "unbuildable"])
    def test_bad_checkpoints_give_one_line_errors(self, tmp_path, kind):
        path = tmp_path / "model.ckpt"
        if kind == "foreign":
            torch.save({"state_dict": {}}, path)
        elif kind == "truncated":
            data = write_tiny_checkpoint(tmp_path / "full.ckpt").read_bytes()
            path.write_bytes(data[: len(data) // 2])
        elif kind == "garbage":
            path.write_bytes(b"not a checkpoint at all")
        elif kind == "unbuildable":  # a stored config this version refuses (a resnet of 0 blocks)
            checkpoint = torch.load(write_tiny_checkpoint(tmp_path / "full.ckpt"), weights_only=False)
            checkpoint["pono_gan"]["generators"]["AtoB"]["config"]["num_blocks"] = 0
            torch.save(checkpoint, path)
        with pytest.raises(CheckpointError) as info:
            load_model(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)

    def test_four_channel_generator_is_refused(self, tmp_path):
        with pytest.raises(InferenceError, match="4 input channels"):
            load_model(write_tiny_checkpoint(tmp_path / "p.ckpt", data_module=False, in_channels=4))


class TestPlanJobs:
    def test_tree_is_mirrored_and_names_kept(self, zoo, tmp_path):
        folder, sizes = zoo
        jobs = plan_jobs(folder, tmp_path / "out")
        assert {job.source.relative_to(folder).as_posix() for job in jobs} == set(sizes)
        for job in jobs:
            assert job.target == tmp_path / "out" / job.source.relative_to(folder)
            assert job.moments is None

    def test_extension_and_moments(self, zoo, tmp_path):
        jobs = plan_jobs(zoo[0], tmp_path / "out", extension="PNG", save_moments=True)
        nested = next(job for job in jobs if job.source.name == "deep.png")
        assert nested.target == tmp_path / "out" / "nested" / "deeper" / "deep.png"
        assert nested.moments == tmp_path / "out" / "nested" / "deeper" / "deep_moments.png"
        assert {job.target.suffix for job in jobs} == {".png"}

    def test_not_recursive(self, zoo, tmp_path):
        jobs = plan_jobs(zoo[0], tmp_path / "out", recursive=False)
        assert jobs and all(job.source.parent == zoo[0] for job in jobs)

    def test_single_file(self, zoo, tmp_path):
        (job,) = plan_jobs(zoo[0] / "photo.jpg", tmp_path / "out", extension="png")
        assert job.target == tmp_path / "out" / "photo.png"

    @pytest.mark.parametrize("where", ["same", "inside"])
    def test_output_in_input_is_refused(self, zoo, where):
        output = zoo[0] if where == "same" else zoo[0] / "nested" / "results"
        with pytest.raises(InferenceError, match="input folder"):
            plan_jobs(zoo[0], output)

    def test_file_that_would_overwrite_itself_is_refused(self, zoo):
        with pytest.raises(InferenceError, match="overwrite it"):
            plan_jobs(zoo[0] / "ordinary.png", zoo[0])

    def test_colliding_outputs_are_refused(self, tmp_path):
        for name in ("a.png", "a.jpg"):
            Image.new("RGB", (8, 8)).save(tmp_path / name)
        with pytest.raises(InferenceError, match="would both write"):
            plan_jobs(tmp_path, tmp_path.parent / "out_collide", extension="png")

    def test_missing_and_empty_inputs(self, tmp_path):
        with pytest.raises(InferenceError, match="input not found"):
            plan_jobs(tmp_path / "nowhere", tmp_path / "out")
        (tmp_path / "empty" / "sub").mkdir(parents=True)
        (tmp_path / "empty" / "notes.txt").write_text("no images here")
        with pytest.raises(InferenceError, match="no images found"):
            plan_jobs(tmp_path / "empty", tmp_path / "out")

    def test_unknown_extension(self, zoo, tmp_path):
        with pytest.raises(InferenceError, match="unknown output extension"):
            plan_jobs(zoo[0], tmp_path / "out", extension="xyz")


class TestPadding:
    @pytest.mark.parametrize("size", [(1, 1), (3, 5), (27, 37), (32, 32)])
    def test_pad_then_crop_is_identity(self, size):
        x = torch.rand(2, 3, *size)
        padded, (top, left) = pad_to_multiple(x, 4, minimum=8)
        assert padded.shape[-2] % 4 == 0 and padded.shape[-1] % 4 == 0 and min(padded.shape[-2:]) >= 8
        torch.testing.assert_close(padded[..., top : top + size[0], left : left + size[1]], x)

    def test_reflect_where_possible(self):
        x = torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 6, 6)
        padded, (top, left) = pad_to_multiple(x, 4)
        assert (top, left) == (1, 1) and padded[0, 0, 0, 0] == x[0, 0, 0, 1]  # reflected, not replicated

    def test_min_input_size(self):
        assert min_input_size(_generator()) == 8
        assert min_input_size(_generator(arch="unet", num_downsampling=3)) == 8


class TestTranslator:
    @pytest.mark.parametrize("size", [(3, 5), (1, 1), (27, 37), (32, 48)])
    def test_output_size_equals_input_size(self, size):
        outputs, moments = Translator(_generator())(torch.rand(2, 3, *size))
        assert outputs.shape == (2, 3, *size) and outputs.min() >= 0 and outputs.max() <= 1
        assert moments == [[], []]

    def test_unet_and_grayscale(self):
        generator = _generator(arch="unet", num_downsampling=3, in_channels=1, out_channels=1, norm="batch")
        outputs, _ = Translator(generator)(torch.rand(1, 1, 13, 9))
        assert outputs.shape == (1, 1, 13, 9)

    def test_batch_equals_one_by_one(self):
        translator = Translator(_generator())
        images = torch.rand(3, 3, 20, 28)
        together, _ = translator(images)
        alone = torch.cat([translator(image[None])[0] for image in images])
        torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)

    def test_moments_are_per_image_and_cropped(self):
        outputs, moments = Translator(_generator(), with_moments=True)(torch.rand(2, 3, 27, 37))
        assert len(moments) == 2 and len(moments[0]) == 2
        assert moments[0][0].mean.shape == (1, 1, 14, 19) and moments[0][1].std.shape == (1, 1, 7, 10)
        panel = moments_panel(moments[1])
        assert panel.shape == (3, 2 * 14 + 6, 2 * 19 + 6)

    def test_moments_need_pono(self):
        with pytest.raises(InferenceError, match="PONO"):
            Translator(_generator(pono=False, shortcut="none"), with_moments=True)

    def test_single_tile_equals_whole_image(self):
        generator = _generator()
        image = torch.rand(1, 3, 30, 26)
        whole, whole_moments = Translator(generator, with_moments=True)(image)
        tiled, tiled_moments = Translator(generator, tile=32, with_moments=True)(image)
        torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=1e-5)
        for a, b in zip(whole_moments[0], tiled_moments[0]):
            torch.testing.assert_close(a.mean, b.mean, atol=1e-5, rtol=1e-5)

    def test_tiles_bound_the_input_size_and_stay_close_to_whole_image(self):
        generator = _generator(norm="none")
        seen = []
        generator.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
        image = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 16), size=(96, 130), mode="bilinear")
        tiled, _ = Translator(generator, tile=32, tile_overlap=8, batch_size=3)(image)
        assert tiled.shape == image.shape
        assert seen and all(shape[0] <= 3 and shape[-2:] == (32, 32) for shape in seen)
        seen.clear()
        whole, _ = Translator(generator)(image)
        assert (tiled - whole).abs().mean() < 0.02  # PONO is per position; only the borders see other context

    def test_tile_must_respect_the_multiple(self):
        with pytest.raises(InferenceError, match="multiples of 4"):
            Translator(_generator(), tile=30)
        with pytest.raises(InferenceError, match="tile-overlap"):
            Translator(_generator(), tile=32, tile_overlap=32)

    def test_window_and_tile_positions(self):
        window = ramp_window(16, 4, True, True)
        assert window.min() > 0 and window[4:12].eq(1).all() and window[0] < window[3]
        assert ramp_window(8, 4, False, False).eq(1).all()
        assert tile_starts(100, 32, 24) == [0, 24, 48, 68] and tile_starts(20, 32, 24) == [0]

    def test_bf16_autocast_is_close_to_fp32(self):
        generator = _generator()
        image = torch.rand(1, 3, 16, 16)
        reference, _ = Translator(generator)(image)
        low, _ = Translator(generator, precision="bf16")(image)
        assert (low - reference).abs().max() < 0.1

    def test_unknown_precision(self):
        with pytest.raises(InferenceError, match="precision"):
            Translator(_generator(), precision="8")

    def test_train_mode_is_junyanzs_test_without_eval(self):
        # pix2pix's U-Net: batch norm and dropout, the two layers whose behaviour eval mode changes
        generator = init_weights(build_generator(
            tiny_config(arch="unet", norm="batch", dropout=0.5, num_downsampling=6)))
        with torch.no_grad():  # running statistics far from the batch's, so eval and train mode disagree
            for m in generator.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.fill_(0.5)
                    m.running_var.fill_(4.0)
        image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        evaluated = Translator(generator)(image)[0]
        assert not generator.training
        trained = Translator(generator, train_mode=True, seed=3)(image)[0]
        assert generator.training and (trained - evaluated).abs().max() > 1e-2
        torch.manual_seed(3)
        with torch.no_grad():  # what junyanz's test.py computes: the train-mode forward, dropout drawn from the seed
            expected = (generator.train()(image * 2 - 1) + 1) / 2
        torch.testing.assert_close(trained, expected.clamp(0, 1))
        torch.testing.assert_close(Translator(generator, train_mode=True, seed=3)(image)[0], trained)  # reproducible
        assert (Translator(generator, train_mode=True, seed=4)(image)[0] - trained).abs().max() > 1e-3  # dropout on


class TestRun:
    def test_zoo(self, zoo, paired, tmp_path):
        folder, sizes = zoo
        warnings: list[str] = []
        summary = run_inference(paired, folder, tmp_path / "out", InferenceOptions(**QUIET), warnings.append)
        readable = {name: size for name, size in sizes.items() if size}
        assert (summary.written, summary.skipped, summary.failed) == (len(readable), 0, 2)
        assert sorted(warnings) == sorted(summary.failures) and len(warnings) == 2
        assert any("truncated.png" in w for w in warnings) and any("not_an_image.png" in w for w in warnings)
        for name, size in readable.items():
            with Image.open(tmp_path / "out" / name) as image:
                assert image.size == size, name
        _, alpha = load_image_and_alpha(tmp_path / "out" / "rgba.png")
        _, source_alpha = load_image_and_alpha(folder / "rgba.png")
        torch.testing.assert_close(alpha, source_alpha)
        again = run_inference(paired, folder, tmp_path / "out", InferenceOptions(**QUIET), warnings.append)
        assert (again.written, again.skipped, again.failed) == (0, len(readable), 2)

    def test_drop_alpha_overwrite_and_moments(self, zoo, paired, tmp_path):
        source = zoo[0] / "rgba.png"
        options = InferenceOptions(keep_alpha=False, save_moments=True, extension="png", **QUIET)
        summary = run_inference(paired, source, tmp_path / "out", options)
        assert summary.written == 1
        with Image.open(tmp_path / "out" / "rgba.png") as image:
            assert image.mode == "RGB" and image.size == (24, 16)
        with Image.open(tmp_path / "out" / "rgba_moments.png") as panel:
            assert panel.size == (2 * 12 + 6, 2 * 8 + 6)
        assert run_inference(paired, source, tmp_path / "out", options).skipped == 1
        assert run_inference(paired, source, tmp_path / "out", InferenceOptions(overwrite=True, **QUIET)).written == 1

    def test_workers_batches_load_size_and_tiles(self, zoo, paired, tmp_path):
        seen = []
        model = load_model(paired)
        model.generator.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
        jobs = plan_jobs(zoo[0], tmp_path / "out", extension="png")
        summary = translate_jobs(model, jobs, InferenceOptions(progress=False, workers=2, batch_size=3, load_size=16))
        assert summary.written == len(jobs) - 2 and summary.failed == 2
        assert all(min(shape[-2:]) == 16 for shape in seen)  # shorter side 16 (already a multiple of 4)
        assert max(shape[0] for shape in seen) > 1  # same-size images were batched
        with Image.open(tmp_path / "out" / "odd_size.png") as image:
            assert image.size == (37, 27)  # resized back
        seen.clear()
        tiled = translate_jobs(model, jobs[:3], InferenceOptions(tile=16, overwrite=True, **QUIET))
        assert tiled.written == 3 and seen and all(max(shape[-2:]) <= 16 for shape in seen)

    def test_load_size_train_reads_the_checkpoint(self, zoo, tmp_path):
        path = write_tiny_checkpoint(tmp_path / "p.ckpt", data={"load_size": 20, "crop_size": 16})
        seen = []
        model = load_model(path)
        model.generator.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
        jobs = plan_jobs(zoo[0] / "ordinary.png", tmp_path / "out")
        translate_jobs(model, jobs, InferenceOptions(load_size="train", **QUIET))
        assert seen == [(1, 3, 20, 20)]

    def test_out_of_memory_names_the_image_and_suggests_tiles(self, zoo, paired, tmp_path):
        model = load_model(paired)

        def exhausted(module, args):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        model.generator.register_forward_pre_hook(exhausted)
        jobs = plan_jobs(zoo[0], tmp_path / "out")[:3]
        warnings: list[str] = []
        summary = translate_jobs(model, jobs, InferenceOptions(**QUIET), warnings.append)
        assert summary.failed == 3 and summary.written == 0
        assert all("out of memory" in w and "--tile" in w and "\n" not in w for w in warnings)

    def test_stale_temporaries_are_removed(self, tmp_path):
        job = Job(tmp_path / "in.png", tmp_path / "out" / "a.png")
        (tmp_path / "out").mkdir()
        stale = tmp_path / "out" / ".a.png.x1y2z3.part"
        unrelated = tmp_path / "out" / ".b.png.x1y2z3.part"
        stale.write_bytes(b"half a png")
        unrelated.write_bytes(b"someone else's")
        assert remove_stale_temporaries([job]) == 1
        assert not stale.exists() and unrelated.exists()

    def test_moments_on_a_model_without_pono(self, zoo, tmp_path):
        path = write_tiny_checkpoint(tmp_path / "p.ckpt", pono=False, shortcut="none")
        with pytest.raises(InferenceError, match="--save-moments needs a PONO generator"):
            run_inference(path, zoo[0], tmp_path / "out", InferenceOptions(save_moments=True, **QUIET))

    def test_summary_line(self):
        line = Summary(written=6, skipped=1, failed=2, seconds=3.0).line()
        assert line == "6 written, 1 skipped, 2 failed in 3.0 s (2.00 images/s)"


class TestDeviceAndPrecision:
    def test_resolve_device(self, monkeypatch):
        assert resolve_device("cpu") == torch.device("cpu")
        with pytest.raises(InferenceError, match="unsupported device|unknown device"):
            resolve_device("tpu")
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(InferenceError, match="no CUDA GPU"):
            resolve_device("cuda")

    def test_emulated_precision_warns(self, monkeypatch):
        import pono_gan.inference.model as inference

        monkeypatch.setattr(inference, "cpu_has_native", lambda dtype: False)
        assert "emulated" in precision_warning("bf16", torch.device("cpu"))
        assert precision_warning("32", torch.device("cpu")) is None
        monkeypatch.setattr(inference, "cpu_has_native", lambda dtype: True)
        assert precision_warning("bf16", torch.device("cpu")) is None

    def test_auto_precision_is_bf16_where_the_device_has_it(self, monkeypatch):
        import pono_gan.inference.model as inference
        from pono_gan.inference.choices import PRECISION_NAMES

        assert set(PRECISION_NAMES) == {"auto", *inference.PRECISIONS}
        cpu = torch.device("cpu")
        monkeypatch.setattr(inference, "auto_bf16", lambda device: (True, "a test CPU with bf16"))
        assert resolve_precision("auto", cpu) == ("bf16", "precision bf16 (auto: a test CPU with bf16; --precision 32 "
                                                          "or bf16 overrides)")
        assert resolve_precision("32", cpu) == ("32", None)  # a named precision stays
        monkeypatch.setattr(inference, "auto_bf16", lambda device: (False, "no native bfloat16 on this CPU"))
        assert resolve_precision("auto", cpu)[0] == "32" and resolve_precision("bf16", cpu) == ("bf16", None)


class TestExport:
    @pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
    @pytest.mark.parametrize("shortcut", ["ms", "dms"])
    def test_torchscript_equals_eager(self, tmp_path, shortcut):
        model = load_model(write_tiny_checkpoint(tmp_path / "p.ckpt", shortcut=shortcut))
        path = export_generator(model, "torchscript", tmp_path / "g.pt")
        extra = {"pono_gan.json": ""}
        loaded = torch.jit.load(str(path), _extra_files=extra)
        assert json.loads(extra["pono_gan.json"])["multiple"] == 4
        x = torch.rand(2, 3, 24, 40) * 2 - 1  # another batch and size than the traced example
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), model.generator(x), atol=1e-5, rtol=1e-4)
        assert not list(tmp_path.glob(".*.part"))

    @requires_module("onnxscript", "pip install -e '.[test]' (ONNX export is the optional 'export' extra)")
    @requires_module("onnxruntime", "pip install -e '.[test]' (ONNX export is the optional 'export' extra)")
    def test_onnx_equals_eager(self, tmp_path):
        import onnxruntime

        model = load_model(write_tiny_checkpoint(tmp_path / "u.ckpt", task="unpaired"), "BtoA")
        path = export_generator(model, "onnx", tmp_path / "g.onnx")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["image"]
        metadata = session.get_modelmeta().custom_metadata_map
        assert metadata["direction"] == "BtoA" and metadata["multiple"] == "4"
        x = torch.rand(2, 3, 24, 40) * 2 - 1
        (output,) = session.run(None, {"image": x.numpy()})
        with torch.no_grad():
            np.testing.assert_allclose(output, model.generator(x).numpy(), atol=1e-5, rtol=1e-4)

    @pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
    @pytest.mark.parametrize("export_format", ["torchscript", pytest.param("onnx", marks=[
        requires_module("onnxscript", "pip install -e '.[test]' (ONNX export is the optional 'export' extra)"),
        requires_module("onnxruntime", "pip install -e '.[test]' (ONNX export is the optional 'export' extra)")])])
    def test_style_models_export_a_code_graph_and_an_example_graph_equal_to_eager(self, tmp_path, export_format):
        if export_format == "onnx":
            import onnxruntime
        model = load_model(write_tiny_checkpoint(tmp_path / "s.ckpt", task="style"), "AtoB")
        path = export_generator(model, export_format,
                                tmp_path / f"g.{'pt' if export_format == 'torchscript' else 'onnx'}")
        example_file = tmp_path / f"g_example.{'pt' if export_format == 'torchscript' else 'onnx'}"
        assert example_file.is_file()
        x = torch.rand(2, 3, 24, 40) * 2 - 1  # another batch and size than the traced example
        codes = torch.randn(2, model.generator.style_dim)
        examples = torch.rand(2, 3, 20, 28) * 2 - 1  # style examples of yet another size
        with torch.no_grad():
            expected_code = model.generator(x, codes)
            expected_example = model.generator(x, model.generator.encode_style(examples))
        if export_format == "torchscript":
            extra = {"pono_gan.json": ""}
            by_code = torch.jit.load(str(path), _extra_files=extra)
            by_example = torch.jit.load(str(example_file))
            with torch.no_grad():
                outputs = by_code(x, codes), by_example(x, examples)
            metadata = json.loads(extra["pono_gan.json"])
        else:
            sessions = [onnxruntime.InferenceSession(str(f), providers=["CPUExecutionProvider"])
                        for f in (path, example_file)]
            assert ([[i.name for i in s.get_inputs()] for s in sessions]
                    == [["image", "style"], ["image", "style_example"]])
            outputs = (torch.from_numpy(sessions[0].run(None, {"image": x.numpy(), "style": codes.numpy()})[0]),
                       torch.from_numpy(
                           sessions[1].run(None, {"image": x.numpy(), "style_example": examples.numpy()})[0]))
            metadata = sessions[0].get_modelmeta().custom_metadata_map
        torch.testing.assert_close(outputs[0], expected_code, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(outputs[1], expected_example, atol=1e-5, rtol=1e-4)
        assert int(metadata["style_dim"]) == 8 and "style codes" in metadata["style"]

    def test_unknown_format(self, paired, tmp_path):
        with pytest.raises(InferenceError, match="unknown export format"):
            export_generator(load_model(paired), "tflite", tmp_path / "g.tflite")


def test_images_written_atomically_get_the_permissions_of_a_plain_write(tmp_path):
    import os

    from pono_gan.data.io import save_image

    plain = tmp_path / "plain.png"
    plain.write_bytes(b"")  # what open() makes under this process's umask
    written = save_image(torch.rand(3, 8, 8), tmp_path / "out.png")
    assert os.stat(written).st_mode & 0o777 == os.stat(plain).st_mode & 0o777  # not mkstemp's 0600


def test_blending_recovers_a_constant_image_and_strides_respect_the_multiple():

    translator = Translator(_generator(norm="none"), tile=16, tile_overlap=6)
    assert (translator.stride, translator.overlap) == (8, 8)  # stride rounded down to the multiple (4)
    accumulator = BlendAccumulator(1, 40, 44)
    for y in tile_starts(40, 16, translator.stride):
        for x in tile_starts(44, 16, translator.stride):
            accumulator.add(torch.full((1, 16, 16), 0.25), y, x, translator._window(y, x, 16, 16, 40, 44, 1))
    assert accumulator.weight.min() > 0
    torch.testing.assert_close(accumulator.result(), torch.full((1, 40, 44), 0.25))


@pytest.mark.slow
@pytest.mark.parametrize("task", ["paired", "unpaired"])
def test_checkpoint_written_by_training(task, tiny_dataset, tmp_path):
    """The contract end to end: a 2-step training run's last.ckpt translates testA with no other input."""
    from tests.tasks.helpers import tiny_run

    cli = tiny_run([f"configs/{task}/base.yaml", f"configs/{task}/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2")
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    direction = None if task == "paired" else "BtoA"
    options = InferenceOptions(direction=direction, save_moments=True, **QUIET)
    summary = run_inference(checkpoint, tiny_dataset / "testA", tmp_path / "out", options)
    assert (summary.written, summary.failed) == (2, 0)
    trained = cli.model.generators["generator" if task == "paired" else "BtoA"].eval()
    first = sorted((tiny_dataset / "testA").iterdir())[0]
    image, _ = load_image_and_alpha(first)
    with torch.no_grad():
        expected = ((trained(image[None] * 2 - 1)[0] + 1) / 2).clamp(0, 1)
    written, _ = load_image_and_alpha(tmp_path / "out" / first.name)
    assert (written - expected).abs().max() <= 1 / 255 + 1e-6  # equal up to 8-bit rounding
    assert (tmp_path / "out" / f"{first.stem}_moments.png").is_file()
