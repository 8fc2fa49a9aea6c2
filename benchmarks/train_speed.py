"""Training iterations per second (one generator + discriminator update) in several settings, same run.

    python benchmarks/train_speed.py                       # ResNet 9 blocks, 64 channels, 256 px, PONO-MS, batch 1
    python benchmarks/train_speed.py --size 128 --steps 8  # quicker
    python benchmarks/train_speed.py --task style --threads 1 --settings fp32 bf16   # a style study's run

Each setting trains the paired task (or with ``--task style`` the style study's model: the config files of
``benchmarks/ablation.py --task fonts_kai`` and ``configs/style/VARIANT.yaml``, on 64 px one-channel glyphs in
batches of 4) through a real Lightning Trainer on random images; the first ``--warmup`` iterations (compilation,
allocator warm-up) are not timed; the median time per iteration is reported with its ratio to fp32 eager. PONO
statistics stay in float32 in every setting (pono() upcasts bf16 input).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from pono_gan.hardware import cpu_features, cpu_has_native
from pono_gan.models import GeneratorConfig
from pono_gan.tasks import GANTask, PairedTask, StyleTask

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import CONFIGS, PRESETS  # noqa: E402

#: the style study (benchmarks/ablation.py --task fonts_kai): its config files, then a variant file of configs/style/
STYLE_STUDY = PRESETS["fonts_kai"]


class RandomPairs(Dataset):
    def __init__(self, size: int, length: int, channels: tuple[int, int] = (3, 3)) -> None:
        self.size, self.length, self.channels = size, length, channels

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        return {k: torch.rand(c, self.size, self.size, generator=generator) * 2 - 1
                for k, c in zip(("A", "B"), self.channels)}


def _merged(target: dict, update: dict) -> dict:
    for key, value in update.items():
        target[key] = _merged(dict(target.get(key) or {}), value) if isinstance(value, dict) else value
    return target


def style_study_task(variant: str = "pono_ms") -> StyleTask:
    """The style study's task as its configs build it (the model's init_args of each file, merged in order)."""
    init_args: dict = {}
    for name in (*STYLE_STUDY.configs, f"{STYLE_STUDY.task}/{variant}.yaml"):
        init_args = _merged(init_args, (yaml.safe_load((CONFIGS / name).read_text()).get("model") or {})
                            .get("init_args") or {})
    return StyleTask(**init_args)


class StepTimer(pl.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.times, self._start = warmup, [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx >= self.warmup:
            self.times.append(time.perf_counter() - self._start)


def measure(args, precision: str, compile_networks: bool, channels_last: bool, task_class: type = PairedTask,
            accelerator: str = "cpu", generator: GeneratorConfig | None = None,
            make_task: Callable[[], GANTask] | None = None) -> float:
    """The median seconds of one training iteration of ``make_task()`` or ``task_class`` (default: the paired task
    with a ResNet of 9 blocks and 64 channels, PONO-MS) on random ``args.size`` px images, after ``args.warmup``
    untimed ones; compiled as ``train.py --compile`` compiles it."""
    torch.manual_seed(0)
    task = make_task() if make_task else task_class(
        generator=generator or GeneratorConfig(base_channels=64, num_blocks=9, pono=True, shortcut="ms"))
    if channels_last:
        task = task.to(memory_format=torch.channels_last)
    if compile_networks:
        task.compile_networks()
    timer = StepTimer(args.warmup)
    trainer = pl.Trainer(
        accelerator=accelerator, devices=1, max_steps=args.warmup + args.steps, precision=precision, logger=False,
        callbacks=[timer], enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    data = RandomPairs(args.size, (args.warmup + args.steps) * args.batch_size, task.image_channels)
    loader = DataLoader(data, batch_size=args.batch_size)
    trainer.fit(task, loader)
    if len(timer.times) != args.steps:
        raise RuntimeError(f"timed {len(timer.times)} iterations of {args.steps}: the data ran out")
    return statistics.median(timer.times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("paired", "style"), default="paired",
                        help="paired: a ResNet of 9 blocks / 64 channels with PONO-MS and a PatchGAN; style: the "
                             "style study's model (default: %(default)s)")
    parser.add_argument("--variant", default="pono_ms", help="the style task's variant, a configs/style/ file")
    parser.add_argument("--size", type=int, help="default: 256, 64 for --task style")
    parser.add_argument("--batch-size", type=int, help="default: 1, 4 for --task style")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's; a study's run has 1)")
    parser.add_argument("--steps", type=int, default=6, help="timed iterations per setting")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--settings", nargs="+", default=["fp32", "fp32+compile", "bf16", "bf16+compile"],
                        choices=["fp32", "fp32+channels_last", "fp32+compile", "bf16", "bf16+channels_last",
                                 "bf16+compile"])
    args = parser.parse_args()
    style = args.task == "style"
    if style and not (CONFIGS / STYLE_STUDY.task / f"{args.variant}.yaml").is_file():
        variants = sorted(p.stem for p in (CONFIGS / STYLE_STUDY.task).glob("*.yaml") if p.stem != "base")
        parser.error(f"--variant {args.variant}: no configs/style/{args.variant}.yaml; valid: {', '.join(variants)}")
    args.size = args.size or (64 if style else 256)
    args.batch_size = args.batch_size or (4 if style else 1)
    if args.threads:
        torch.set_num_threads(args.threads)
    make_task = (lambda: style_study_task(args.variant)) if style else None
    model = (f"the style study's model ({args.variant})" if style
             else "paired task, ResNet 9 blocks / 64 channels, PONO-MS")
    print(f"{model}, {args.size} px, batch {args.batch_size}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"CPU: {cpu_features()}")
    settings = args.settings
    if not torch.cuda.is_available() and not cpu_has_native(torch.bfloat16):
        settings = [s for s in settings if not s.startswith("bf16")]
        print("bf16 settings skipped: this CPU has no AVX512-BF16 / AMX, so bfloat16 is emulated (about 100x slower)")
    results = {}
    for setting in settings:
        precision = "bf16-mixed" if setting.startswith("bf16") else "32-true"
        results[setting] = measure(args, precision, "compile" in setting, "channels_last" in setting,
                                   make_task=make_task)
        print(f"{setting:<20} {results[setting]:7.3f} s/iteration  {1 / results[setting]:6.2f} it/s", flush=True)
    reference = results.get("fp32")
    if reference:
        for setting, seconds in results.items():
            print(f"speed-up of {setting:<20} vs fp32 eager: {reference / seconds:5.2f}x")


if __name__ == "__main__":
    main()
