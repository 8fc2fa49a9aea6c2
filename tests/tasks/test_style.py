import os

import pytest
import torch
from torch import nn

from pono_gan.checkpoint import CheckpointError, munit_from_checkpoint, read_checkpoint
from pono_gan.inference import InferenceError, InferenceOptions, load_model, run_inference
from pono_gan.layers import PONO, DynamicMomentShortcut
from pono_gan.models import MunitConfig, MunitGenerator, MunitPatchDiscriminator, translate
from pono_gan.tasks import DiscriminatorConfig, StyleTask
from tests.tasks.helpers import tiny_run, tiny_style_task

STYLE = ["configs/style/base.yaml"]
# 32 px crops: a third discriminator scale (8 px) is too small for the tiny 2-layer PatchGAN.
TWO_SCALES = ("--model.init_args.discriminator.num_scales", "2")


def batch(size=32):
    generator = torch.Generator().manual_seed(0)
    return {"A": torch.rand(2, 3, size, size, generator=generator) * 2 - 1,
            "B": torch.rand(2, 3, size, size, generator=generator) * 2 - 1}


def biases_cancelled_by_instance_norm(module: nn.Module) -> set[str]:
    """Biases of convs followed directly by an affine-free InstanceNorm, which subtracts every per-channel constant:
    their gradient is zero up to rounding (junyanz's rule keeps them; harmless)."""
    names = set()
    for prefix, m in module.named_modules():
        if isinstance(m, nn.Sequential):
            children = list(m.named_children())
            for (name, first), (_, second) in zip(children, children[1:]):
                if isinstance(first, nn.Conv2d) and isinstance(second, nn.InstanceNorm2d) and first.bias is not None:
                    names.add(f"{prefix}.{name}.bias")
        if hasattr(m, "pono") and m.pono is None and isinstance(getattr(m, "norm", None), nn.InstanceNorm2d):
            names.add(f"{prefix}.conv.bias")  # a downsampling stage without PONO between conv and norm
    return names


@pytest.mark.parametrize("shortcut", ["none", "ms", "dms"])
def test_generator_loss_reaches_every_generator_parameter(shortcut):
    task = tiny_style_task(shortcut, lambda_cycle=1.0)
    with task.frozen(task.discriminators):
        loss, logs, fakes = task.generator_loss(batch())
    loss.backward()
    kinds = ("image", "content", "style", "gan", "cycle") + (("moments",) if shortcut != "none" else ())
    expected = {f"G_{kind}_{d}" for kind in kinds for d in "AB"}
    assert set(logs) == expected and set(fakes) == {"fake_A", "fake_B"}
    assert all(p.grad is None for p in task.discriminators.parameters())  # frozen for the generator pass
    cancelled = biases_cancelled_by_instance_norm(task.generators)
    assert cancelled  # the rule below is exercised
    for name, parameter in task.generators.named_parameters():
        assert parameter.grad is not None, name
        if name in cancelled:
            assert parameter.grad.abs().max() < 1e-5, name
        elif ".shortcut.trunk." in name:
            # a fresh DMS's head has zero weights (identity start): nothing reaches its trunk at step 0, but the
            # head's own gradient is non-zero, so the trunk learns from step 1
            assert parameter.grad.abs().max() == 0, name
        else:
            assert parameter.grad.abs().sum() > 0, name


def test_discriminator_loss_and_log_images():
    task = tiny_style_task("dms", num_sample_styles=2).eval()
    data = batch()
    with torch.no_grad():
        _, _, fakes = task.generator_loss(data)
        loss, logs = task.discriminator_loss(data, fakes)
        scores = {f"D_{d}_{kind}_score_s{scale}" for d in "AB" for kind in ("real", "fake", "constant")
                  for scale in (0, 1)}
        assert set(logs) == {"D_A", "D_B"} | scores and torch.isfinite(loss)
        panels = task.log_images(data)
        again = task.log_images(data)
    assert set(panels) == {"styles_AtoB", "styles_BtoA", "moments_A", "moments_B"}
    # content | style example | guided result | 2 random styles, one row per sample, 2 px padding, labels above
    grid = (2 + 2 * 34, 2 + 5 * 34)
    assert panels["styles_AtoB"].shape[2] == grid[1] and panels["styles_AtoB"].shape[1] > grid[0]
    # content | mean and std of 2 stages
    assert panels["moments_A"].shape == panels["styles_AtoB"].shape
    for name in panels:  # the random styles are fixed, so panels compare across steps
        torch.testing.assert_close(panels[name], again[name])
    baseline = tiny_style_task("none").eval()
    with torch.no_grad():
        assert set(baseline.log_images(data)) == {"styles_AtoB", "styles_BtoA"}


def test_forward_translates_with_a_given_or_random_style():
    task = tiny_style_task("ms").eval()
    data = batch()
    style = torch.randn(2, 8)
    with torch.no_grad():
        expected = translate(task.generator_a, task.generator_b, data["A"], style)
        torch.testing.assert_close(task(data["A"], style), expected)
        assert task(data["B"], direction="BtoA").shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="unknown direction"):
        task(data["A"], direction="AtoC")


def test_gray_domain_a():
    task = StyleTask(MunitConfig(in_channels=1, base_channels=4, num_blocks=1, mlp_dim=16),
                     DiscriminatorConfig(base_channels=4, num_layers=2, num_scales=2))
    assert task.image_channels == (1, 3)
    data = {"A": torch.rand(2, 1, 32, 32) * 2 - 1, "B": batch()["B"]}
    _, _, fakes = task.generator_loss(data)
    assert fakes["fake_A"].shape == (2, 1, 32, 32) and fakes["fake_B"].shape == (2, 3, 32, 32)


@pytest.mark.parametrize("shared", [False, True])
def test_compile_takes_every_network_a_training_step_calls(shared):
    """``train.py --compile`` compiles each of compiled_networks' forward: a training step (the discriminators' fakes,
    the generator loss, the discriminator loss) must call each of them, and every module holding parameters only
    from inside one of them (not the generators' forward, which a style step never calls)."""
    task = tiny_style_task("ms", shared_content_encoder=shared)
    networks = task.compiled_networks()
    assert {id(p) for n in networks for p in n.parameters()} == {id(p) for p in task.parameters()}
    called, depth, outside = set(), [0], []

    def enter(module, inputs):
        depth[0] += 1
        called.add(id(module))

    def leave(module, inputs, output):
        depth[0] -= 1

    for network in networks:
        network.register_forward_pre_hook(enter)
        network.register_forward_hook(leave)
    for name, module in task.named_modules():
        if next(module.parameters(recurse=False), None) is not None:
            module.register_forward_pre_hook(lambda m, i, name=name: outside.append(name) if not depth[0] else None)
    data = batch()
    with torch.no_grad():
        task.discriminator_fakes(data)
    _, _, fakes = task.generator_loss(data)
    task.discriminator_loss(data, fakes)
    assert called == {id(n) for n in networks} and outside == []


@pytest.mark.slow
def test_tiny_training_run_checkpoint_reproduces_outputs(tiny_dataset, tmp_path):
    cli = tiny_run(STYLE + ["configs/style/pono_dms.yaml"], tiny_dataset, tmp_path / "run", "--trainer.max_steps", "2",
                   *TWO_SCALES, "--data.layout", "unpaired", "--trainer.val_check_interval", "2",
                   "--images.every_n_steps", "2", logger="CSVLogger")
    model = cli.model
    assert isinstance(model, StyleTask) and cli.trainer.global_step == 2
    assert [g["name"] for g in cli.trainer.optimizers[0].param_groups] == ["generator", "discriminator"]
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1e-4)
    assert "val/recon_l1_A" in cli.trainer.callback_metrics
    assert os.path.isfile(tmp_path / "run" / "samples" / "styles_AtoB_latest.png")
    assert os.path.isfile(tmp_path / "run" / "samples" / "moments_A_latest.png")

    path = tmp_path / "run" / "checkpoints" / "last.ckpt"
    checkpoint = read_checkpoint(path)  # weights_only=True: plain data only
    meta = checkpoint["pono_gan"]
    assert meta["task"] == "style" and meta["direction"] is None and set(meta["generators"]) == {"A", "B"}
    assert meta["variant"] == "pono_dms" and meta["data"]["channels"] == [3, 3]
    assert meta["generators"]["A"]["config"]["arch"] == "munit"
    assert meta["generators"]["A"]["prefix"] == "generator_a."

    model.eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    style = torch.randn(1, 8)
    rebuilt = {d: munit_from_checkpoint(checkpoint, d, path) for d in "AB"}
    assert all(isinstance(g, MunitGenerator) and not g.training for g in rebuilt.values())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt["A"](x, style), model.generator_a(x, style))
        torch.testing.assert_close(translate(rebuilt["A"], rebuilt["B"], x, style), model(x, style))
        reloaded = StyleTask.load_from_checkpoint(path).eval()
        torch.testing.assert_close(reloaded(x, style), model(x, style))
    assert isinstance(reloaded.generator_config, MunitConfig)
    assert any(isinstance(m, DynamicMomentShortcut) for m in rebuilt["B"].modules())

    # inference rebuilds one direction from the file alone and runs example-guided and random styles end to end
    with pytest.raises(InferenceError, match="pass --direction"):
        load_model(path)
    with torch.no_grad():
        torch.testing.assert_close(load_model(path, "AtoB").generator(x, style), model(x, style))
    with pytest.raises(CheckpointError, match="has no C generator"):
        munit_from_checkpoint(checkpoint, "C", path)
    images = sorted((tiny_dataset / "testA").iterdir())[:2]
    options = InferenceOptions(direction="AtoB", style=str(sorted((tiny_dataset / "testB").iterdir())[0]), num_styles=2,
                               save_moments=True, progress=False, workers=0)
    summary = run_inference(path, images[0].parent, tmp_path / "styled", options)
    outputs = sorted(p.name for p in (tmp_path / "styled").iterdir())
    assert summary.failed == 0 and summary.written == 3 * len(list(images[0].parent.iterdir())) > 0
    assert (f"{images[0].stem}_random1{images[0].suffix}" in outputs
            and f"{images[0].stem}_random1_moments.png" in outputs)


@pytest.mark.slow
def test_wandb_logger_is_grouped_and_tagged_for_the_style_task(tiny_dataset, tmp_path):
    cli = tiny_run(STYLE + ["configs/style/pono_ms.yaml"], tiny_dataset, tmp_path / "run", *TWO_SCALES,
                   logger="pono_gan.logging.loggers.WandbLogger", run=False)
    logger = cli.config["trainer"]["logger"]
    logger = logger[0] if isinstance(logger, list) else logger
    assert logger.init_args.group == "style"
    assert {"style", "munit", "instance", "shortcut-ms", "pono_ms"} <= set(logger.init_args.tags)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["instance", "group", "pono_ms", "pono_dms", "pono_ms_official", "instance_shared",
                                     "pono_ms_shared", "pono_ms_std"])
def test_every_style_config_trains(variant, tiny_dataset, tmp_path):
    cli = tiny_run(STYLE + [f"configs/style/{variant}.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2", *TWO_SCALES)
    assert cli.trainer.global_step == 2  # iterations, not optimizer steps
    config = cli.model.generator_config
    assert isinstance(config, MunitConfig)
    assert config.pono == variant.startswith("pono")
    assert config.shortcut == {"pono_ms": "ms", "pono_dms": "dms", "pono_ms_official": "ms",
                               "pono_ms_shared": "ms", "pono_ms_std": "ms_std"}.get(variant, "none")
    shared = cli.model.generator_a.content_encoder is cli.model.generator_b.content_encoder
    assert shared == variant.endswith("_shared")
    assert (config.placement, config.pono_unbiased) == (("official", True) if variant.endswith("official")
                                                     else ("pono_gan", False))
    assert config.norm == ("group" if variant == "group" else "instance")
    for generator in cli.model.generators.values():
        assert any(isinstance(m, PONO) for m in generator.modules()) == config.pono
    assert cli.datamodule.hparams.layout == "unpaired"
    discriminator = cli.model.discriminator_config
    assert (discriminator.arch, discriminator.scale_loss, discriminator.init_type) == ("munit", "sum", "normal")
    assert all(isinstance(scale, MunitPatchDiscriminator)
               for d in cli.model.discriminators.values() for scale in d.discriminators)
    assert os.path.isfile(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert os.path.isfile(tmp_path / "run" / "config.yaml")


def test_discriminators_take_their_own_init_as_munit_does():
    """MUNIT: Kaiming everywhere, then N(0, 0.02) for the discriminators (init_type: normal on the discriminator)."""
    def conv_std(module):
        return torch.cat([m.weight.flatten() for m in module.modules() if isinstance(m, torch.nn.Conv2d)]).std().item()

    generator = MunitConfig(base_channels=8, num_blocks=1, mlp_dim=16)
    own = StyleTask(generator, DiscriminatorConfig(arch="munit", base_channels=16, num_layers=3, init_type="normal"))
    inherited = StyleTask(generator, DiscriminatorConfig(arch="munit", base_channels=16, num_layers=3))
    assert own.init_type == "kaiming" and conv_std(own.generators["A"]) > 0.05
    assert conv_std(own.discriminators["A"]) == pytest.approx(0.02, rel=0.05)
    assert conv_std(inherited.discriminators["A"]) > 0.05  # Kaiming, as the task's init_type


def test_the_moment_loss_is_the_official_trainers_formula():
    """trainer_pono.py's recon_criterion on (content, [(mean, std), ...]): F.l1_loss(c', c) plus, per PONO stage,
    F.l1_loss(mean', mean) + F.l1_loss(std', std); weighted by recon_c_w (our lambda_content), both directions."""
    task = tiny_style_task("ms", lambda_content=2.0)
    data = batch()
    torch.manual_seed(1)
    _, logs, _ = task.generator_loss(data)
    torch.manual_seed(1)  # the same random styles again, written out by hand
    import torch.nn.functional as F

    codes = {d: task.generators[d].encode(data[d]) for d in "AB"}
    for source, target in (("A", "B"), ("B", "A")):
        content, _, moments = codes[source]
        fake = task.generators[target].decode(content, task.generators[target].random_style(2), moments)
        content_again, _, moments_again = task.generators[target].encode(fake)
        official = sum(F.l1_loss(m1.mean, m2.mean) + F.l1_loss(m1.std, m2.std)
                       for m1, m2 in zip(moments_again, moments))
        assert len(moments) == 2
        torch.testing.assert_close(logs[f"G_moments_{source}"], official)
        torch.testing.assert_close(logs[f"G_content_{source}"], F.l1_loss(content_again, content))
    # the total counts it at the content weight; moment_loss=False leaves it out
    off = tiny_style_task("ms", lambda_content=2.0, moment_loss=False)
    off.load_state_dict(task.state_dict())
    torch.manual_seed(1)
    loss_on, _, _ = task.generator_loss(data)
    torch.manual_seed(1)
    loss_off, logs_off, _ = off.generator_loss(data)
    assert not any(name.startswith("G_moments") for name in logs_off)
    torch.testing.assert_close(loss_on - loss_off, 2.0 * (logs["G_moments_A"] + logs["G_moments_B"]))


def test_a_shared_content_encoder_is_one_module_trained_and_saved_for_both_domains(tiny_dataset, tmp_path):
    cli = tiny_run(STYLE + ["configs/style/pono_ms_shared.yaml"], tiny_dataset, tmp_path / "run", "--trainer.max_steps",
                   "2", *TWO_SCALES)
    task = cli.model
    encoder = task.generator_a.content_encoder
    assert encoder is task.generator_b.content_encoder
    optimized = [p for group in task.optimizers().optimizer.param_groups for p in group["params"]]
    assert len(optimized) == len({id(p) for p in optimized})  # once in the optimizer, not twice
    # each direction of the checkpoint holds the shared encoder, with the trained weights
    for direction in ("AtoB", "BtoA"):
        model = load_model(tmp_path / "run" / "checkpoints" / "last.ckpt", direction)
        torch.testing.assert_close(model.generator.source.content_encoder.state_dict(), encoder.state_dict())
    with pytest.raises(ValueError, match="shared_content_encoder needs one channel count for both domains"):
        StyleTask(MunitConfig(in_channels=1, out_channels=3, base_channels=4, num_blocks=1, mlp_dim=16),
                  shared_content_encoder=True)
