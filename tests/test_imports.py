"""What entry points import: ``infer.py --help`` and ``python -m pono_gan.evaluate --help`` answer before torch is
imported (about 4 s here), and the networks know nothing of checkpoint files."""

import pytest

from tests.helpers import run_python

PROBE = """
import runpy, sys
sys.argv = {argv!r}
try:
    {run}
except SystemExit as exit:
    code = exit.code
print(code, "torch" in sys.modules)
"""


@pytest.mark.slow
@pytest.mark.parametrize("argv,run", [
    (["infer.py", "--help"], "runpy.run_path('infer.py', run_name='__main__')"),
    (["evaluate", "--help"], "runpy.run_module('pono_gan.evaluate', run_name='__main__', alter_sys=True)"),
    (["infer.py", "--checkpoint", "x.ckpt", "--precision", "64"], "runpy.run_path('infer.py', run_name='__main__')"),
], ids=["infer", "evaluate", "infer-bad-flag"])
def test_help_and_flag_errors_do_not_import_torch(argv, run):
    result = run_python("-c", PROBE.format(argv=argv, run=run), timeout=60)
    code, torch_loaded = result.stdout.split()[-2:]
    assert torch_loaded == "False", result.stderr[-2000:]
    assert code == ("0" if "--help" in argv else "2")


@pytest.mark.slow
def test_the_models_do_not_import_the_checkpoint_module():
    probe = "import sys, pono_gan.models, pono_gan.layers; print('pono_gan.checkpoint' in sys.modules)"
    result = run_python("-c", probe)
    assert result.stdout.strip() == "False", result.stderr[-2000:]


def test_a_saved_run_config_naming_the_old_logger_path_still_resolves():
    from pydoc import locate

    from pono_gan.logging.loggers import WandbLogger

    assert locate("pono_gan.loggers.WandbLogger") is WandbLogger  # runs/.../config.yaml before pono_gan.logging
