"""Every command in README.md's bash blocks runs as written, in a dry form that needs no data: ``train.py`` and
``pono-gan train`` with ``--print_config`` (and the run folder a ``# -> runs/...`` comment promises), the argparse
tools parsed by their own parser (a flag that does not exist fails), ``make`` targets with ``make -n``."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
from importlib import import_module

import pytest
import yaml
from jsonargparse import dict_to_namespace

from pono_gan import commands
from pono_gan.cli import main as train_main
from pono_gan.cli import run_folder
from tests.helpers import ROOT


def readme_commands(text: str) -> list[tuple[str, str]]:
    """``(command, comment)`` of each line of the text's bash blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command, _, comment = line.partition(" #")
            if command.strip():
                found.append((" ".join(command.split()), comment.strip()))
    return found


COMMANDS = readme_commands((ROOT / "README.md").read_text())


class Parsed(Exception):
    """Raised by the patched parse_args once a tool's flags have parsed."""


def dry_argparse(monkeypatch, run, args):
    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise Parsed(original(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    with pytest.raises(Parsed):
        run(args)


def dry_train(capsys, args, comment):
    with pytest.raises(SystemExit) as stopped:
        train_main([*args, "--print_config"])
    printed = capsys.readouterr().out
    assert stopped.value.code in (0, None), printed
    promised = re.match(r"-> (runs/\S+)", comment)
    if promised:  # the folder the run would get, from the printed config
        config = dict_to_namespace(yaml.safe_load(printed))
        assert run_folder(config) == promised.group(1).rstrip("/")


def test_the_readme_has_the_commands_a_user_needs():
    text = " ".join(command for command, _ in COMMANDS)
    for needed in ("make demo", "make test", "train.py fit", "infer.py", "pono_gan.evaluate", "pono-gan train"):
        assert needed in text


@pytest.mark.parametrize("command,comment", COMMANDS, ids=[c[:60] for c, _ in COMMANDS])
def test_each_readme_command_runs_in_a_dry_form(command, comment, monkeypatch, capsys):
    words = shlex.split(command)
    if words[0] == "source":
        assert (ROOT / words[1]).parent.name == "bin"
        return
    if words[0] == "make":
        assert subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True).returncode == 0
        return
    monkeypatch.chdir(ROOT)
    if words[0] == "pono-gan":
        if words[1] == "train":
            dry_train(capsys, words[2:], comment)
        else:
            dry_argparse(monkeypatch, commands.main, words[1:])
        return
    assert words[0] in ("python", ".venv/bin/python"), command
    if words[1] == "train.py":
        dry_train(capsys, words[2:], comment)
    elif words[1] == "infer.py":
        dry_argparse(monkeypatch, import_module("pono_gan.inference.cli").main, words[2:])
    else:
        assert words[1] == "-m", command
        module = import_module(words[2])
        run = getattr(module, "main", None) or import_module(f"{words[2]}.cli").main
        dry_argparse(monkeypatch, run, words[3:])
