"""A W&B logger that never prompts: it logs offline when there is no login, and says how to upload later."""

from __future__ import annotations

import os
from typing import Literal

import wandb
from pytorch_lightning.loggers import WandbLogger as _LightningWandbLogger
from pytorch_lightning.utilities import rank_zero_info

__all__ = ["WandbLogger", "wandb_offline"]


def _unset_empty_mode() -> None:
    """An empty ``WANDB_MODE`` (``WANDB_MODE= make demo``) counts as unset; wandb itself would reject it."""
    if "WANDB_MODE" in os.environ and not os.environ["WANDB_MODE"].strip():
        del os.environ["WANDB_MODE"]


def wandb_offline(requested: bool | None) -> bool:
    """Whether to log offline: as requested; else as ``WANDB_MODE`` says; else offline when not logged in."""
    _unset_empty_mode()
    if requested is not None:
        return requested
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "dryrun"):
        return True
    if mode in ("online", "run", "disabled"):
        return False  # "disabled" is handled by wandb itself
    return not wandb.login(prompt=False, verify=False)


class WandbLogger(_LightningWandbLogger):
    """Lightning's WandbLogger, but it never prompts for a login.

    ``offline=None`` (the default) picks online when W&B credentials exist (``wandb login`` or
    ``WANDB_API_KEY``), offline otherwise; ``WANDB_MODE`` is honoured. Offline runs are written under
    ``SAVE_DIR/wandb/`` and uploaded later with ``wandb sync SAVE_DIR/wandb/offline-run-*``.

    Args:
        name: the run's display name.
        save_dir: where the ``wandb/`` folder goes (the CLI sets the run directory).
        version: the run id; the CLI sets it to the checkpoint's run when resuming, so the run continues.
        offline: force offline (True) or online (False); None decides as above.
        project: W&B project.
        entity: W&B entity (team or user); None uses your default.
        group: W&B group (the CLI sets the task name).
        tags: W&B tags (the CLI adds task, norm, shortcut and variant).
        job_type: W&B job type.
        log_model: upload checkpoints as W&B artifacts when online (``True``: at the end of training;
            ``"all"``: each one as it is saved), the newest aliased ``latest`` and the best ``best`` (Lightning's
            aliases). Offline there is nothing to upload to: the checkpoints stay as files in the run's
            ``checkpoints/`` folder, and the logger says so once instead of failing as Lightning's does.
        resume: wandb.init's resume mode; the CLI sets "allow" when resuming.
    """

    def __init__(
        self,
        name: str | None = None,
        save_dir: str = ".",
        version: str | None = None,
        offline: bool | None = None,
        project: str = "pono-gan",
        entity: str | None = None,
        group: str | None = None,
        tags: list[str] | None = None,
        job_type: str | None = "train",
        log_model: bool | Literal["all"] = False,
        resume: str | None = None,
    ) -> None:
        offline = wandb_offline(offline)
        if offline and log_model:
            rank_zero_info(
                "W&B is offline: log_model is off for this run (artifacts need a server); the checkpoints stay as "
                "files in the run's checkpoints/ folder"
            )
            log_model = False
        if offline and os.environ.get("WANDB_MODE", "").lower() not in ("offline", "dryrun"):
            rank_zero_info(
                f"W&B: no login found, logging offline under {os.path.join(save_dir, 'wandb')}; "
                "upload later with `wandb sync <that folder>/offline-run-*`"
            )
        extra = {
            k: v
            for k, v in dict(entity=entity, group=group, tags=tags, job_type=job_type, resume=resume).items()
            if v is not None
        }
        if offline:
            # Lightning signals offline with WANDB_MODE=dryrun, which recent wandb no longer honours: say it plainly.
            extra["mode"] = "offline"
        os.makedirs(save_dir, exist_ok=True)
        super().__init__(
            name=name, save_dir=save_dir, version=version, offline=offline, project=project, log_model=log_model,
            **extra
        )
