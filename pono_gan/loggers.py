"""The old home of :mod:`pono_gan.logging.loggers`, kept only so that a run's saved ``config.yaml``, whose
``trainer.logger`` names ``pono_gan.loggers.WandbLogger``, still loads (``--config runs/.../config.yaml``)."""

from pono_gan.logging.loggers import *  # noqa: F403
from pono_gan.logging.loggers import __all__  # noqa: F401
