"""train.py as a user runs it: W&B offline runs, one-line errors, DDP on two processes (killed runs: test_resume.py)."""

import glob
import os
import sys

import pytest
import torch
import yaml
from jsonargparse import Namespace

from pono_gan.cli import main, run_folder
from pono_gan.logging.loggers import WandbLogger
from tests.helpers import ROOT, history_keys, read_records, run_python, run_record
from tests.tasks.helpers import TINY

PAIRED = ["--config", "configs/paired/base.yaml", "--config", "configs/paired/pono_ms.yaml"]


def train_command(data, run_dir, *extra):
    return [sys.executable, "train.py", "fit", *PAIRED, *TINY, "--data.root", str(data),
            "--trainer.default_root_dir", str(run_dir), *extra]


def run_train(data, run_dir, *extra, env=None, timeout=300):
    return run_python(*train_command(data, run_dir, *extra)[1:], env={"WANDB_MODE": "offline", **(env or {})},
                      timeout=timeout)


def offline_runs(run_dir):
    return sorted(glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb")))


@pytest.mark.slow
def test_wandb_offline_run_holds_metrics_images_and_grouping(tiny_dataset, tmp_path):
    env = {"WANDB_MODE": None, "WANDB_API_KEY": None}  # no mode, no login: the logger picks offline, never prompts
    result = run_train(tiny_dataset, tmp_path / "run", "--trainer.max_steps", "2", "--trainer.val_check_interval", "2",
                       "--images.every_n_steps", "1", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "logging offline" in result.stderr + result.stdout
    [run_file] = offline_runs(tmp_path / "run")
    records = read_records(run_file)
    run = run_record(records)
    assert run.run_group == "paired" and {"pono_ms", "shortcut-ms", "paired"} <= set(run.tags)
    keys = history_keys(records)
    for key in ("train/loss_G", "train/loss_D", "lr/generator", "val/psnr", "val/ssim", "val/l1",
                "trainer/global_step"):
        assert key in keys
    assert {"images/samples/filenames", "images/moments/filenames"} <= keys
    media = glob.glob(os.path.join(os.path.dirname(run_file), "files", "media", "images", "**", "*.png"),
                      recursive=True)
    assert any("samples" in m for m in media) and any("moments" in m for m in media)
    assert os.path.isfile(tmp_path / "run" / "samples" / "samples_latest.png")
    # the dashboard shows the panels the PNG files hold, pixel for pixel (a float tensor handed to wandb.Image comes out
    # black in wandb 0.31)
    import numpy as np
    from PIL import Image

    saved = np.asarray(Image.open(tmp_path / "run" / "samples" / "samples_step0000000.png").convert("RGB"))
    [logged] = [m for m in media if os.path.basename(m).startswith("samples_0_")]
    assert saved.std() > 0 and np.array_equal(np.asarray(Image.open(logged).convert("RGB")), saved)


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_dataset, tmp_path):
    result = run_train(tiny_dataset, tmp_path / "run", "--trainer.max_steps", "2", "--trainer.strategy", "ddp",
                       "--trainer.devices", "2", "--trainer.logger", "false", timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stderr + result.stdout
    assert "max_steps=2" in output
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in output and "GLOBAL_RANK: 1, MEMBER: 2/2" in output  # two ranks ran
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2


@pytest.mark.slow
def test_a_bad_config_key_exits_2_with_one_line(tiny_dataset, tmp_path):
    result = run_train(tiny_dataset, tmp_path / "run", "--trainer.max_steps", "1", "--trainer.logger", "false",
                       "--model.init_args.generator.nrom", "group")
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and "nrom" in lines[-1], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--model.init_args.generator.nrom", "group"], "nrom"),
        (["--model.init_args.generator.norm", "weird"], "weird"),
        (["--data.root", "/nonexistent/data"], "/nonexistent/data"),
        (["--model.init_args.generator.pono", "false"], "model.init_args.generator.pono=False: shortcut='ms'"),
        (["--model.init_args.generator.base_channels", "-4"], "model.init_args.generator.base_channels=-4: must be"),
        (["--model.init_args.generator.num_blocks", "0"], "model.init_args.generator.num_blocks=0"),
        (["--model.init_args.discriminator.num_layers", "0"], "model.init_args.discriminator.num_layers=0"),
        (["--data.batch_size", "0"], "data.batch_size=0"),
        (["--data.crop_size", "32", "--data.load_size", "16"], "data.crop_size=32: larger than load_size 16"),
        (["--data.preprocess", "crop", "--data.crop_size", "999"], "smaller than crop_size 999"),
        (["--model.init_args.optimizer.lr_generator", "-1"], "model.init_args.optimizer.lr_generator=-1.0: must be at"),
        (["--model.init_args.optimizer.lr_generator", "0", "--model.init_args.optimizer.lr_discriminator", "0"],
         "lr_generator=0.0: with lr_discriminator also 0 nothing trains"),
        (["--model.init_args.optimizer.decay_for", "-5"], "model.init_args.optimizer.decay_for=-5"),
        (["--model.init_args.lambda_l1", "-1"], "model.init_args.lambda_l1=-1.0"),
        (["--data.layout", "aligned"], "did you mean layout 'paired' or 'unpaired'?"),
    ],
    ids=["unknown-key", "bad-choice", "missing-data", "shortcut-without-pono", "negative-channels", "no-blocks",
         "no-discriminator-layers", "no-batch", "crop-above-load", "crop-above-image", "negative-lr", "zero-lrs",
         "negative-decay", "negative-loss-weight", "layout-of-another-folder"],
)
def test_user_errors_exit_2_with_one_line(tiny_dataset, tmp_path, capsys, extra, expected):
    """Each fails before a model, a logger or the run folder is made: one line naming the key and value, exit 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *PAIRED, *TINY, "--data.root", str(tiny_dataset), "--trainer.default_root_dir",
              str(tmp_path / "run"), "--trainer.max_steps", "1", "--trainer.logger", "false", *extra])
    assert exit_info.value.code == 2
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("error:") and expected in lines[-1], lines
    assert len(lines[-1]) < 400 and not (tmp_path / "run").exists()


def test_fit_help_says_how_to_see_the_model_options(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "--model.help PairedTask --model.generator.help" in " ".join(capsys.readouterr().out.split())


def test_an_empty_wandb_mode_counts_as_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    logger = WandbLogger(save_dir=str(tmp_path), name="empty-mode")
    assert logger.experiment.settings.mode == "offline"  # wandb itself rejects an empty mode
    logger.experiment.finish()


@pytest.mark.slow
def test_truncated_checkpoint_is_one_line(tiny_dataset, tmp_path):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"PK\x03\x04 truncated")
    result = run_train(tiny_dataset, tmp_path / "run", "--trainer.max_steps", "1", "--ckpt_path", str(broken))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error:") and "broken.ckpt" in result.stderr


def test_log_model_offline_keeps_checkpoints_as_files_and_says_so(tmp_path, caplog):
    # Lightning's own WandbLogger raises on log_model with offline=True; a user without a login must still train
    with caplog.at_level("INFO"):
        logger = WandbLogger(save_dir=str(tmp_path), name="offline-artifacts", offline=True, log_model=True)
    assert logger._log_model is False
    assert any("log_model is off" in record.getMessage() and "checkpoints/" in record.getMessage()
               for record in caplog.records)
    online = WandbLogger(save_dir=str(tmp_path), name="online-artifacts", offline=False, log_model="all")
    assert online._log_model == "all"  # online, Lightning uploads each checkpoint with its latest / best aliases


@pytest.mark.parametrize("subcommand", ["test", "predict"])
def test_only_the_subcommands_the_tasks_implement_are_offered(subcommand, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([subcommand, *PAIRED])
    assert exit_info.value.code == 2
    assert f"invalid choice: '{subcommand}' (choose from 'fit', 'validate')" in capsys.readouterr().err


def test_without_a_run_folder_the_run_is_named_by_task_data_and_variant(tiny_dataset, tmp_path, monkeypatch):
    """Two data sets trained with one variant file never share a folder or a W&B name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    configs = [arg if not arg.endswith(".yaml") else str(ROOT / arg) for arg in PAIRED]
    # its W&B service, started from this folder, ends after the test (conftest's _end_in_process_wandb)
    main(["fit", *configs, *TINY, "--data.root", str(tiny_dataset), "--trainer.max_steps", "1"])
    run = tmp_path / "runs" / "paired" / tiny_dataset.name / "pono_ms"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["logger"]["init_args"]["name"] == f"{tiny_dataset.name}/pono_ms"
    assert run_folder(Namespace(model=Namespace(class_path="pono_gan.tasks.UnpairedTask", init_args=Namespace(
        generator=Namespace(norm="group", pono=False))), data=Namespace(root="data/horse2zebra/"), variant=None)) \
        == os.path.join("runs", "unpaired", "horse2zebra", "group")


@pytest.mark.parametrize("native,why,expected", [(True, "a test CPU with bf16", "bf16-mixed"),
                                                 (False, "no native bfloat16 on this CPU", "32-true")])
def test_unset_precision_is_bf16_where_the_device_has_it_and_says_so(tiny_dataset, tmp_path, monkeypatch, caplog,
                                                                     native, why, expected):
    monkeypatch.setattr("pono_gan.cli.auto_bf16", lambda device: (native, why))
    unset = TINY[:TINY.index("--trainer.precision")] + TINY[TINY.index("--trainer.precision") + 2:]
    with caplog.at_level("INFO"):
        main(["fit", *PAIRED, *unset, "--data.root", str(tiny_dataset), "--trainer.default_root_dir", str(tmp_path),
              "--trainer.max_steps", "1", "--trainer.logger", "false"])
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["trainer"]["precision"] == expected
    assert f"precision {expected} (auto: {why};" in caplog.text
    main(["fit", *PAIRED, *TINY, "--data.root", str(tiny_dataset), "--trainer.default_root_dir", str(tmp_path / "set"),
          "--trainer.max_steps", "1", "--trainer.logger", "false", "--trainer.precision", "32-true"])
    assert yaml.safe_load((tmp_path / "set" / "config.yaml").read_text())["trainer"]["precision"] == "32-true"


def test_resuming_a_run_kept_where_variant_files_used_to_put_it_says_where_it_is(tiny_dataset, tmp_path, monkeypatch,
                                                                                   capsys):
    """A run started before run folders came from the data sits in runs/<task>/<variant>: --ckpt_path last must not
    start a new one elsewhere without a word."""
    monkeypatch.chdir(tmp_path)
    older = tmp_path / "runs" / "paired" / "pono_ms" / "checkpoints"
    older.mkdir(parents=True)
    (older / "last.ckpt").write_bytes(b"a run of an earlier version")
    configs = [arg if not arg.endswith(".yaml") else str(ROOT / arg) for arg in PAIRED]
    with pytest.raises(SystemExit) as stopped:
        main(["fit", *configs, *TINY, "--data.root", str(tiny_dataset), "--trainer.logger", "false", "--ckpt_path",
              "last", "--trainer.max_steps", "1"])
    assert stopped.value.code == 2
    assert ("resume it with --trainer.default_root_dir runs/paired/pono_ms"
            in capsys.readouterr().err.strip().splitlines()[-1])


@pytest.mark.slow
def test_compile_trains_compiled_networks_into_the_same_checkpoint_keys(tiny_dataset, tmp_path):
    from torch._dynamo.utils import counters

    from pono_gan.checkpoint import generator_from_checkpoint, read_checkpoint
    from tests.tasks.helpers import tiny_run

    configs = ["configs/paired/base.yaml", "configs/paired/pono_ms.yaml"]
    counters.clear()
    cli = tiny_run(configs, tiny_dataset, tmp_path / "compiled", "--trainer.max_steps", "2", "--compile", "true")
    assert cli.trainer.global_step == 2 and counters["stats"]["unique_graphs"] > 0
    networks = cli.model.compiled_networks()
    assert len(networks) == 2 and all(n._compiled_call_impl is not None for n in networks)
    plain = tiny_run(configs, tiny_dataset, tmp_path / "plain", "--trainer.max_steps", "2")
    assert all(n._compiled_call_impl is None for n in plain.model.compiled_networks())
    compiled, eager = (read_checkpoint(tmp_path / run / "checkpoints" / "last.ckpt") for run in ("compiled", "plain"))
    assert compiled["state_dict"].keys() == eager["state_dict"].keys()
    generator_from_checkpoint(compiled, "AtoB")  # loads (strictly) into an uncompiled generator
