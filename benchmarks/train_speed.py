"""Training iterations per second (one generator + discriminator update) in several settings, same run.

    python benchmarks/train_speed.py                       # ResNet 9 blocks, 64 channels, 256 px, PONO-MS, batch 1
    python benchmarks/train_speed.py --size 128 --steps 8  # quicker

Each setting trains the paired task through a real Lightning Trainer on random images; the first ``--warmup``
iterations (compilation, allocator warm-up) are not timed; the median time per iteration is reported with its
ratio to fp32 eager. PONO statistics stay in float32 in every setting (pono() upcasts bf16 input).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from pono_gan.hardware import cpu_features, cpu_has_native
from pono_gan.models import GeneratorConfig
from pono_gan.tasks import PairedTask


class RandomPairs(Dataset):
    def __init__(self, size: int, length: int) -> None:
        self.size, self.length = size, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        return {k: torch.rand(3, self.size, self.size, generator=generator) * 2 - 1 for k in ("A", "B")}


class StepTimer(pl.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.times, self._start = warmup, [], 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx >= self.warmup:
            self.times.append(time.perf_counter() - self._start)


def measure(args, precision: str, compile_networks: bool, channels_last: bool, task_class: type = PairedTask,
            accelerator: str = "cpu", generator: GeneratorConfig | None = None) -> float:
    """The median seconds of one training iteration of ``task_class`` (default: the paired task with a ResNet of 9
    blocks and 64 channels, PONO-MS) on random ``args.size`` px images, after ``args.warmup`` untimed ones."""
    torch.manual_seed(0)
    task = task_class(generator=generator or GeneratorConfig(base_channels=64, num_blocks=9, pono=True, shortcut="ms"))
    if channels_last:
        task = task.to(memory_format=torch.channels_last)
    if compile_networks:
        for network in (*task.generators.values(), *task.discriminators.values()):
            network.compile()
    timer = StepTimer(args.warmup)
    trainer = pl.Trainer(
        accelerator=accelerator, devices=1, max_steps=args.warmup + args.steps, precision=precision, logger=False,
        callbacks=[timer], enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    loader = DataLoader(RandomPairs(args.size, args.warmup + args.steps), batch_size=args.batch_size)
    trainer.fit(task, loader)
    return statistics.median(timer.times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6, help="timed iterations per setting")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--settings", nargs="+", default=["fp32", "fp32+compile", "bf16", "bf16+compile"],
                        choices=["fp32", "fp32+channels_last", "fp32+compile", "bf16", "bf16+channels_last",
                                 "bf16+compile"])
    args = parser.parse_args()
    print(f"paired task, ResNet 9 blocks / 64 channels, PONO-MS, {args.size} px, batch {args.batch_size}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"CPU: {cpu_features()}")
    settings = args.settings
    if not torch.cuda.is_available() and not cpu_has_native(torch.bfloat16):
        settings = [s for s in settings if not s.startswith("bf16")]
        print("bf16 settings skipped: this CPU has no AVX512-BF16 / AMX, so bfloat16 is emulated (about 100x slower)")
    results = {}
    for setting in settings:
        precision = "bf16-mixed" if setting.startswith("bf16") else "32-true"
        results[setting] = measure(args, precision, "compile" in setting, "channels_last" in setting)
        print(f"{setting:<20} {results[setting]:7.3f} s/iteration  {1 / results[setting]:6.2f} it/s", flush=True)
    reference = results.get("fp32")
    if reference:
        for setting, seconds in results.items():
            print(f"speed-up of {setting:<20} vs fp32 eager: {reference / seconds:5.2f}x")


if __name__ == "__main__":
    main()
