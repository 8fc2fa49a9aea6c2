"""The shared GAN task: one training iteration per step, the LR schedule, logging and checkpoint data.

Why one optimizer with two parameter groups (generator, discriminator) instead of two optimizers:

* Lightning counts every ``optimizer.step()`` in ``trainer.global_step``, so two optimizers make it count twice
  per iteration. With one, ``global_step`` *is* the training iteration: ``max_steps``, ``log_every_n_steps``,
  checkpoint and image cadence all mean iterations. Separate learning rates and Adam states are per parameter
  group / parameter, so the update equals two Adams'.

Each task updates in the order of its reference (``update_order``):

* ``simultaneous`` (CycleGAN): the generator loss is taken against the current discriminator (frozen for that
  forward), the discriminator loss against the current fakes (detached). Both gradients come from the same
  parameters before either update, which is exactly what CycleGAN's "G step, then D step" computes. One backward
  of ``loss_G + loss_D`` gives every parameter a gradient, so DDP needs no ``find_unused_parameters``.
* ``discriminator_first`` (pix2pix, MUNIT): the discriminator is updated on this step's fakes, then the generator
  against the *updated* discriminator. pix2pix reuses the fakes it showed the discriminator (one generator
  forward); MUNIT's discriminator step draws style codes of its own. Two backward passes, two Adam steps on
  disjoint groups; only the second is counted, so ``global_step`` still counts iterations. Under DDP each pass
  leaves one group without gradients, so :meth:`GANTask.setup` turns on DDP's ``find_unused_parameters``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch import Tensor, nn

from pono_gan import checkpoint as ckpt
from pono_gan.errors import ConfigError, require
from pono_gan.losses import adversarial_loss
from pono_gan.models import (
    GeneratorConfig,
    build_discriminator,
    build_generator,
    init_weights,
    layers_for_field_of_view,
    receptive_field,
)
from pono_gan.models.variants import variant_name
from pono_gan.tasks.randomness import TrainingRandomness

__all__ = ["DiscriminatorConfig", "OptimizerConfig", "GANTask", "LinearDecay", "UPDATE_ORDERS"]

UpdateOrder = Literal["simultaneous", "discriminator_first"]
UPDATE_ORDERS: tuple[str, ...] = get_args(UpdateOrder)


@dataclass
class DiscriminatorConfig:
    """Discriminator settings.

    Args:
        arch: ``patchgan`` (pix2pix / CycleGAN's, :class:`pono_gan.models.PatchDiscriminator`) or ``munit``
            (a scale of NVlabs MUNIT's ``MsImageDis``: strided convs only, reflect padding, a 1x1 head;
            :class:`pono_gan.models.MunitPatchDiscriminator`).
        base_channels: width of the first layer (pix2pix's ``ndf``, MUNIT's ``dim``).
        num_layers: strided layers (``n_layers_D``, 3 gives 70 x 70 patches; MUNIT's ``n_layer``).
        norm: ``instance | group | batch | layer | none``.
        spectral_norm: spectral normalization on every conv.
        num_scales: > 1 for a multi-scale discriminator (pix2pixHD, MUNIT).
        scale_loss: how the adversarial losses of the scales combine: ``mean`` (pix2pixHD) or ``sum`` (MUNIT).
        init_type: the discriminators' weight init; None: the task's ``init_type`` (MUNIT initializes everything
            with Kaiming, then its discriminators with ``normal``, N(0, 0.02)).
        field_of_view: with ``image_size``, sets ``num_layers`` instead: the count whose coarsest scale sees this
            fraction of the image side most nearly (MUNIT's 3 scales of 4 layers see 18%, 36% and 73% of 256 px:
            ``field_of_view: 0.73``). A discriminator that sees a small part of the image judges texture, not shape.
        image_size: the side of the training images, for ``field_of_view``.
    """

    arch: Literal["patchgan", "munit"] = "patchgan"
    base_channels: int = 64
    num_layers: int = 3
    norm: Literal["instance", "group", "batch", "layer", "none"] = "instance"
    spectral_norm: bool = False
    num_scales: int = 1
    scale_loss: Literal["mean", "sum"] = "mean"
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] | None = None
    field_of_view: float | None = None
    image_size: int | None = None

    def __post_init__(self) -> None:
        require(self, "base_channels num_layers num_scales image_size")
        require(self, "field_of_view", 0, strict=True)

    def resolved(self) -> DiscriminatorConfig:
        """This config with ``num_layers`` set by ``field_of_view`` where that is given."""
        if self.field_of_view is None:
            return self
        if self.image_size is None:
            raise ConfigError("image_size", None, "field_of_view needs image_size (the training images' side)")
        layers = layers_for_field_of_view(self.arch, self.num_scales, self.image_size, self.field_of_view)
        return replace(self, num_layers=layers)

    def fields(self) -> list[int]:
        """Each scale's receptive field in input pixels, finest first (:func:`pono_gan.models.receptive_field`)."""
        return [receptive_field(self.arch, self.num_layers, scale) for scale in range(self.num_scales)]


@dataclass
class OptimizerConfig:
    """Adam and the learning-rate schedule (CycleGAN's: constant, then linear decay to zero).

    Args:
        lr_generator: Adam learning rate of the generators.
        lr_discriminator: Adam learning rate of the discriminators.
        beta1: Adam beta1 (0.5 for GANs).
        beta2: Adam beta2.
        weight_decay: Adam's L2 weight decay on every parameter (0 in pix2pix / CycleGAN, 1e-4 in MUNIT).
        schedule: ``linear`` (CycleGAN's: ``constant_for`` units at the full rate, then linear decay over
            ``decay_for``; the formula is in :class:`LinearDecay`) or ``constant``.
        unit: what ``constant_for`` / ``decay_for`` count: ``epoch`` (CycleGAN's n_epochs / n_epochs_decay) or
            ``step`` (training iterations).
        constant_for: units at the initial learning rate.
        decay_for: units of linear decay; the rate is 0 from unit ``constant_for + decay_for`` on.
    """

    lr_generator: float = 2e-4
    lr_discriminator: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0
    schedule: Literal["linear", "constant"] = "linear"
    unit: Literal["epoch", "step"] = "epoch"
    constant_for: int = 100
    decay_for: int = 100

    def __post_init__(self) -> None:
        require(self, "lr_generator lr_discriminator weight_decay constant_for decay_for", 0)
        if self.lr_generator == self.lr_discriminator == 0:  # one at 0 freezes that group, both leave nothing to train
            raise ConfigError("lr_generator", 0.0,
                              "with lr_discriminator also 0 nothing trains; set one of them above 0")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "must be in [0, 1)")


class LinearDecay:
    """CycleGAN's linear schedule: the learning-rate factor of unit ``t`` (0-based; a picklable lambda).

    ``factor(t) = 1 - max(0, t + 1 - constant_for) / (decay_for + 1)``, clamped at 0: exactly ``constant_for``
    units at the full rate, then ``decay_for`` units falling linearly (``decay_for / (decay_for + 1)``, ...,
    ``1 / (decay_for + 1)``), and 0 from unit ``constant_for + decay_for`` on. This is junyanz's ``lambda_rule``
    (``epoch_count`` 1) with the scheduler stepped after each epoch: "100 epochs, then 100 of decay" trains
    epochs 0-99 at the full rate and ends with 1/101 of it.
    """

    def __init__(self, constant_for: int, decay_for: int) -> None:
        self.constant_for = constant_for
        self.decay_for = decay_for

    def __call__(self, t: int) -> float:
        return max(0.0, 1.0 - max(0, t + 1 - self.constant_for) / (self.decay_for + 1))


def _as_dataclass(value: Any, cls: type) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):  # a checkpoint's hyperparameters: from_dict reads what older versions wrote
        return cls.from_dict(value) if hasattr(cls, "from_dict") else cls(**value)
    raise TypeError(f"expected {cls.__name__} or a dict, got {type(value).__name__}")


def _detached(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    return {name: tensor.detach() for name, tensor in tensors.items()}


def _no_closure() -> None:
    """The closure of a manual optimizer step (the gradients are already there)."""


def health_line(health: dict[str, dict[str, Any]]) -> str:
    """:meth:`GANTask.discriminator_health` in one line: ``discriminators: D_A tells real from fake (real 0.71,
    fake 0.25 over the last 50 steps); ...``."""
    parts = []
    for name, entry in health.items():
        scores = ", ".join(f"{kind} {entry[kind]:.2f}" for kind in ("real", "fake", "constant") if kind in entry)
        parts.append(f"{name} {health_verdict(entry)} ({scores} over the last {entry['steps']} steps)")
    advice = ""
    if not all(entry["tells_real_from_fake"] for entry in health.values()):
        advice = ": a discriminator at chance gives the generator nothing to learn from"
    elif any(wins_outright(entry) for entry in health.values()):
        advice = (": a discriminator that wins outright is no longer fooled at all; look at the samples for a "
                  "generator that collapsed or diverged")
    return "discriminators: " + "; ".join(parts) + advice


def wins_outright(entry: dict[str, Any]) -> bool:
    """Whether a :meth:`GANTask.discriminator_health` entry's real score beats its fake score by
    :data:`HEALTH_WIN` or more: the generator no longer fools it at all. An entry that kept only the verdicts (a
    study's record transcribed from its report) says so itself."""
    if "real" not in entry:
        return entry["wins_outright"]
    return entry["real"] - entry["fake"] >= HEALTH_WIN


def health_verdict(entry: dict[str, Any]) -> str:
    """A :meth:`GANTask.discriminator_health` entry in words: ``wins outright``, ``tells real from fake`` or ``does
    NOT tell real from fake``."""
    if not entry["tells_real_from_fake"]:
        return "does NOT tell real from fake"
    return "wins outright" if wins_outright(entry) else "tells real from fake"


#: a discriminator "tells real from fake" when its mean score on real images beats its mean score on the fakes it
#: trains on by at least this much, over the last :data:`HEALTH_WINDOW` steps (LSGAN targets are 1 and 0, so a
#: discriminator at chance scores both about 0.5; vanilla scores are probabilities)
HEALTH_MARGIN = 0.1
HEALTH_WINDOW = 50
#: a discriminator "wins outright" when real beats fake by this much or more (LSGAN's targets are 1 and 0 apart; a
#: vanilla one's probabilities near 1 and 0): the generator no longer fools it at all. On the font benchmark every
#: discriminator of the runs that learned ended at 0.35 to 0.80; the two runs whose generators diverged each had one
#: at 1.00 to 1.24
HEALTH_WIN = 0.9


class GANTask(pl.LightningModule):
    """Base of the paired and unpaired tasks; subclasses build the networks and define the losses.

    The config arguments also accept plain dicts (what checkpoints store, so ``load_from_checkpoint`` works).
    Subclasses implement :meth:`generator_loss`, :meth:`discriminator_loss`, :meth:`log_images`,
    :meth:`checkpoint_generators` and set ``self.generators`` / ``self.discriminators`` (ModuleDicts).
    """

    task_name = "gan"
    #: The dataclass of the ``generator`` argument (a task with another architecture family sets its own).
    generator_config_class: type = GeneratorConfig
    #: Per arch, what the generator's unset (None) settings mean in this task's reference (see
    #: :meth:`GeneratorConfig.resolved`); empty: CycleGAN's instance norm and no dropout.
    generator_defaults: dict[str, dict[str, Any]] = {}

    def __init__(
        self,
        generator: GeneratorConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        optimizer: OptimizerConfig | None = None,
        gan_loss: Literal["lsgan", "vanilla", "hinge"] = "lsgan",
        init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = "normal",
        init_gain: float = 0.02,
        update_order: UpdateOrder = "simultaneous",
    ) -> None:
        super().__init__()
        if update_order not in UPDATE_ORDERS:
            raise ValueError(f"unknown update_order {update_order!r}; valid: {', '.join(UPDATE_ORDERS)}")
        if update_order == "discriminator_first" and type(self).discriminator_fakes is GANTask.discriminator_fakes:
            raise ValueError(f"{type(self).__name__} updates in its reference's order only: "
                             "set update_order simultaneous")
        self.update_order = update_order
        self.automatic_optimization = False
        self.generator_config = self.resolve_generator(
            _as_dataclass(generator or self.generator_config_class(), self.generator_config_class))
        self.discriminator_config = _as_dataclass(
            discriminator or DiscriminatorConfig(), DiscriminatorConfig).resolved()
        self.optimizer_config = _as_dataclass(optimizer or OptimizerConfig(), OptimizerConfig)
        self.gan_loss = gan_loss
        self.init_type = init_type
        self.init_gain = init_gain
        self.randomness = TrainingRandomness()
        self._judged: deque[tuple[str, dict[str, Tensor]]] = deque(maxlen=HEALTH_WINDOW * 4)
        # Plain data only in the checkpoint, so inference can load it with weights_only=True.
        self.save_hyperparameters(
            {
                "generator": self.generator_config.to_dict(),
                "discriminator": asdict(self.discriminator_config),
                "optimizer": asdict(self.optimizer_config),
            }
        )

    # ----- building -------------------------------------------------------------------------------------------
    @classmethod
    def resolve_generator(cls, config: GeneratorConfig) -> GeneratorConfig:
        """``config`` with its unset settings filled in as this task's reference has them."""
        return config.resolved(cls.generator_defaults)

    def _new_generator(self, config: GeneratorConfig) -> nn.Module:
        return init_weights(build_generator(config), self.init_type, self.init_gain)

    def _new_discriminator(self, in_channels: int) -> nn.Module:
        d = self.discriminator_config
        network = build_discriminator(
            num_scales=d.num_scales,
            arch=d.arch,
            in_channels=in_channels,
            base_channels=d.base_channels,
            num_layers=d.num_layers,
            norm=d.norm,
            spectral_norm=d.spectral_norm,
        )
        return init_weights(network, d.init_type or self.init_type, self.init_gain)

    @property
    def image_channels(self) -> tuple[int, int]:
        """(channels of A, channels of B): the data module converts images to these."""
        return self.generator_config.in_channels, self.generator_config.out_channels

    @property
    def trained_direction(self) -> str | None:
        """The direction a paired model translates (from the data module); None for tasks with both."""
        return None

    @property
    def variant(self) -> str:
        return variant_name(self.generator_config)

    # ----- losses (subclasses) --------------------------------------------------------------------------------
    def generator_loss(
        self, batch: dict[str, Any], fakes: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
        """``(loss, logs, fakes)``: the generator objective, scalars to log, and the fakes the D step needs.
        ``fakes``: what :meth:`discriminator_fakes` returned this step (``discriminator_first``), for a task whose
        reference reuses them; None in the ``simultaneous`` order."""
        raise NotImplementedError

    def discriminator_fakes(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """The fakes the ``discriminator_first`` order trains the discriminator on before the generator step (a
        task that has that order implements it)."""
        raise NotImplementedError

    def discriminator_loss(self, batch: dict[str, Any], fakes: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """``(loss, logs)`` on detached fakes."""
        raise NotImplementedError

    def log_images(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Named image panels in [0, 1] worth looking at for ``batch`` (the image logger decides when and where)."""
        raise NotImplementedError

    def checkpoint_generators(self) -> dict[str, tuple[str, GeneratorConfig]]:
        """``{direction: (attribute name, config)}`` of the generators inference can use."""
        raise NotImplementedError

    def adversarial(self, logits, target_is_real: bool, for_discriminator: bool) -> Tensor:
        return adversarial_loss(logits, target_is_real, self.gan_loss, for_discriminator,
                                self.discriminator_config.scale_loss)

    # ----- discriminator health ------------------------------------------------------------------------------
    def _score(self, logits: Tensor) -> Tensor:
        logits = logits.detach().float()
        return (torch.sigmoid(logits) if self.gan_loss == "vanilla" else logits).mean()

    def judge(self, name: str, real: Tensor | list[Tensor], fake: Tensor | list[Tensor],
              constant: Tensor | list[Tensor] | None = None) -> dict[str, Tensor]:
        """Discriminator ``name``'s mean scores (raw outputs; probabilities for the vanilla loss) on real images,
        on the fakes it trains on and on a ``constant`` image, per scale of a multi-scale one: logged as
        ``{name}_real_score_s0``, ``{name}_fake_score_s0``, ... (no ``_sN`` for one scale). GAN users watch these
        to know a run is alive: a discriminator whose real and fake scores meet gives the generator nothing to learn
        from. They are also kept for :meth:`discriminator_health`."""
        logs, means = {}, {}
        for kind, logits in (("real", real), ("fake", fake), ("constant", constant)):
            if logits is None:
                continue
            scores = [self._score(item) for item in (logits if isinstance(logits, (list, tuple)) else [logits])]
            for index, score in enumerate(scores):
                logs[f"{name}_{kind}_score" + (f"_s{index}" if len(scores) > 1 else "")] = score
            means[kind] = torch.stack(scores).mean()
        self._judged.append((name, means))
        return logs

    def discriminator_health(self) -> dict[str, dict[str, Any]]:
        """Per discriminator, its mean real and fake (and constant) scores over the last :data:`HEALTH_WINDOW`
        steps and whether it tells real from fake (real beats fake by :data:`HEALTH_MARGIN`); {} before training."""
        health: dict[str, dict[str, Any]] = {}
        for name in dict.fromkeys(name for name, _ in self._judged):
            steps = [means for judged, means in self._judged if judged == name][-HEALTH_WINDOW:]
            entry = {kind: round(torch.stack([m[kind] for m in steps]).mean().item(), 4) for kind in steps[-1]}
            entry["steps"] = len(steps)
            entry["tells_real_from_fake"] = entry["real"] - entry["fake"] >= HEALTH_MARGIN
            health[name] = entry
        return health

    def on_train_end(self) -> None:
        """One line: whether the discriminators still tell real from fake at the end of the run."""
        health = self.discriminator_health()
        if health:
            rank_zero_info(health_line(health))

    @contextmanager
    def frozen(self, module: nn.Module) -> Iterator[None]:
        """No gradients into ``module``'s parameters inside the block (the generator's view of the discriminator)."""
        flags = [p.requires_grad for p in module.parameters()]
        module.requires_grad_(False)
        try:
            yield
        finally:
            for parameter, flag in zip(module.parameters(), flags):
                parameter.requires_grad_(flag)

    def compiled_networks(self) -> list[nn.Module]:
        """The networks a training step calls, which ``train.py --compile`` compiles: ``torch.compile`` compiles a
        module's forward, so a task whose step calls its generators' parts (the style task) names the parts."""
        return [*self.generators.values(), *self.discriminators.values()]

    def compile_networks(self) -> int:
        """``torch.compile`` each of :meth:`compiled_networks` in place (``Module.compile``: the parameters and the
        checkpoint's keys stay as they are, so a compiled run's checkpoints resume and load uncompiled too); how
        many (a module shared by two generators counts once)."""
        networks = {id(n): n for n in self.compiled_networks()}
        for network in networks.values():
            network.compile()
        return len(networks)

    # ----- optimization ---------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Says what the discriminators see (one line). Under DDP, the ``discriminator_first`` order's two backward
        passes each leave one network without gradients, which DDP allows only with ``find_unused_parameters``
        (what ``--trainer.strategy ddp_find_unused_parameters_true`` sets); set it here, before the strategy wraps
        the model."""
        if stage == "fit":
            d = self.discriminator_config
            seen = ", ".join(f"{field}" + (f" ({field / d.image_size:.0%})" if d.image_size else "")
                             for field in d.fields())
            rank_zero_info(f"discriminator layout: {d.arch}, {d.num_scales} scale(s) of {d.num_layers} strided layers; "
                           f"each scale's logits see {seen} px" + (f" of {d.image_size}" if d.image_size else ""))
        ddp_kwargs = getattr(self.trainer.strategy, "_ddp_kwargs", None)
        if self.update_order == "discriminator_first" and isinstance(ddp_kwargs, dict):
            if not ddp_kwargs.get("find_unused_parameters"):
                rank_zero_info("update_order discriminator_first: DDP's find_unused_parameters is on "
                               "(two backward passes a step)")
                ddp_kwargs["find_unused_parameters"] = True

    def configure_optimizers(self):
        o = self.optimizer_config
        groups = [
            {"params": list(self.generators.parameters()), "lr": o.lr_generator, "name": "generator"},
            {"params": list(self.discriminators.parameters()), "lr": o.lr_discriminator, "name": "discriminator"},
        ]
        # the fused kernel (one pass over each tensor, not Adam's dozen elementwise ops) on CPU and CUDA: the same
        # update, 5% of an fp32 and 12% of a bf16 CPU training step faster (issue 24); a checkpoint written without
        # it resumes without it (load_state_dict restores the saved groups' settings)
        fused = all(p.device.type in ("cpu", "cuda") for group in groups for p in group["params"]) or None
        return torch.optim.Adam(groups, betas=(o.beta1, o.beta2), weight_decay=o.weight_decay, fused=fused)

    def schedule_position(self) -> int:
        """Where the schedule is: iterations completed (``unit: step``) or the current epoch (``unit: epoch``)."""
        return self.trainer.global_step if self.optimizer_config.unit == "step" else self.trainer.current_epoch

    def learning_rates(self, position: int) -> dict[str, float]:
        """The learning rate of each parameter group at ``position`` (see :meth:`schedule_position`)."""
        o = self.optimizer_config
        factor = 1.0 if o.schedule == "constant" else LinearDecay(o.constant_for, o.decay_for)(position)
        return {"generator": o.lr_generator * factor, "discriminator": o.lr_discriminator * factor}

    def _configure_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Set every group's rate and Adam settings from the config and the trainer's position. The rate is a
        function of where training is, so no resume point can lose or repeat a scheduler step, and a resumed run
        whose config changed the schedule or Adam's settings follows its config (a checkpoint's optimizer state
        would otherwise restore the old ones)."""
        o = self.optimizer_config
        rates = self.learning_rates(self.schedule_position())
        for group in optimizer.param_groups:
            group.update(lr=rates[group["name"]], betas=(o.beta1, o.beta2), weight_decay=o.weight_decay)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        optimizer = self.optimizers()
        self._configure_step(optimizer.optimizer)
        with self.randomness.active(self.device):
            if self.update_order == "simultaneous":
                with self.frozen(self.discriminators):
                    loss_g, logs_g, fakes = self.generator_loss(batch)
                loss_d, logs_d = self.discriminator_loss(batch, _detached(fakes))
                optimizer.zero_grad(set_to_none=True)
                self.manual_backward(loss_g + loss_d)
                optimizer.step()
            else:
                fakes = self.discriminator_fakes(batch)
                loss_d, logs_d = self.discriminator_loss(batch, _detached(fakes))
                optimizer.zero_grad(set_to_none=True)
                self.manual_backward(loss_d)
                # Only the discriminator has gradients (Adam skips the rest). Through the strategy, so precision
                # plugins (fp16's scaler) and step hooks apply, but not counted in global_step.
                self.trainer.strategy.optimizer_step(optimizer.optimizer, _no_closure)
                with self.frozen(self.discriminators):
                    loss_g, logs_g, _ = self.generator_loss(batch, fakes)
                optimizer.zero_grad(set_to_none=True)
                self.manual_backward(loss_g)
                optimizer.step()
        batch_size = batch["A"].shape[0]
        self.log_dict({f"train/{k}": v.detach() for k, v in {**logs_g, **logs_d}.items()}, batch_size=batch_size)
        self.log_dict({"train/loss_G": loss_g.detach(), "train/loss_D": loss_d.detach()}, prog_bar=True,
                      batch_size=batch_size)
        for group in optimizer.optimizer.param_groups:
            self.log(f"lr/{group['name']}", group["lr"], batch_size=batch_size)
        return loss_g + loss_d

    # ----- checkpoint contract (see pono_gan/checkpoint.py) ---------------------------------------------------
    def _generator_entries(self) -> dict[str, dict[str, Any]]:
        return {
            direction: {"config": config.to_dict(), "prefix": f"{attribute}."}
            for direction, (attribute, config) in self.checkpoint_generators().items()
        }

    def _data_metadata(self) -> dict[str, Any]:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        hparams = dict(getattr(datamodule, "hparams", {}) or {})
        keep = ("root", "layout", "direction", "preprocess", "load_size", "crop_size")
        meta = {key: hparams[key] for key in keep if key in hparams}
        meta["channels"] = list(self.image_channels)
        return meta

    def _wandb_run_id(self) -> str | None:
        if self._trainer is None:
            return None
        for logger in self.trainer.loggers:
            if type(logger).__name__ == "WandbLogger":
                return logger.version
        return None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[ckpt.KEY] = {
            "format": ckpt.FORMAT_VERSION,
            "task": self.task_name,
            "direction": self.trained_direction,
            "generators": self._generator_entries(),
            "data": self._data_metadata(),
            "variant": self.variant,
            "wandb_run_id": self._wandb_run_id(),
            "discriminators": self.discriminator_health(),
        }
        checkpoint["training_rng"] = self.randomness.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.randomness.load_state_dict(checkpoint.get("training_rng"))
