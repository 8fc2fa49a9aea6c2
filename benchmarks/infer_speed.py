"""infer.py's pipeline against a plain loop, images per second over a folder of 256 px photos, in the same run.

    python benchmarks/infer_speed.py                      # 32 images, 3 interleaved rounds
    python benchmarks/infer_speed.py --images 64 --rounds 5 --batch-size 4
    python benchmarks/infer_speed.py --checkpoint runs/demo/checkpoints/last.ckpt     # a trained generator (make demo)

The generator is a realistic one (ResNet, 64 base channels, 9 blocks, PONO-MS: the GeneratorConfig defaults with
pono=True, shortcut="ms"), randomly initialized and loaded from a checkpoint file as infer.py does; or, with
``--checkpoint``, a trained paired or unpaired one. The PSNR of bf16 against fp32 is that generator's: an untrained
network's is not a trained one's (the demo's trained generator loses far less to bf16 than the random one). The
images are random 256 x 256 crops of scikit-image's bundled photos, written as PNG.

- plain loop: for each file, load it, run the fp32 generator on it alone under no_grad, save the result.
- pipeline: pono_gan.inference.translate_jobs (decoding in DataLoader workers, same-size batching, inference mode,
  background writing), in fp32, fp32 + torch.compile (freezing), and bf16 autocast + compile where the CPU has
  native bfloat16 (AVX512-BF16 / AMX; elsewhere bf16 is emulated and far slower, so that case is skipped).

Cases alternate round by round and the median time per folder is reported, so machine noise hits all alike.
Quality: PSNR of each pipeline's written outputs against the plain loop's (fp32) outputs, the worst image.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import interleaved_medians  # noqa: E402

from pono_gan.checkpoint import FORMAT_VERSION, KEY  # noqa: E402
from pono_gan.data.io import list_images, load_image, save_image  # noqa: E402
from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.hardware import cpu_has_native  # noqa: E402
from pono_gan.inference import (  # noqa: E402
    InferenceError,
    InferenceOptions,
    Translator,
    load_model,
    plan_jobs,
    translate_jobs,
)
from pono_gan.models import GeneratorConfig, build_generator, init_weights  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
          "motorcycle_left")


def write_photos(folder: Path, count: int, size: int, seed: int = 0) -> None:
    """``count`` random ``size`` x ``size`` crops of scikit-image's bundled photos (scaled up where too small)."""
    from skimage import data

    rng = np.random.default_rng(seed)
    photos = []
    for name in PHOTOS:
        try:
            photo = getattr(data, name)()
        except Exception:  # a loader that needs the network (pooch) is skipped offline
            continue
        photo = photo if photo.ndim == 3 else np.repeat(photo[..., None], 3, -1)
        photos.append(Image.fromarray(np.ascontiguousarray(photo[..., :3])))
    if not photos:
        raise SystemExit("no scikit-image photo could be loaded")
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        photo = photos[index % len(photos)]
        scale = max(1.0, size / min(photo.size))
        if scale > 1:
            photo = photo.resize((math.ceil(photo.width * scale), math.ceil(photo.height * scale)), Image.BICUBIC)
        left, top = rng.integers(0, photo.width - size + 1), rng.integers(0, photo.height - size + 1)
        photo.crop((left, top, left + size, top + size)).save(folder / f"photo_{index:03d}.png")


def write_checkpoint(path: Path) -> None:
    """A pono-gan checkpoint (the contract in pono_gan.checkpoint) holding a random-init PONO-MS ResNet generator."""
    torch.manual_seed(0)
    config = GeneratorConfig(pono=True, shortcut="ms")
    generator = init_weights(build_generator(config))
    torch.save(
        {
            "state_dict": {"generator." + k: v for k, v in generator.state_dict().items()},
            KEY: {
                "format": FORMAT_VERSION,
                "task": "paired",
                "direction": "AtoB",
                "generators": {"AtoB": {"config": config.to_dict(), "prefix": "generator."}},
                "data": {"channels": [3, 3], "preprocess": "none", "load_size": 256, "crop_size": 256},
                "wandb_run_id": None,
            },
        },
        path,
    )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if error == 0 else 10 * math.log10(255.0**2 / error)


def worst_psnr(reference: Path, candidate: Path) -> float:
    values = []
    for path in list_images(reference):
        with Image.open(path) as a, Image.open(candidate / path.relative_to(reference)) as b:
            values.append(psnr(np.asarray(a), np.asarray(b)))
    return min(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32,
                        help="images per folder (default: %(default)s; with a handful, the pipeline's fixed start-up "
                             "cost, e.g. its DataLoader workers, weighs on its images/s)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="pipeline batch size (default: infer.py's, 1 on CPU)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile cases")
    parser.add_argument("--checkpoint", help="a trained paired or unpaired checkpoint to time (default: a random-init "
                                             "ResNet, 64 channels, 9 blocks, PONO-MS)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), help="the direction of an unpaired --checkpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pono_gan_infer_speed_") as folder:
        # a missing, foreign or truncated --checkpoint, or a --direction it lacks: one line, exit status 2
        try:
            run(args, Path(folder))
        except (PonoGanError, InferenceError) as error:
            parser.exit(2, f"infer_speed: error: {error}\n")


def run(args: argparse.Namespace, work: Path) -> None:
    photos = work / "photos"
    write_photos(photos, args.images, args.size)
    if args.checkpoint:
        checkpoint, described = Path(args.checkpoint), f"{args.checkpoint} (trained)"
    else:
        checkpoint, described = work / "model.ckpt", "ResNet 64 ch 9 blocks PONO-MS (random init)"
        write_checkpoint(checkpoint)
    model = load_model(checkpoint, args.direction)
    if model.styled:
        raise InferenceError(f"{checkpoint}: a style checkpoint needs style codes; give a paired or unpaired one")
    generator, channels = model.generator, model.data.get("channels", [3])[0]
    files = list_images(photos)

    def plain_loop() -> None:
        out = work / "plain"
        for path in files:
            image = load_image(path, channels)
            with torch.no_grad():
                output = generator(image[None] * 2 - 1)[0]
            save_image((output + 1) / 2, out / path.name)

    cases = {"plain loop (one image at a time, fp32)": plain_loop}
    outputs = {}
    bf16_native = cpu_has_native(torch.bfloat16)
    variants = [("fp32", "32", False)]
    if not args.no_compile:
        variants.append(("fp32 + compile", "32", True))
        if bf16_native:
            variants.append(("bf16 autocast + compile", "bf16", True))
    elif bf16_native:
        variants.append(("bf16 autocast", "bf16", False))
    for label, precision, compiled in variants:
        out = work / label.replace(" ", "_").replace("+", "")
        options = InferenceOptions(precision=precision, batch_size=args.batch_size, workers=args.workers,
                                   overwrite=True, progress=False)
        batch_size = args.batch_size or 1
        translator = Translator(generator, "cpu", precision, batch_size=batch_size, compile=compiled)
        jobs = plan_jobs(photos, out)
        cases[f"pipeline {label}"] = (lambda jobs=jobs, options=options, translator=translator:
                                      translate_jobs(model, jobs, options, translator=translator))
        outputs[f"pipeline {label}"] = out

    print(
        f"{args.images} images of {args.size} px, {described}; "
        f"torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
        f"native bf16: {'yes' if bf16_native else 'no'}; pipeline batch {args.batch_size or 1}, {args.workers} workers"
    )
    if not bf16_native:
        print("bf16 cases skipped: this CPU emulates bfloat16 (about 100x slower than fp32 here)")
    medians = interleaved_medians(cases, rounds=args.rounds, repeats=1, warmup=1)
    reference = next(iter(medians))
    base = medians[reference]
    width = max(map(len, medians))
    best = None
    for name, seconds in medians.items():
        line = f"{name:<{width}}  {args.images / seconds:6.3f} images/s"
        if name != reference:
            ratio = base / seconds
            quality = worst_psnr(work / "plain", outputs[name])
            line += f"   speed-up vs plain loop: {ratio:4.2f}x   PSNR vs fp32: {quality:.1f} dB (worst image)"
            if quality >= 40 and (best is None or ratio > best[1]):
                best = (name, ratio, quality)
        print(line)
    if best:
        verdict = "met" if best[1] >= 2 else "not met on this machine"
        print(f"best within 40 dB: {best[0]}: {best[1]:.2f}x the plain loop (target >= 2x: {verdict}), "
              f"PSNR {best[2]:.1f} dB")


if __name__ == "__main__":
    main()
