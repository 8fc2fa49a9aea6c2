"""Exact resume: a run SIGKILLed at a mid-epoch and then at an epoch-end checkpoint and resumed with
``--ckpt_path last`` ends with the weights, optimizer state, learning rates and image pools of a run that was
never interrupted, for every task, both schedule units and with 0 or 2 DataLoader workers."""

from __future__ import annotations

import glob
import signal

import pytest
import torch

from pono_gan.tasks import ImagePool, UnpairedTask
from tests.tasks import resume_runner
from tests.tasks.helpers import DISCRIMINATOR, GENERATOR, TINY

BATCHES_PER_EPOCH = 3  # the tiny data set: 6 training pairs in batches of 2
MID_EPOCH, EPOCH_END, FINAL = 4, 6, 8

TASKS = {
    # dropout draws from the training stream; validation runs between iterations 3 / 4 and 6 / 7
    "paired": ["--config", "configs/paired/base.yaml", "--config", "configs/paired/pono_ms.yaml",
               "--model.init_args.generator.dropout", "0.5", "--trainer.val_check_interval", "3"],
    # a pool of 3 fills after two iterations, so it swaps from then on
    "unpaired": ["--config", "configs/unpaired/base.yaml", "--config", "configs/unpaired/pono_dms.yaml",
                 "--model.init_args.pool_size", "3"],
    # random style codes draw from the training stream
    "style": ["--config", "configs/style/base.yaml", "--config", "configs/style/pono_ms.yaml",
              "--model.init_args.generator.mlp_dim", "16", "--model.init_args.discriminator.num_scales", "2"],
}


def command(task: str, data, run_dir, unit: str, workers: int, kill_at: int | None, resume: bool,
            wandb: bool = False) -> list[str]:
    args = ["fit", *TASKS[task], *TINY, "--data.root", str(data), "--trainer.default_root_dir", str(run_dir),
            "--data.load_size", "40", "--data.crop_size", "32", "--data.num_workers", str(workers),
            "--trainer.max_steps", str(FINAL), "--trainer.max_epochs", "-1",
            "--checkpoint.every_n_train_steps", "2", "--images.every_n_steps", "3",
            "--model.init_args.optimizer.unit", unit,
            "--model.init_args.optimizer.constant_for", "1" if unit == "epoch" else "3",
            "--model.init_args.optimizer.decay_for", "2" if unit == "epoch" else "6"]
    if not wandb:  # else the default logger, offline (tests/conftest.py sets WANDB_MODE)
        args += ["--trainer.logger", "false"]
    if kill_at is not None:
        args += ["--trainer.callbacks+=tests.tasks.resume_runner.SigkillAt", f"--trainer.callbacks.step={kill_at}"]
    if resume:
        args += ["--ckpt_path", "last"]
    return args


def run(args: list[str]) -> int:
    process = resume_runner.context().Process(target=resume_runner.train, args=(args,))
    process.start()
    process.join(300)
    assert process.exitcode is not None, "a training run hung"
    return process.exitcode


def last(run_dir) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.fixture(scope="module")
def uninterrupted(tiny_dataset, tmp_path_factory):
    """The never-interrupted run of each (task, unit), with 0 workers."""
    cache: dict[tuple[str, str], dict] = {}

    def get(task: str, unit: str) -> dict:
        if (task, unit) not in cache:
            run_dir = tmp_path_factory.mktemp(f"{task}_{unit}_uninterrupted")
            assert run(command(task, tiny_dataset, run_dir, unit, 0, None, False)) == 0
            cache[task, unit] = last(run_dir)
        return cache[task, unit]

    return get


def max_difference(a, b, path="") -> float:
    """The largest |a - b| over two nested checkpoint structures; they must have the same keys and shapes."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype, path
        return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: {sorted(set(a) ^ set(b))}"
        return max([max_difference(a[k], b[k], f"{path}.{k}") for k in a], default=0.0)
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        return max([max_difference(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))], default=0.0)
    assert a == b, f"{path}: {a!r} != {b!r}"
    return 0.0


# Every task with both schedule units and both worker counts; the reference runs use 0 workers, so the runs with
# 2 also show that the workers do not change what is trained on.
@pytest.mark.slow
@pytest.mark.parametrize("unit,workers", [("epoch", 0), ("step", 2)])
@pytest.mark.parametrize("task", list(TASKS))
def test_killed_twice_and_resumed_equals_uninterrupted(task, unit, workers, tiny_dataset, tmp_path, uninterrupted):
    run_dir = tmp_path / "run"
    wandb = task == "paired" and workers == 0  # one of them also logs to W&B (offline), which must not matter
    assert run(command(task, tiny_dataset, run_dir, unit, workers, MID_EPOCH, False, wandb)) == -signal.SIGKILL
    assert last(run_dir)["global_step"] == MID_EPOCH and MID_EPOCH % BATCHES_PER_EPOCH != 0
    assert run(command(task, tiny_dataset, run_dir, unit, workers, EPOCH_END, True, wandb)) == -signal.SIGKILL
    assert last(run_dir)["global_step"] == EPOCH_END and EPOCH_END % BATCHES_PER_EPOCH == 0
    run_ids = {last(run_dir)["pono_gan"]["wandb_run_id"]}
    assert run(command(task, tiny_dataset, run_dir, unit, workers, None, True, wandb)) == 0

    resumed, reference = last(run_dir), uninterrupted(task, unit)
    assert resumed["global_step"] == reference["global_step"] == FINAL
    assert max_difference(resumed["state_dict"], reference["state_dict"]) <= 1e-6
    assert max_difference(resumed["optimizer_states"], reference["optimizer_states"]) <= 1e-6  # Adam, rates
    assert max_difference(resumed.get("image_pools"), reference.get("image_pools")) <= 1e-6
    assert max_difference(resumed["training_rng"], reference["training_rng"]) == 0
    if wandb:  # the resumed runs continued the first run's W&B run: three offline folders of one run id
        run_ids.add(resumed["pono_gan"]["wandb_run_id"])
        [run_id] = run_ids
        folders = sorted(glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb")))
        assert run_id and len(folders) == 3 and all(f.endswith(f"run-{run_id}.wandb") for f in folders)
    rates = [group["lr"] for group in reference["optimizer_states"][0]["param_groups"]]
    assert rates[0] < 2e-4 if task != "style" else rates[0] < 1e-4  # the schedule did decay


def test_a_pool_restored_on_the_cpu_queries_and_saves_on_another_device():
    """A checkpoint's pool comes back on the CPU; a run on a GPU (here: the meta device) mixes its images with
    fakes on that device, and must save again (it crashed in torch.cat with two devices)."""
    saved = ImagePool(2, seed=0)
    saved.query(torch.rand(2, 3, 4, 4))
    task = UnpairedTask(GENERATOR, DISCRIMINATOR, pool_size=2).to("meta")
    task.on_load_checkpoint({"image_pools": {"A": saved.state_dict(), "B": saved.state_dict()}})
    for _ in range(4):
        out = task.pool_a.query(torch.empty(2, 3, 4, 4, device="meta"))
        assert out.device.type == "meta" and out.shape == (2, 3, 4, 4)
    checkpoint: dict = {}
    task.on_save_checkpoint(checkpoint)
    assert checkpoint["image_pools"]["A"]["images"].device.type == "meta"
    assert checkpoint["image_pools"]["A"]["images"].shape == (2, 3, 4, 4)
