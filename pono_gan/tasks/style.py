"""Example-guided style transfer between two unpaired domains (MUNIT), with an optional PONO-MS content path.

One :class:`pono_gan.models.MunitGenerator` per domain (``G_A``, ``G_B``), one multi-scale discriminator per
domain (``D_A``, ``D_B``). Per training iteration, with ``(c_A, s_A, m_A) = G_A.encode(A)`` (content, style,
PONO moments), random styles ``z_A, z_B ~ N(0, I)`` and likewise for B:

* image reconstruction: ``|G_A.decode(c_A, s_A, m_A) - A|`` (and B), weight ``lambda_image`` (10);
* cross-domain translation: ``fake_B = G_B.decode(c_A, z_B, m_A)``, ``fake_A = G_A.decode(c_B, z_A, m_B)``;
  the moments travel with the content;
* latent reconstruction: ``(c_A', s_B', m_A') = G_B.encode(fake_B)``, content ``|c_A' - c_A|`` (weight
  ``lambda_content``, 1) and style ``|s_B' - z_B|`` (``lambda_style``, 1), and the same for ``fake_A``; with PONO
  (``moment_loss``, on by default) also the moments, ``sum over stages |mean' - mean| + |std' - std|`` at the
  content weight, as the official MUNIT + PONO-MS trainer (``trainer_pono.py``, ``recon_criterion``) has it;
* adversarial: ``D_B`` on ``fake_B`` and ``D_A`` on ``fake_A`` (``lambda_gan``, 1; LSGAN in MUNIT);
* optional cycle reconstruction: ``|G_A.decode(c_A', s_A, m_A') - A|`` (``lambda_cycle``, 0 by default, as
  MUNIT's ``recon_x_cyc_w`` in most of its configs).

MUNIT's optional VGG perceptual term is not implemented: it needs ImageNet-pretrained VGG weights.
``configs/style/base.yaml`` sets MUNIT's discriminator (``arch: munit``, 3 scales, losses summed over them,
N(0, 0.02) init). The learning-rate schedule is ours (constant then linear decay; MUNIT halves the rate every 100k
iterations); docs/differences.md lists the rest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pono_gan.logging.viz import moment_labels, moment_maps, sample_panel, to_unit_range
from pono_gan.models import MunitConfig, build_munit, init_weights, translate
from pono_gan.tasks.base import DiscriminatorConfig, GANTask, OptimizerConfig, UpdateOrder

__all__ = ["StyleTask"]

DOMAINS = ("A", "B")


def _l1(prediction: Tensor, target: Tensor) -> Tensor:
    return F.l1_loss(prediction.float(), target.float())  # in float32 under mixed precision


def _median_image(images: Tensor) -> Tensor:
    """One image of the batch's per-channel median colour everywhere, (1, C, H, W)."""
    colour = images.detach().transpose(0, 1).flatten(1).median(1).values
    return colour.view(1, -1, 1, 1).expand(1, -1, *images.shape[-2:]).contiguous()


def _moment_l1(moments: list, targets: list) -> Tensor:
    """The official trainer's moment term (``recon_criterion`` on ``(content, [(mean, std), ...])``): an L1 on each
    PONO stage's mean and one on its std, summed."""
    return sum((_l1(m.mean, t.mean) + _l1(m.std, t.std) for m, t in zip(moments, targets, strict=True)),
               torch.zeros((), device=moments[0].mean.device))


class StyleTask(GANTask):
    """MUNIT: two style generators and two multi-scale discriminators for unpaired domains A and B.

    Batches are ``{"A": images, "B": images}`` in [-1, 1] (the ``unpaired`` data layout). The losses are listed in
    the module docstring. ``G_A`` encodes and decodes A images (``generator.in_channels`` channels), ``G_B`` B
    images (``generator.out_channels``); both share every other setting, so their content codes are compatible.

    Args:
        generator: architecture of both generators (:class:`pono_gan.models.MunitConfig`).
        discriminator: discriminator settings (MUNIT's, set in ``configs/style/base.yaml``: ``arch`` munit,
            ``num_scales`` 3, ``num_layers`` 4, ``norm`` none, ``scale_loss`` sum, ``init_type`` normal).
        optimizer: Adam and LR schedule (MUNIT's in ``configs/style/base.yaml``: lr 1e-4 for both, betas (0.5, 0.999)).
        gan_loss: ``lsgan | vanilla | hinge`` (MUNIT: lsgan).
        lambda_gan: weight of the adversarial terms (MUNIT's ``gan_w``).
        lambda_image: weight of the within-domain image reconstruction L1 (``recon_x_w``).
        lambda_content: weight of the content-code reconstruction L1 (``recon_c_w``).
        lambda_style: weight of the style-code reconstruction L1 (``recon_s_w``).
        lambda_cycle: weight of the cycle reconstruction L1 (``recon_x_cyc_w``; 0 skips its decoder passes).
        num_sample_styles: random styles per content in the logged panels (fixed across steps).
        init_type: weight init of all networks (MUNIT: kaiming).
        init_gain: its scale (for normal / xavier / orthogonal).
        update_order: ``discriminator_first`` (MUNIT's ``dis_update`` then ``gen_update``, each with style codes of
            its own) or ``simultaneous`` (see :mod:`pono_gan.tasks.base`).
        moment_loss: with PONO, the official MUNIT + PONO-MS trainer's moment reconstruction: an L1 between the
            PONO mean and std of each stage of the input's encoding and those of its translation re-encoded by the
            other domain's encoder, weighted by ``lambda_content`` (its ``recon_c_w``), in both directions. Meant to
            make one encoder's moments mean the same to the other domain's decoder; it did not undo opposite signs
            in the pilot (``docs/pilot_style.md``): a translation drawn inverted, re-encoded by an encoder whose
            features have the opposite sign, gives moments close to the input's. No effect without PONO.
        shared_content_encoder: one content encoder for both domains (not MUNIT's, which has one per domain): the
            content codes and PONO moments then come from the same network whichever domain an image is from, so a
            decoder reads another domain's moments as its own (each checkpointed generator still holds the whole
            encoder). Needs one channel count for both domains.
    """

    task_name = "style"
    generator_config_class = MunitConfig

    def __init__(
        self,
        generator: MunitConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        optimizer: OptimizerConfig | None = None,
        gan_loss: Literal["lsgan", "vanilla", "hinge"] = "lsgan",
        lambda_gan: float = 1.0,
        lambda_image: float = 10.0,
        lambda_content: float = 1.0,
        lambda_style: float = 1.0,
        lambda_cycle: float = 0.0,
        num_sample_styles: int = 3,
        init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "kaiming",
        init_gain: float = 0.02,
        update_order: UpdateOrder = "discriminator_first",
        moment_loss: bool = True,
        shared_content_encoder: bool = False,
    ) -> None:
        super().__init__(generator, discriminator, optimizer, gan_loss, init_type, init_gain, update_order)
        self.moment_loss = moment_loss
        self.shared_content_encoder = shared_content_encoder
        self.lambda_gan = lambda_gan
        self.lambda_image = lambda_image
        self.lambda_content = lambda_content
        self.lambda_style = lambda_style
        self.lambda_cycle = lambda_cycle
        self.num_sample_styles = num_sample_styles
        self.save_hyperparameters(
            "gan_loss", "lambda_gan", "lambda_image", "lambda_content", "lambda_style", "lambda_cycle",
            "num_sample_styles", "init_type", "init_gain", "update_order", "moment_loss", "shared_content_encoder",
        )
        configs = self.domain_configs
        self.generator_a = self._new_generator(configs["A"])
        self.generator_b = self._new_generator(configs["B"])
        if shared_content_encoder:
            if configs["A"].in_channels != configs["B"].in_channels:
                raise ValueError(f"shared_content_encoder needs one channel count for both domains, got "
                                 f"{configs['A'].in_channels} (A) and {configs['B'].in_channels} (B)")
            self.generator_b.content_encoder = self.generator_a.content_encoder  # one module, in both generators
        self.discriminator_a = self._new_discriminator(configs["A"].in_channels)
        self.discriminator_b = self._new_discriminator(configs["B"].in_channels)
        self.generators = nn.ModuleDict({"A": self.generator_a, "B": self.generator_b})
        self.discriminators = nn.ModuleDict({"A": self.discriminator_a, "B": self.discriminator_b})

    def compiled_networks(self) -> list[nn.Module]:
        """A training step calls the generators' encoders and decoders, not their forward."""
        parts = [getattr(g, name) for g in self.generators.values()
                 for name in ("content_encoder", "style_encoder", "decoder")]
        return [*parts, *self.discriminators.values()]

    def _new_generator(self, config: MunitConfig) -> nn.Module:  # type: ignore[override]
        return init_weights(build_munit(config), self.init_type, self.init_gain)

    @property
    def domain_configs(self) -> dict[str, MunitConfig]:
        """Each domain's generator config: it encodes and decodes that domain's channel count."""
        g = self.generator_config
        return {
            "A": replace(g, in_channels=g.in_channels, out_channels=g.in_channels),
            "B": replace(g, in_channels=g.out_channels, out_channels=g.out_channels),
        }

    def checkpoint_generators(self) -> dict[str, tuple[str, MunitConfig]]:  # type: ignore[override]
        """Keyed by domain, not direction: translation pairs one domain's encoder with the other's decoder."""
        configs = self.domain_configs
        return {"A": ("generator_a", configs["A"]), "B": ("generator_b", configs["B"])}

    def forward(self, images: Tensor, style: Tensor | None = None, direction: str = "AtoB") -> Tensor:
        """Translate ``images`` (``AtoB`` or ``BtoA``) with ``style`` codes (B, style_dim); random ones if None."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"unknown direction {direction!r}; valid: AtoB, BtoA")
        source, target = direction[0], direction[-1]
        source_g, target_g = self.generators[source], self.generators[target]
        if style is None:
            style = target_g.random_style(images.shape[0])
        return translate(source_g, target_g, images, style)

    # ----- losses ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def discriminator_fakes(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """MUNIT's ``dis_update``: each domain's content in fresh random styles of the other (only the
        discriminators learn from them, so no graph is kept)."""
        fakes = {}
        for source, target in (("A", "B"), ("B", "A")):
            content, moments = self.generators[source].encode_content(batch[source])
            style = self.generators[target].random_style(content.shape[0])
            fakes[f"fake_{target}"] = self.generators[target].decode(content, style, moments)
        return fakes

    def generator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor] | None = None):
        """MUNIT's ``gen_update`` (``fakes``, the discriminator step's, are not reused: it draws styles anew)."""
        real = {"A": batch["A"], "B": batch["B"]}
        codes = {d: self.generators[d].encode(real[d]) for d in DOMAINS}  # (content, style, moments)
        logs: dict[str, Tensor] = {}
        fakes: dict[str, Tensor] = {}
        loss = real["A"].new_zeros((), dtype=torch.float32)
        for source, target in (("A", "B"), ("B", "A")):
            g_source, g_target = self.generators[source], self.generators[target]
            content, style, moments = codes[source]
            random_style = g_target.random_style(content.shape[0])
            fake = g_target.decode(content, random_style, moments)
            content_again, style_again, moments_again = g_target.encode(fake)
            terms = {
                f"G_image_{source}": (self.lambda_image, _l1(g_source.decode(content, style, moments), real[source])),
                f"G_content_{source}": (self.lambda_content, _l1(content_again, content)),
                **({f"G_moments_{source}": (self.lambda_content, _moment_l1(moments_again, moments))}
                   if self.moment_loss and moments else {}),
                f"G_style_{target}": (self.lambda_style, _l1(style_again, random_style)),
                f"G_gan_{target}": (self.lambda_gan, self.adversarial(self.discriminators[target](fake), True, False)),
            }
            if self.lambda_cycle > 0:
                cycle = g_source.decode(content_again, style, moments_again)
                terms[f"G_cycle_{source}"] = (self.lambda_cycle, _l1(cycle, real[source]))
            for name, (weight, value) in terms.items():
                loss = loss + weight * value
                logs[name] = value
            fakes[f"fake_{target}"] = fake
        return loss, logs, fakes

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor]):
        logs = {}
        for domain in DOMAINS:
            discriminator = self.discriminators[domain]
            real_logits, fake_logits = discriminator(batch[domain]), discriminator(fakes[f"fake_{domain}"])
            real = self.adversarial(real_logits, True, True)
            fake = self.adversarial(fake_logits, False, True)
            logs[f"D_{domain}"] = real + fake  # MUNIT: no 1/2
            with torch.no_grad():  # a blank page: the real batch's median colour everywhere
                constant_logits = discriminator(_median_image(batch[domain]))
            logs.update(self.judge(f"D_{domain}", real_logits, fake_logits, constant_logits))
        return logs["D_A"] + logs["D_B"], logs

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        logs = {}
        for domain in DOMAINS:
            images, generator = batch[domain], self.generators[domain]
            reconstruction = generator.decode(*generator.encode(images))
            logs[f"val/recon_l1_{domain}"] = (to_unit_range(reconstruction) - to_unit_range(images)).abs().mean()
        self.log_dict(logs, batch_size=batch["A"].shape[0], sync_dist=True)

    # ----- pictures -------------------------------------------------------------------------------------------
    def log_images(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Per direction: ``content | style example | result with its style | result with k random styles``
        (random style j is the same code in every row and at every step), and the content encoder's PONO mean /
        std maps per stage when it has PONO."""
        panels = {}
        seed = torch.Generator().manual_seed(0)
        for source, target in (("A", "B"), ("B", "A")):
            content_images, style_images = batch[source], batch[target]
            n = min(content_images.shape[0], style_images.shape[0])
            content_images, style_images = content_images[:n], style_images[:n]
            g_source, g_target = self.generators[source], self.generators[target]
            guided = translate(g_source, g_target, content_images, g_target.encode_style(style_images))
            columns = [content_images, style_images, guided]
            labels = ["content", "style", "result"]
            for index, code in enumerate(g_target.random_style(self.num_sample_styles, generator=seed)):
                columns.append(translate(g_source, g_target, content_images, code.expand(n, -1)))
                labels.append(f"random {index}")
            panels[f"styles_{source}to{target}"] = sample_panel([to_unit_range(column) for column in columns], labels)
            _, moments = g_source.encode_content(content_images)
            if moments:
                maps = moment_maps(moments, size=content_images.shape[-2:])
                panels[f"moments_{source}"] = sample_panel([to_unit_range(content_images), *maps.values()],
                                                           ["content", *moment_labels(maps)])
        return panels
