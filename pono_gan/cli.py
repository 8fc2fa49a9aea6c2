"""``train.py``'s LightningCLI: checkpoints, image logging and W&B wired in, run names and resume filled in.

What it adds to a plain LightningCLI:

* ``trainer.default_root_dir`` defaults to ``runs/<task>/<data set>/<variant>`` (:func:`run_folder`; ``--variant``
  names the variant, as each variant file does).
* ``checkpoint.*``: a ModelCheckpoint saving ``last.ckpt`` and one file every ``checkpoint.every_n_train_steps``
  iterations into ``<trainer.default_root_dir>/checkpoints`` (a fixed place, so ``--ckpt_path last`` finds it).
* ``images.*``: the :class:`pono_gan.logging.callbacks.ImageLogger`.
* ``trainer.logger`` defaults to :class:`pono_gan.logging.loggers.WandbLogger` (offline without a login). Its save_dir
  defaults to the run directory, its group to the task, its name to the run directory's name (``<data set>/<variant>``
  for a folder from :func:`run_folder`), and its tags to
  task / norm / shortcut / variant, so a W&B workspace compares the ablation grid out of the box. When resuming
  from a checkpoint it continues that checkpoint's W&B run.
* The resolved config is saved as ``<run dir>/config.yaml`` (overwritten on resume).
* ``trainer.precision`` unset means auto: ``bf16-mixed`` where the device computes bfloat16 natively (a GPU that
  supports it, a CPU with AVX512-BF16 / AMX), ``32-true`` elsewhere, said in one line at start.
* Errors a user can fix (bad data, bad checkpoint, a bad config key or value) print one line and exit with status 2,
  the config's values checked before a model or logger is made (:func:`check_config`).
"""

from __future__ import annotations

import os
import sys
import warnings
from importlib import import_module
from typing import Any

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")  # Lightning's own calls, not ours to fix
# A checkpoint at iteration N holds the weights after N updates, as global_step says: what resume needs.
warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization and every_n_train_steps")

import torch
from jsonargparse import Namespace
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn

from pono_gan.checkpoint import read_checkpoint
from pono_gan.data.datamodule import ImageTranslationDataModule
from pono_gan.errors import ConfigError, PonoGanError
from pono_gan.hardware import auto_bf16, cpu_has_native
from pono_gan.logging.callbacks import ImageLogger
from pono_gan.models import GeneratorConfig
from pono_gan.models.variants import variant_name
from pono_gan.packaged import with_packaged_configs
from pono_gan.tasks import DiscriminatorConfig, GANTask, OptimizerConfig

__all__ = ["PonoCLI", "check_config", "checkpoint_dir", "main", "run_folder"]


#: the end of ``fit --help``: a task's options are behind a sub-help that jsonargparse does not list
HELP_EPILOG = (
    "The model's options are per task: `python train.py fit --model.help PairedTask` (or UnpairedTask, StyleTask) "
    "lists them, `python train.py fit --model.help PairedTask --model.generator.help` the generator's, "
    "`--model.discriminator.help` and `--model.optimizer.help` likewise; add --print_config to your command to see "
    "the config it would use (an unset run folder and precision are chosen at start: the run's config.yaml holds "
    "them)."
)


class _OneLineErrorParser(LightningArgumentParser):
    """Config errors as one line that names the key and points at ``--help`` / ``--print_config``; ``--help`` ends
    with how to see the model's options (:data:`HELP_EPILOG`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("epilog", HELP_EPILOG)
        super().__init__(*args, **kwargs)

    _NOISE = ("Subtypes:", "Errors:", "Given value type", "- Expected a <class 'NoneType'>",
              "Does not validate against any")

    def error(self, message: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        lines = [line.strip() for line in str(message).splitlines() if line.strip()]
        kept = [line.lstrip("- ").replace("Given value:", "Got value:") for line in lines
                if not line.startswith(self._NOISE)]
        summary = " ".join(kept or lines or ["invalid arguments"])
        if len(summary) > 400:
            summary = summary[:400] + " ..."
        print(f"error: {summary} (see `python train.py fit --help`, or --print_config for a valid config)",
              file=sys.stderr)
        raise SystemExit(2)


def checkpoint_dir(run_dir: str | None) -> str:
    """Where a run keeps its checkpoints (``last.ckpt`` and the periodic ones): ``<run dir>/checkpoints``."""
    return os.path.join(run_dir or ".", "checkpoints")


def _import(class_path: str) -> type:
    module, _, name = class_path.rpartition(".")
    return getattr(import_module(module), name)


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Namespace):
        return value.as_dict()
    if isinstance(value, dict):
        return dict(value)
    return dict(vars(value))


def _task_and_generator(model: Namespace) -> tuple[type, Any]:
    """The task class of the CLI's ``model`` entry and its generator config, resolved as the task resolves it."""
    task_class = _import(model.class_path)
    config_class = getattr(task_class, "generator_config_class", GeneratorConfig)
    return task_class, task_class.resolve_generator(config_class(**_as_dict(model.init_args.get("generator"))))


def check_config(config: Namespace, stage: str | None = "fit") -> None:
    """Check every value a user can get wrong before a model, a logger or a data loader is made (the dataclasses
    and the data module check their own fields): raises one :class:`ConfigError` naming the key, e.g.
    ``model.init_args.generator.pono=False: shortcut='ms' re-injects PONO moments and needs pono=True; ...``,
    or the data module's one-line error for a missing root or a layout the folder does not hold."""
    init_args = _as_dict(config.model.get("init_args"))
    sections = {
        "generator": lambda: _task_and_generator(config.model),
        "discriminator": lambda: DiscriminatorConfig(**_as_dict(init_args.get("discriminator"))).resolved(),
        "optimizer": lambda: OptimizerConfig(**_as_dict(init_args.get("optimizer"))),
        "data": lambda: ImageTranslationDataModule(**_as_dict(config.data)).check_folders(stage),
    }
    for name, check in sections.items():
        try:
            check()
        except ConfigError as error:
            raise error.under("data" if name == "data" else f"model.init_args.{name}") from None
    for key, value in init_args.items():
        if key.startswith("lambda_") and value is not None and value < 0:
            raise ConfigError(f"model.init_args.{key}", value, "a loss weight must be at least 0")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"decay_for": 100}}`` -> ``{"optimizer.decay_for": 100}`` (Namespaces too; lists as tuples)."""
    value = _as_dict(value) if isinstance(value, Namespace) else value
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: tuple(value) if isinstance(value, list) else value}


def run_folder(config: Namespace) -> str:
    """The run folder when ``trainer.default_root_dir`` is not given: ``runs/<task>/<data set>/<variant>``, e.g.
    ``runs/unpaired/horse2zebra/pono_ms``, so two data sets trained with one variant never share a run."""
    task_class, generator = _task_and_generator(config.model)
    data = os.path.basename(os.path.abspath(str(config.data.root))) or "data"
    variant = config.get("variant") or variant_name(generator)
    return os.path.join("runs", getattr(task_class, "task_name", "gan"), data, variant)


def _refuse_a_silent_restart(config: Namespace) -> None:
    """``--ckpt_path last`` in a run folder from :func:`run_folder` that holds no checkpoint, while the folder a
    variant file named before run folders came from the data (``runs/<task>/<variant>``) holds one: Lightning would
    start over without a word, so say where the run is."""
    if config.get("ckpt_path") != "last" or os.path.isfile(os.path.join(config.checkpoint.dirpath, "last.ckpt")):
        return
    task, data, variant = config.trainer.default_root_dir.split(os.sep)[1:]
    older = os.path.join("runs", task, variant)
    if os.path.isfile(os.path.join(checkpoint_dir(older), "last.ckpt")):
        raise ConfigError("ckpt_path", "last", f"no checkpoint in {config.trainer.default_root_dir}, but {older} "
                                               "holds a run of this variant: resume it with "
                                               f"--trainer.default_root_dir {older}")


class PonoCLI(LightningCLI):
    _auto_named = False  # whether the run folder came from run_folder()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        kwargs.setdefault("seed_everything_default", 0)
        kwargs.setdefault("parser_class", _OneLineErrorParser)
        # The tasks own their optimizer (generator / discriminator groups) and schedule: model.init_args.optimizer.
        kwargs.setdefault("auto_configure_optimizers", False)
        super().__init__(GANTask, ImageTranslationDataModule, *args, subclass_mode_model=True, **kwargs)

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``fit`` and ``validate`` only: no task has a test or predict step (``python -m pono_gan.evaluate`` scores
        a test split, ``infer.py`` translates images)."""
        return {name: skip for name, skip in LightningCLI.subcommands().items() if name in ("fit", "validate")}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.save_last": True,
                "checkpoint.save_top_k": -1,
                "checkpoint.every_n_train_steps": 1000,
                "checkpoint.filename": "step{step:07d}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )
        parser.link_arguments(
            "trainer.default_root_dir", "checkpoint.dirpath", compute_fn=checkpoint_dir
        )
        parser.add_argument("--variant", type=str | None, default=None,
                            help="the variant's name in the run folder and the W&B name when trainer.default_root_dir "
                                 "is not given (runs/<task>/<data set>/<variant>); each configs/<task>/ variant file "
                                 "sets it; default: the generator's norm and PONO, e.g. pono_ms or group_pono_ms")
        parser.add_argument("--compile", type=bool, default=False,
                            help="torch.compile the networks a training step calls (fit only; the first steps pay "
                                 "for the compilation; checkpoints are the same as without it). It pays off on large "
                                 "networks: 1.6x bf16 eager at 256 px on a CPU with AMX, 1.1x on the 64 px style "
                                 "study's (docs/training.md)")
        parser.add_lightning_class_args(ImageLogger, "images")
        parser.set_defaults(
            {
                "trainer.default_root_dir": None,
                "trainer.logger": {"class_path": "pono_gan.logging.loggers.WandbLogger",
                                   "init_args": {"project": "pono-gan"}},
            }
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        check_config(config, subcommand)
        if not config.trainer.get("default_root_dir"):
            self._auto_named = True
            config.trainer.default_root_dir = run_folder(config)
            config.checkpoint.dirpath = checkpoint_dir(config.trainer.default_root_dir)
            _refuse_a_silent_restart(config)
        # Check the checkpoint before Lightning loads it (it restores the model's hyperparameters from it while
        # parsing): a missing, truncated or foreign file gets a one-line error, not a traceback.
        ckpt_path = self._resolve_ckpt_path(self.config[subcommand]) if subcommand else None
        self._resume_from = read_checkpoint(ckpt_path) if ckpt_path else None

    def _parse_ckpt_path(self) -> None:
        """Lightning's LightningCLI lays a checkpoint's saved hyperparameters over the config; here the config
        wins, so a resumed run can change its schedule (say a longer ``decay_for``), and the keys that differ
        from the checkpoint are named in one line."""
        if self._resume_from is None:
            return
        subcommand = self.config.get("subcommand")
        saved = _flatten(self._resume_from.get("hyper_parameters") or {})
        if "generator.layout" in saved:  # written before generator.layout was named placement
            saved.setdefault("generator.placement", saved.pop("generator.layout"))
        model = self.config[subcommand].model
        current = _flatten({**_as_dict(model.get("init_args")), "generator": _task_and_generator(model)[1].to_dict()})
        changed = [f"{key} {saved[key]!r} -> {current[key]!r}" for key in saved
                   if key in current and saved[key] != current[key]]
        if changed:
            rank_zero_info(f"resuming with a changed config (the config wins): {', '.join(changed)}")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        on_cpu = config.trainer.get("accelerator") == "cpu" or not torch.cuda.is_available()
        if config.trainer.get("precision") is None:  # auto: bf16 where the device computes it natively
            native, why = auto_bf16("cpu" if on_cpu else "cuda")
            config.trainer.precision = "bf16-mixed" if native else "32-true"
            rank_zero_info(f"precision {config.trainer.precision} (auto: {why}; --trainer.precision 32-true or "
                           "bf16-mixed overrides)")
        precision = str(config.trainer.precision)
        if precision.startswith("bf16") and on_cpu and not cpu_has_native(torch.bfloat16):
            rank_zero_warn(
                f"precision {precision} on this CPU: it has no AVX512-BF16 / AMX, so bfloat16 is emulated and far "
                "slower than 32-true; use 32-true here, bf16 on GPUs or newer CPUs"
            )
        loggers = config.trainer.get("logger")
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            if isinstance(logger, Namespace) and "init_args" in logger:
                self._fill_logger(config, logger)

    def before_fit(self) -> None:
        if (self.config[self.subcommand] if self.subcommand else self.config).get("compile"):
            count = self.model.compile_networks()
            rank_zero_info(f"compile: torch.compile on {count} networks (the first steps of each shape compile them)")

    @staticmethod
    def _resolve_ckpt_path(config: Namespace) -> str | None:
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "last":
            ckpt_path = os.path.join(checkpoint_dir(config.trainer.default_root_dir), "last.ckpt")
            return ckpt_path if os.path.isfile(ckpt_path) else None
        return ckpt_path

    def _fill_logger(self, config: Namespace, logger: Namespace) -> None:
        """Loggers write into the run directory; the W&B one also gets group, name, tags and the resumed run id."""
        args = logger.init_args
        root = config.trainer.default_root_dir or "."
        if "save_dir" in args and args.get("save_dir") in (None, "", "."):
            args.save_dir = root
        if not str(logger.get("class_path", "")).endswith("pono_gan.logging.loggers.WandbLogger"):
            return
        task_class, generator = _task_and_generator(config.model)
        task = getattr(task_class, "task_name", "gan")
        variant = variant_name(generator)
        args.group = args.get("group") or task
        args.name = args.get("name") or (os.path.relpath(root, os.path.join("runs", task)) if self._auto_named
                                         else os.path.basename(os.path.normpath(root)))
        args.tags = sorted(set(args.get("tags") or [])
                           | {task, generator.arch, generator.norm, f"shortcut-{generator.shortcut}", variant})
        if self._resume_from is not None and not args.get("version"):
            run_id = self._resume_from["pono_gan"].get("wandb_run_id")
            if run_id:
                args.version = run_id
                args.resume = "allow"


def main(args: list[str] | None = None) -> None:
    """``train.py`` / ``pono-gan train``: ``args`` (default: the command line), each ``--config`` a path or a packaged
    config's name (:func:`pono_gan.packaged.find_config`: ``style/pono_ms`` from any folder)."""
    if args is None:
        sys.argv[1:] = with_packaged_configs(sys.argv[1:])
    else:  # pono-gan train: sys.argv stays as it was, so a DDP launch reruns the same command
        args = with_packaged_configs(args)
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    try:
        PonoCLI(args=args)
    except PonoGanError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
