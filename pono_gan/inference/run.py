"""A whole inference run: decoding in workers, batching, atomic writes, the summary; what ``infer.py`` calls.

:func:`run_inference` plans the jobs and :func:`translate_jobs` carries them out."""

from __future__ import annotations

import os
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.utils import make_grid

from pono_gan.data.io import ImageReadError, load_image_and_alpha, save_image
from pono_gan.inference.geometry import resize_shorter_side, resize_to
from pono_gan.inference.jobs import Job, plan_jobs, remove_stale_temporaries
from pono_gan.inference.model import (
    PRECISIONS,
    InferenceError,
    Model,
    load_model,
    precision_warning,
    resolve_device,
    resolve_load_size,
    resolve_precision,
    warn,
)
from pono_gan.inference.style import style_codes, style_size
from pono_gan.inference.translator import Translator, is_out_of_memory
from pono_gan.layers import Moments
from pono_gan.logging.viz import moment_maps


@dataclass
class InferenceOptions:
    """Everything ``infer.py`` can set besides the paths (defaults are the CLI's)."""

    direction: str | None = None
    extension: str = "same"
    recursive: bool = True
    load_size: int | str | None = None
    keep_alpha: bool = True
    batch_size: int | None = None
    workers: int = 2
    device: str = "auto"
    precision: str = "32"
    tile: int | None = None
    tile_overlap: int | None = None
    save_moments: bool = False
    overwrite: bool = False
    compile: bool = False
    progress: bool = True
    style: str | None = None
    num_styles: int = 0
    seed: int = 0
    train_mode: bool = False


@dataclass
class Summary:
    """What a run did; ``failures`` holds one line per failed input."""

    written: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.written} written, {self.skipped} skipped, {self.failed} failed "
            f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s)"
        )


class _Decode(Dataset):
    """Decodes one image per item in a DataLoader worker; failures come back as messages, not exceptions."""

    def __init__(self, sources: Sequence[Path], channels: int, load_size: int | None) -> None:
        self.sources = list(sources)
        self.channels = channels
        self.load_size = load_size

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.sources[index]
        try:
            image, alpha = load_image_and_alpha(path, self.channels)
            size = tuple(image.shape[-2:])
            if self.load_size:
                image = resize_shorter_side(image, self.load_size)
        except ImageReadError as error:
            return {"index": index, "error": str(error)}
        except Exception as error:  # any decoder failure names the file; the run goes on
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            return {"index": index, "error": f"{path}: cannot be read ({reason})"}
        return {"index": index, "image": image, "alpha": alpha, "size": size, "error": None}


def default_batch_size(device: torch.device) -> int:
    """1 on a CPU (batching made a 2-core CPU slower per image: the convolutions already use every core), 8 on a GPU."""
    return 1 if device.type == "cpu" else 8


def translate_jobs(
    model: Model,
    jobs: Sequence[Job],
    options: InferenceOptions | None = None,
    warn: Callable[[str], None] = warn,
    translator: Translator | None = None,
    styles: Mapping[str, Tensor] | None = None,
) -> Summary:
    """Translate ``jobs`` with ``model``; per-input failures are warned about and counted, never raised.

    ``translator`` reuses a :class:`Translator` across calls (e.g. a compiled one); by default one is built from
    ``options`` (device, precision, tile, batch size, moments, compile; None: the defaults, a new instance each
    call). A style model needs ``styles``, the codes
    its jobs name (:func:`style_codes`); each input is decoded once however many styles it is rendered in.

    Raises:
        InferenceError: bad options (tile size, precision, device, load size, moments without PONO), a style job
            without its code.
    """
    options = options or InferenceOptions()
    start = time.perf_counter()
    translator, load_size, batch_size = _translator(model, options, translator, warn)
    remove_stale_temporaries(jobs)
    todo = list(jobs) if options.overwrite else [job for job in jobs if not job.done()]
    summary = Summary(skipped=len(jobs) - len(todo))
    if todo:
        _check_styles(model, todo, styles)
        _Execution(translator, batch_size, styles or {}, options, warn, summary, len(todo)).run(todo, model, load_size)
    summary.seconds = time.perf_counter() - start
    return summary


def _translator(model: Model, options: InferenceOptions, translator: Translator | None,
                warn: Callable[[str], None]) -> tuple[Translator, int | None, int]:
    """The translator ``options`` ask for (or the one given), the load size and the batch size, after checking
    the options."""
    from tqdm import tqdm

    device = translator.device if translator is not None else resolve_device(options.device)
    precision, chosen = resolve_precision(options.precision, device)
    if precision not in PRECISIONS:
        raise InferenceError(f"unknown precision {precision!r}; valid: auto, {', '.join(PRECISIONS)}")
    note = precision_warning(precision, device)
    if note:
        warn(note)
    load_size = resolve_load_size(options.load_size, model)
    batch_size = options.batch_size or default_batch_size(device)
    if batch_size < 1:
        raise InferenceError(f"--batch-size {batch_size}: must be at least 1")
    if translator is None:
        translator = Translator(model.generator, device, precision, options.tile, options.tile_overlap, batch_size,
                                with_moments=options.save_moments, compile=options.compile,
                                train_mode=options.train_mode, seed=options.seed)
    if chosen and options.progress:  # once the options have passed the translator's checks
        tqdm.write(chosen, file=sys.stderr)
    return translator, load_size, batch_size


def _check_styles(model: Model, jobs: Sequence[Job], styles: Mapping[str, Tensor] | None) -> None:
    missing = {job.style for job in jobs if job.style is not None} - set(styles or {})
    if missing or (model.styled and any(job.style is None for job in jobs)):
        raise InferenceError(f"{model.path}: a style model needs a style code for every job "
                             f"(missing: {sorted(missing) or 'none given'})")


#: (decoded item, job): one output to make
_Entry = tuple[dict[str, Any], Job]


class _Execution:
    """One :func:`translate_jobs` call at work: inputs decoded in workers are gathered into batches of one size and
    one style, translated, and written by two writer threads; ``summary`` counts what happened."""

    def __init__(self, translator: Translator, batch_size: int, styles: Mapping[str, Tensor],
                 options: InferenceOptions, warn: Callable[[str], None], summary: Summary, total: int) -> None:
        from tqdm import tqdm

        self.translator, self.styles, self.options, self.warn, self.summary = translator, styles, options, warn, summary
        self.batch_size = batch_size
        self.bar = tqdm(total=total, unit="img", desc="translating", disable=not options.progress,
                        dynamic_ncols=True, file=sys.stderr)
        self.writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pono-gan-writer")
        self.writes: deque[tuple[Job, Future]] = deque()
        self.max_writes = max(4, 2 * self.batch_size)
        self.buckets: OrderedDict[tuple[Any, ...], list[_Entry]] = OrderedDict()

    def run(self, jobs: Sequence[Job], model: Model, load_size: int | None) -> None:
        """Decode every source once and make each of its jobs' outputs."""
        jobs_of: dict[Path, list[Job]] = {}
        for job in jobs:
            jobs_of.setdefault(job.source, []).append(job)
        sources = list(jobs_of)
        workers = max(0, self.options.workers) if len(sources) > 1 else 0
        device = self.translator.device
        loader = DataLoader(_Decode(sources, model.config.in_channels, load_size), batch_size=None, shuffle=False,
                            num_workers=workers, pin_memory=device.type == "cuda",
                            prefetch_factor=4 if workers else None)
        try:
            for item in loader:
                self.add(item, jobs_of[sources[item["index"]]])
            while self.buckets:
                self.translate(self.buckets.popitem(last=False)[1])
            self.finish_writes(0)
        finally:
            self.writer.shutdown(wait=True)
            self.bar.close()

    def add(self, item: dict[str, Any], jobs: list[Job]) -> None:
        """One decoded input: a failure counts for each of its jobs; else each job joins the batch of its size and
        style, which runs when full (or, to bound memory, the oldest partial one)."""
        if item["error"] is not None:
            self.fail(item["error"])  # one line per input; every output of it counts as failed
            self.summary.failed += len(jobs) - 1
            self.bar.update(len(jobs))
            return
        for job in jobs:
            if self.translator.tile is not None:
                self.translate([(item, job)])
                continue
            key = (*item["image"].shape, job.style)
            self.buckets.setdefault(key, []).append((item, job))
            if len(self.buckets[key]) >= self.batch_size:
                self.translate(self.buckets.pop(key))
            elif sum(map(len, self.buckets.values())) > 2 * self.batch_size:
                self.translate(self.buckets.popitem(last=False)[1])

    def translate(self, entries: list[_Entry]) -> None:
        """Translate same-size images that share a style; a failed batch is retried one image at a time, so only
        the image that cannot run fails."""
        error = self._try(entries)
        if error is None:
            return
        if len(entries) > 1:
            for entry in entries:
                error = self._try([entry])
                if error is not None:
                    self._failed(entry, error)
        else:
            self._failed(entries[0], error)

    def _try(self, entries: list[_Entry]) -> Exception | None:
        """Translate ``entries`` and queue their writes; the exception where it failed."""
        batch = torch.stack([item["image"] for item, _ in entries])
        style = entries[0][1].style
        try:
            outputs, moments = self.translator(batch, None if style is None else self.styles[style])
        except Exception as error:
            if self.translator.device.type == "cuda":
                torch.cuda.empty_cache()
            return error
        for index, (item, job) in enumerate(entries):
            output = resize_to(outputs[index], tuple(item["size"]))
            self.writes.append((job, self.writer.submit(self._save, job, output, item["alpha"], moments[index])))
        self.bar.update(len(entries))
        self.finish_writes(self.max_writes)
        return None

    def _failed(self, entry: _Entry, error: Exception) -> None:
        job, (height, width) = entry[1], entry[0]["image"].shape[-2:]
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if is_out_of_memory(error):
            tile = self.translator.tile
            hint = f"a smaller --tile (now {tile})" if tile else "--tile 512 (or smaller) to process it in tiles"
            self.fail(f"{job.source}: out of memory translating {width}x{height} on {self.translator.device}; "
                      f"rerun with {hint}")
        else:
            self.fail(f"{job.source}: translation failed ({type(error).__name__}: {reason})")
        self.bar.update(1)

    def _save(self, job: Job, image: Tensor, alpha: Tensor | None, moments: list[Moments]) -> None:
        if job.moments is not None:
            save_image(moments_panel(moments), job.moments)
        save_image(image, job.target, alpha if self.options.keep_alpha else None)

    def finish_writes(self, limit: int) -> None:
        """Wait for the oldest writes until at most ``limit`` are pending; count each as written or failed."""
        while len(self.writes) > limit:
            job, future = self.writes.popleft()
            try:
                future.result()
                self.summary.written += 1
            except Exception as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                self.fail(f"{job.target}: cannot be written ({reason})")

    def fail(self, message: str) -> None:
        self.summary.failed += 1
        self.summary.failures.append(message)
        self.warn(message)


def run_inference(
    checkpoint: str | os.PathLike,
    input_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    options: InferenceOptions | None = None,
    warn: Callable[[str], None] = warn,
) -> Summary:
    """Checkpoint + an image file or folder in, a mirrored folder of translations out (what ``infer.py`` runs).

    Raises:
        CheckpointError, InferenceError: one-line problems with the checkpoint, the paths or the options.
    """
    options = options or InferenceOptions()
    model = load_model(checkpoint, options.direction)
    if options.save_moments and not model.has_pono:
        raise InferenceError(f"{model.path}: --save-moments needs a PONO generator; this one has no PONO layers")
    styles = None
    if model.styled:
        if options.style is None and options.num_styles == 0:
            raise InferenceError(
                f"{model.path}: a style model needs --style IMAGE_OR_DIR (example images of the target domain) "
                "or --num-styles N (random styles)"
            )
        plan_jobs(input_path, output_dir, options.extension, options.recursive)  # input errors before any encoding
        model.generator.to(resolve_device(options.device))
        styles = style_codes(model, options.style, options.num_styles, options.seed,
                             style_size(model, options.load_size), options.recursive, warn)
    elif options.style is not None or options.num_styles:
        raise InferenceError(f"{model.path}: --style / --num-styles need a style model (task: style); "
                             f"this is a {model.task} model")
    jobs = plan_jobs(input_path, output_dir, options.extension, options.recursive, options.save_moments,
                     list(styles or ()))
    return translate_jobs(model, jobs, options, warn, styles=styles)



def moments_panel(moments: Sequence[Moments]) -> Tensor:
    """One (3, H', W') picture of a single image's PONO moments: the mean maps on the top row, the std maps below,
    one column per encoder stage (shallowest on the left), each min-max normalized and shown at the size of the
    first stage (half the working resolution), 2-pixel white gaps.
    """
    if not moments:
        raise ValueError("moments_panel needs at least one stage")
    size = tuple(moments[0].mean.shape[-2:])
    maps = moment_maps([Moments(m.mean[:1].float().cpu(), m.std[:1].float().cpu()) for m in moments], size)
    stages = len(moments)
    ordered = ([maps[f"mean/stage{i}"] for i in range(1, stages + 1)]
               + [maps[f"std/stage{i}"] for i in range(1, stages + 1)])
    return make_grid(torch.cat(ordered), nrow=stages, padding=2, pad_value=1.0)
