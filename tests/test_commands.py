"""``pono-gan``: the console command after a plain, non-editable install, run from outside the project."""

import os
import shutil
import subprocess
import sys

import pytest

from pono_gan.commands import COMMANDS, main
from pono_gan.packaged import CONFIGS, find_config, with_packaged_configs
from tests.helpers import ROOT


def test_help_lists_every_command_and_an_unknown_one_exits_2(capsys):
    assert main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name in COMMANDS)
    assert main(["trian"]) == 2 and "unknown command 'trian'" in capsys.readouterr().err
    assert main([]) == 2


def test_packaged_configs_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = (ROOT / "configs/style/pono_ms.yaml").read_bytes()
    for name in ("configs/style/pono_ms.yaml", "style/pono_ms.yaml", "style/pono_ms"):
        assert open(find_config(name), "rb").read() == expected
    (tmp_path / "mine.yaml").write_text("trainer: {}\n")
    assert find_config("mine.yaml") == "mine.yaml" and find_config("style/nope") == "style/nope"
    resolved = with_packaged_configs(["fit", "-c", "style/base", "--config=style/pono_ms", "--data.root", "style/base"])
    assert resolved[2].endswith("configs/style/base.yaml") and resolved[3].endswith("configs/style/pono_ms.yaml")
    assert resolved[-1] == "style/base"  # only config values are looked up
    assert sorted(p.relative_to(CONFIGS) for p in CONFIGS.rglob("*.yaml")) == sorted(
        p.relative_to(ROOT / "configs") for p in (ROOT / "configs").rglob("*.yaml"))


def copy_project(destination):
    """The project's files that git tracks or would (the working tree's changes included), links kept as links."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, copy = ROOT / name, destination / name
        if not os.path.lexists(source):
            continue  # deleted in the working tree
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), copy)
        else:
            shutil.copy2(source, copy)


@pytest.mark.slow
def test_after_a_plain_install_pono_gan_answers_from_outside_the_project(tmp_path):
    source, target, elsewhere = tmp_path / "source", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy_project(source)  # as a fresh clone has it: no build/ left by an earlier install
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
               str(target), str(source)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "WANDB_MODE": "offline"}

    def pono_gan(*args):
        return subprocess.run([str(target / "bin" / "pono-gan"), *args], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=180)

    where = subprocess.run([sys.executable, "-c", "import pono_gan.packaged as p; print(p.CONFIGS)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(target)) and not os.path.islink(where)  # the installed copy, configs copied in
    assert "commands:" in pono_gan("--help").stdout
    for command in (["train", "fit", "--help"], ["infer", "--help"], ["evaluate", "--help"]):
        result = pono_gan(*command)
        assert result.returncode == 0 and "usage:" in result.stdout, (command, result.stderr[-2000:])
    result = pono_gan("train", "fit", "--config", "style/base", "--config", "style/pono_ms", "--print_config")
    assert result.returncode == 0 and "moment_loss: true" in result.stdout, result.stderr[-2000:]
