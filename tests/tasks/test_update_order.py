"""Each task updates in its reference's order, observed on real two-step runs: pix2pix (paired) and MUNIT (style)
discriminator first, CycleGAN (unpaired) simultaneous; the iteration count stays the iteration count."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from tests.tasks.helpers import tiny_run, tiny_style_task

PAIRED = ["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"]
STEPS = 2


class Recorder(pl.Callback):
    """The weights at the start of training, every batch it trains on, and the generator's training forwards."""

    def __init__(self) -> None:
        self.batches: list[dict[str, torch.Tensor]] = []
        self.generator_forwards = 0

    def on_train_start(self, trainer, module) -> None:
        self.generator = copy.deepcopy(module.generator)
        self.discriminator = copy.deepcopy(module.discriminator)
        module.generator.register_forward_hook(self._count)

    def _count(self, module, args, output) -> None:
        self.generator_forwards += torch.is_grad_enabled()  # validation and image panels run without gradients

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.batches.append({key: batch[key].clone() for key in ("A", "B")})


def trained_paired(tiny_dataset, run_dir, *extra):
    cli = tiny_run(PAIRED, tiny_dataset, run_dir, "--trainer.max_steps", str(STEPS), "--data.flip", "false",
                   "--model.init_args.generator.dropout", "0", *extra, run=False)
    recorder = Recorder()
    cli.trainer.callbacks.append(recorder)
    cli.trainer.fit(cli.model, cli.datamodule)
    assert cli.trainer.global_step == STEPS and len(recorder.batches) == STEPS  # iterations, not optimizer steps
    assert recorder.generator_forwards == STEPS  # either order runs the generator once a step (pix2pix reuses G(A))
    return cli.model, recorder


def pix2pix_loop(task, recorder, discriminator_first: bool):
    """junyanz's ``Pix2PixModel.optimize_parameters`` with its two Adams (``discriminator_first``), or the same
    losses with both gradients taken before either update (CycleGAN's order). The Adams run the task's kernel (fused
    or not): the order is what is compared, and parameters whose gradient is rounding noise (biases before a norm)
    move by about +-lr under either kernel, in a direction the rounding decides."""
    generator, discriminator = copy.deepcopy(recorder.generator), copy.deepcopy(recorder.discriminator)
    o = task.optimizer_config
    fused = task.trainer.optimizers[0].param_groups[0]["fused"]
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=o.lr_generator, betas=(o.beta1, o.beta2), fused=fused)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=o.lr_discriminator, betas=(o.beta1, o.beta2),
                                   fused=fused)

    def loss_d(real_a, real_b, fake_b):
        fake = task.adversarial(discriminator(torch.cat([real_a, fake_b.detach()], 1)), False, True)
        real = task.adversarial(discriminator(torch.cat([real_a, real_b], 1)), True, True)
        return 0.5 * (fake + real)

    def loss_g(real_a, real_b, fake_b):
        gan = task.adversarial(discriminator(torch.cat([real_a, fake_b], 1)), True, False)
        return gan + task.lambda_l1 * F.l1_loss(fake_b, real_b)

    for batch in recorder.batches:
        real_a, real_b = batch["A"], batch["B"]
        fake_b = generator(real_a)
        if discriminator_first:
            discriminator.requires_grad_(True)
            optimizer_d.zero_grad()
            loss_d(real_a, real_b, fake_b).backward()
            optimizer_d.step()
            discriminator.requires_grad_(False)
            optimizer_g.zero_grad()
            loss_g(real_a, real_b, fake_b).backward()
            optimizer_g.step()
        else:
            optimizer_g.zero_grad()
            optimizer_d.zero_grad()
            discriminator.requires_grad_(False)
            generator_loss = loss_g(real_a, real_b, fake_b)
            discriminator.requires_grad_(True)
            (generator_loss + loss_d(real_a, real_b, fake_b)).backward()
            optimizer_g.step()
            optimizer_d.step()
    return generator, discriminator


def max_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("order", ["discriminator_first", "simultaneous"])
def test_paired_training_is_the_pix2pix_loop(order, tiny_dataset, tmp_path):
    extra = [] if order == "discriminator_first" else ["--model.init_args.update_order", order]
    task, recorder = trained_paired(tiny_dataset, tmp_path / "run", *extra)
    assert task.update_order == order  # discriminator_first is the paired default (pix2pix's)
    generator, discriminator = pix2pix_loop(task, recorder, discriminator_first=order == "discriminator_first")
    assert max_difference(task.generator, generator) < 1e-6
    assert max_difference(task.discriminator, discriminator) < 1e-6
    other, _ = pix2pix_loop(task, recorder, discriminator_first=order != "discriminator_first")
    assert max_difference(task.generator, other) > 1e-5  # the order is visible in two steps


def test_unpaired_has_cyclegans_order_only():
    from pono_gan.tasks import UnpairedTask
    from tests.tasks.helpers import DISCRIMINATOR, GENERATOR

    assert UnpairedTask(GENERATOR, DISCRIMINATOR).update_order == "simultaneous"
    with pytest.raises(ValueError, match="UnpairedTask updates in its reference's order only"):
        UnpairedTask(GENERATOR, DISCRIMINATOR, update_order="discriminator_first")
    with pytest.raises(ValueError, match="unknown update_order 'generator_first'"):
        UnpairedTask(GENERATOR, DISCRIMINATOR, update_order="generator_first")


class StyleSpy:
    """Records, for one MUNIT training step, the style codes its passes draw (the image panels' seeded codes
    aside) and the discriminator weights the generator's adversarial term sees."""

    def __init__(self, task) -> None:
        self.codes: list[torch.Tensor] = []
        self.seen_by_generator: list[torch.Tensor] = []
        for generator in task.generators.values():
            original = generator.random_style

            def record(n, generator=None, _original=original):
                code = _original(n, generator)
                if generator is None:
                    self.codes.append(code.clone())
                return code

            generator.random_style = record
        head = task.discriminators["B"]
        head.register_forward_pre_hook(self._seen)
        self.task = task

    def _seen(self, module, args):
        if torch.is_grad_enabled() and not next(module.parameters()).requires_grad:  # the generator's pass
            self.seen_by_generator.append(next(module.parameters()).detach().clone())


@pytest.mark.slow
def test_style_training_is_munits_dis_update_then_gen_update(tiny_dataset, tmp_path):
    cli = tiny_run(["configs/style/base.yaml", "configs/style/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "1", "--model.init_args.discriminator.num_scales", "2", run=False)
    task = cli.model
    assert task.update_order == "discriminator_first"
    before = next(task.discriminators["B"].parameters()).detach().clone()
    spy = StyleSpy(task)
    cli.trainer.fit(task, cli.datamodule)
    assert cli.trainer.global_step == 1
    # dis_update draws a code per domain, then gen_update draws its own: four draws, no two alike.
    assert (len(spy.codes) == 4
            and all(not torch.equal(a, b) for i, a in enumerate(spy.codes) for b in spy.codes[i + 1:]))
    # The generator's adversarial term sees the discriminator after its update.
    (seen,) = spy.seen_by_generator
    assert not torch.equal(seen, before)


def test_style_simultaneous_order_is_available():
    task = tiny_style_task(update_order="simultaneous")
    assert task.update_order == "simultaneous" and tiny_style_task().update_order == "discriminator_first"
