"""The objectives as written down: each task's generator and discriminator losses are the documented weighted
sums of the documented terms, the GAN losses are their formulas, the image pool swaps, and each parameter group
trains at its own learning rate."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pono_gan.losses import adversarial_loss
from pono_gan.models import MunitConfig
from pono_gan.tasks import DiscriminatorConfig, ImagePool, PairedTask, StyleTask, UnpairedTask
from tests.tasks.helpers import DISCRIMINATOR, GENERATOR, tiny_run, tiny_style_task


def batch(size=16):
    generator = torch.Generator().manual_seed(1)
    return {"A": torch.rand(2, 3, size, size, generator=generator) * 2 - 1,
            "B": torch.rand(2, 3, size, size, generator=generator) * 2 - 1}


class TestGanLosses:
    @pytest.mark.parametrize("real", [True, False])
    def test_formulas(self, real):
        x = torch.randn(2, 1, 5, 5)
        target = 1.0 if real else 0.0
        assert adversarial_loss(x, real, "lsgan") == pytest.approx(((x - target) ** 2).mean().item(), rel=1e-5)
        bce = -(target * F.logsigmoid(x) + (1 - target) * F.logsigmoid(-x)).mean()
        assert adversarial_loss(x, real, "vanilla") == pytest.approx(bce.item(), rel=1e-5)
        hinge = F.relu(1 - x).mean() if real else F.relu(1 + x).mean()
        assert adversarial_loss(x, real, "hinge", for_discriminator=True) == pytest.approx(hinge.item(), rel=1e-5)
        assert adversarial_loss(x, True, "hinge", for_discriminator=False) == pytest.approx(-x.mean().item(), rel=1e-5)

    def test_scales_are_averaged(self):
        scales = [torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)]
        expected = (adversarial_loss(scales[0], True) + adversarial_loss(scales[1], True)) / 2
        assert adversarial_loss(scales, True) == pytest.approx(expected.item())
        assert adversarial_loss(scales, True, scales="sum") == pytest.approx(2 * expected.item())


class TestTaskObjectives:
    @torch.no_grad()
    def test_paired(self):
        task = PairedTask(GENERATOR, DISCRIMINATOR, gan_loss="lsgan", lambda_l1=7.0)
        data = batch()
        loss, logs, fakes = task.generator_loss(data)
        fake = task.generator(data["A"])
        torch.testing.assert_close(fakes["fake_B"], fake)
        assert logs["G_l1"] == pytest.approx(F.l1_loss(fake, data["B"]).item(), rel=1e-5)
        conditional = task.discriminator(torch.cat([data["A"], fake], 1))  # pix2pix: D sees (input, output)
        assert logs["G_gan"] == pytest.approx(adversarial_loss(conditional, True, "lsgan").item(), rel=1e-5)
        assert loss == pytest.approx((logs["G_gan"] + 7.0 * logs["G_l1"]).item(), rel=1e-5)
        loss_d, logs_d = task.discriminator_loss(data, {"fake_B": fake.detach()})
        real = adversarial_loss(task.discriminator(torch.cat([data["A"], data["B"]], 1)), True, "lsgan")
        assert logs_d["D_real"] == pytest.approx(real.item(), rel=1e-5)
        assert loss_d == pytest.approx((0.5 * (logs_d["D_real"] + logs_d["D_fake"])).item(), rel=1e-5)

    @torch.no_grad()
    def test_unpaired(self):
        task = UnpairedTask(GENERATOR, DISCRIMINATOR, lambda_cycle=3.0, lambda_identity=0.25, pool_size=0)
        data = batch()
        loss, logs, fakes = task.generator_loss(data)
        g_ab, g_ba = task.generator_ab, task.generator_ba
        cycle_a = F.l1_loss(g_ba(g_ab(data["A"])), data["A"])
        identity_b = F.l1_loss(g_ab(data["B"]), data["B"])  # G_AB keeps a B image as it is
        assert logs["G_cycle_A"] == pytest.approx(cycle_a.item(), rel=1e-5)
        assert logs["G_identity_B"] == pytest.approx(identity_b.item(), rel=1e-5)
        assert logs["G_gan_AB"] == pytest.approx(
            adversarial_loss(task.discriminator_b(fakes["fake_B"]), True).item(), rel=1e-5)
        expected = (logs["G_gan_AB"] + logs["G_gan_BA"] + 3.0 * (logs["G_cycle_A"] + logs["G_cycle_B"])
                    + 3.0 * 0.25 * (logs["G_identity_A"] + logs["G_identity_B"]))
        assert loss == pytest.approx(expected.item(), rel=1e-5)
        detached = {k: v.detach() for k, v in fakes.items()}
        loss_d, logs_d = task.discriminator_loss(data, detached)
        d_a = 0.5 * (adversarial_loss(task.discriminator_a(data["A"]), True)
                     + adversarial_loss(task.discriminator_a(detached["fake_A"]), False))
        assert logs_d["D_A"] == pytest.approx(d_a.item(), rel=1e-5)
        assert loss_d == pytest.approx((logs_d["D_A"] + logs_d["D_B"]).item(), rel=1e-5)

    @torch.no_grad()
    def test_style(self):
        weights = dict(lambda_gan=2.0, lambda_image=5.0, lambda_content=3.0, lambda_style=0.5, lambda_cycle=4.0)
        task = tiny_style_task(**weights)
        data = batch(32)
        loss, logs, fakes = task.generator_loss(data)
        by_term = {"image": "lambda_image", "content": "lambda_content", "style": "lambda_style", "gan": "lambda_gan",
                   "cycle": "lambda_cycle", "moments": "lambda_content"}  # the official moment loss: recon_c_w
        expected = sum(weights[by_term[name.split("_")[1]]] * value for name, value in logs.items())
        assert len(logs) == 12 and loss == pytest.approx(expected.item(), rel=1e-5)
        g_a = task.generators["A"]
        content, style, moments = g_a.encode(data["A"])
        assert logs["G_image_A"] == pytest.approx(
            F.l1_loss(g_a.decode(content, style, moments), data["A"]).item(), rel=1e-5)
        loss_d, logs_d = task.discriminator_loss(data, {k: v.detach() for k, v in fakes.items()})
        real = adversarial_loss(task.discriminators["A"](data["A"]), True)
        fake = adversarial_loss(task.discriminators["A"](fakes["fake_A"].detach()), False)
        assert logs_d["D_A"] == pytest.approx((real + fake).item(), rel=1e-5)  # MUNIT: no 1/2

    @torch.no_grad()
    def test_style_with_munits_discriminator_sums_its_scales(self):
        """MUNIT's calc_dis_loss / calc_gen_loss: the sum over scales of mean((fake - 0)^2) + mean((real - 1)^2)."""
        task = StyleTask(MunitConfig(base_channels=4, num_blocks=1, mlp_dim=16),
                         DiscriminatorConfig(arch="munit", base_channels=4, num_layers=2, norm="none", num_scales=2,
                                             scale_loss="sum"))
        data = batch(32)
        _, logs, fakes = task.generator_loss(data)
        _, logs_d = task.discriminator_loss(data, {k: v.detach() for k, v in fakes.items()})
        outs_fake = task.discriminators["A"](fakes["fake_A"])
        outs_real = task.discriminators["A"](data["A"])
        expected = sum((f**2).mean() + ((r - 1) ** 2).mean() for f, r in zip(outs_fake, outs_real))
        assert len(outs_fake) == 2 and logs_d["D_A"] == pytest.approx(expected.item(), rel=1e-5)
        assert logs["G_gan_A"] == pytest.approx(sum(((f - 1) ** 2).mean() for f in outs_fake).item(), rel=1e-5)


class TestImagePool:
    def test_it_swaps_half_the_time_for_stored_images(self):
        pool = ImagePool(4, seed=0)
        stored = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2)
        assert torch.equal(pool.query(stored), stored)  # filling: every fake comes back
        fakes = (100 + torch.arange(200.0)).view(200, 1, 1, 1).expand(200, 3, 2, 2)
        out = pool.query(fakes)
        swapped = (out[:, 0, 0, 0] != fakes[:, 0, 0, 0]).sum().item()
        assert 70 <= swapped <= 130  # about half of 200
        earlier = set(range(4)) | set((100 + torch.arange(200.0)).tolist())
        assert set(out[:, 0, 0, 0].tolist()) <= earlier
        assert any(value < 100 for value in out[:, 0, 0, 0].tolist())  # images stored before the batch came back
        assert all(image[0, 0, 0, 0] >= 100 for image in pool.images)  # ... and were replaced by new fakes

    def test_its_choices_continue_across_a_state_dict(self):
        fakes = [torch.randn(3, 3, 2, 2) for _ in range(6)]
        uninterrupted = ImagePool(2, seed=5)
        expected = [uninterrupted.query(f) for f in fakes]
        first = ImagePool(2, seed=5)
        outputs = [first.query(f) for f in fakes[:3]]
        resumed = ImagePool(2, seed=99)
        resumed.load_state_dict(first.state_dict())
        outputs += [resumed.query(f) for f in fakes[3:]]
        assert all(torch.equal(a, b) for a, b in zip(outputs, expected))


@pytest.mark.slow
@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_each_group_trains_at_its_own_rate(frozen, tiny_dataset, tmp_path):
    rates = {"generator": "0" if frozen == "generator" else "2e-4",
             "discriminator": "0" if frozen == "discriminator" else "2e-4"}
    cli = tiny_run(["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"], tiny_dataset, tmp_path / "run",
                   "--trainer.max_steps", "2", "--model.init_args.optimizer.lr_generator", rates["generator"],
                   "--model.init_args.optimizer.lr_discriminator", rates["discriminator"], run=False)
    before = {name: p.detach().clone() for name, p in cli.model.named_parameters()}
    cli.trainer.fit(cli.model, cli.datamodule)
    changed = {name.split(".")[0]: False for name in before}
    for name, parameter in cli.model.named_parameters():
        changed[name.split(".")[0]] |= not torch.equal(parameter, before[name])
    assert changed[frozen] is False and changed["discriminator" if frozen == "generator" else "generator"] is True
