"""Translate images with a trained pono-gan checkpoint: checkpoint + images in, images out. No training code.

    # a folder tree (recursive); the output tree mirrors it and keeps file names
    python infer.py --checkpoint runs/paired/edges2photo/pono_ms/checkpoints/last.ckpt --input photos/ --output results/
    # one file; an unpaired (CycleGAN-style) model needs a direction
    python infer.py --checkpoint runs/unpaired/horse2zebra/pono_ms/checkpoints/last.ckpt --direction BtoA \\
        --input zebra.jpg --output out/
    # a 4000 x 3000 photo in bounded memory, PNG outputs, the PONO mean / std maps beside each output
    python infer.py --checkpoint last.ckpt --input big/ --output out/ --tile 512 --ext png --save-moments
    # on a GPU in bfloat16 where it has it natively, at the scale the model was trained at (shorter side = training
    # load_size)
    python infer.py --checkpoint last.ckpt --input photos/ --output out/ --device cuda --precision auto \\
        --load-size train
    # a style (MUNIT) model: every content image in the style of every example image, and in 4 random styles
    python infer.py --checkpoint runs/style/cat2dog/pono_ms/checkpoints/last.ckpt --direction AtoB --input cats/ \\
        --output out/ --style dogs/ --num-styles 4
    # the generator alone, for other runtimes
    python infer.py --checkpoint last.ckpt --export onnx generator.onnx
    python infer.py --checkpoint last.ckpt --direction AtoB --export torchscript generator.pt

Behaviour:
- Output size equals input size: images are reflect-padded to the generator's multiple (replicate-padded where an
  image is too small to reflect) and cropped back; ``--load-size N`` first resizes so the shorter side is N
  (``train``: the checkpoint's training load_size) and resizes the result back to the input size.
- Grayscale, RGB, RGBA, palette, 16-bit and EXIF-rotated inputs are read as the model's channel count. An image's
  alpha is composited over white for the model and put back unchanged on the output where the format has alpha
  (PNG, WebP, TIFF); JPEG / BMP drop it; ``--drop-alpha`` drops it everywhere.
- ``--ext same`` (default) keeps every input's file name and format; ``--ext png`` writes lossless PNGs.
- Outputs are written atomically; a rerun skips outputs that exist (``--overwrite`` redoes them) and removes the
  temporary files a killed run left. A corrupt input is named in a warning and the rest go on.
- ``--tile`` runs overlapping tiles blended with a smooth window. PONO and instance norm use per-image statistics,
  so tiled results differ slightly from whole-image ones: use the largest tile that fits in memory.
- A style model writes one output per content image and style, named ``<content>_<style>``: ``cat1_dog7.jpg`` for
  the example ``dog7.jpg`` (``--style`` takes an image or a folder), ``cat1_random0.jpg`` ... for ``--num-styles``
  random codes (drawn with ``--seed``, so a rerun completes the same outputs). Each content image is read once
  for all its styles. Style examples are encoded at the scale of training (shorter side = ``--load-size``, else the
  training load_size when training resized images, else their own size).
- ``--save-moments`` writes NAME_moments.png beside each output: the PONO mean maps (top row) and std maps (bottom
  row), one column per encoder stage, each min-max normalized, at half the working resolution.
- Export writes the generator alone: input float32 NCHW in [-1, 1] with H and W multiples of the generator's
  multiple (pad, then crop back), output in [-1, 1]; the file stores these facts (ONNX metadata_props /
  TorchScript extra file pono_gan.json). ONNX needs ``pip install 'pono-gan[export]'``.

Exit status: 0 when every input was written or skipped, 1 when any input failed, 2 for a usage error (bad flags,
missing / foreign / truncated checkpoint, empty input folder, ...), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys

from pono_gan.inference.choices import DIRECTIONS, EXPORT_FORMATS, PRECISION_NAMES


def build_parser(prog: str = "infer.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True,
                        help="a .ckpt written by train.py; it alone rebuilds the generator")
    parser.add_argument("--input", help="an image file or a folder of images (searched recursively)")
    parser.add_argument("--output", help="the folder that receives the translations (must not be inside --input)")
    parser.add_argument("--direction", choices=DIRECTIONS,
                        help="unpaired and style models only: which way to translate")
    parser.add_argument("--style", metavar="IMAGE_OR_DIR",
                        help="style models: example image(s) of the target domain to render each input in")
    parser.add_argument("--num-styles", type=int, default=0, metavar="N",
                        help="style models: also render each input in N random styles")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random styles (default: %(default)s)")
    parser.add_argument("--ext", default="same",
                        help="output extension: 'same' (keep each input's) or png, jpg, webp, ...")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into sub-folders")
    parser.add_argument("--load-size", metavar="PIXELS|train",
                        help="resize so the shorter side is this before translating")
    parser.add_argument("--drop-alpha", dest="keep_alpha", action="store_false",
                        help="do not copy input alpha to outputs")
    parser.add_argument("--batch-size", type=int,
                        help="same-size images (or tiles) per forward pass (default: 1 on CPU, 8 on GPU)")
    parser.add_argument("--workers", type=int, default=2,
                        help="DataLoader processes that decode images (0: in-process)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--precision", choices=PRECISION_NAMES, default="32",
                        help="32 (default), bf16 / 16 autocast, or auto: bf16 where the device computes it natively (a "
                             "GPU that supports it, a CPU with AVX512-BF16 / AMX), else 32. bf16 is about 3x faster on "
                             "such CPUs but its outputs were 32 dB PSNR from fp32's on a 256 px photo generator")
    parser.add_argument("--tile", type=int, metavar="PIXELS",
                        help="run large images in tiles of this size (a multiple of the generator's)")
    parser.add_argument("--tile-overlap", type=int, metavar="PIXELS", help="overlap between tiles (default: tile / 4)")
    parser.add_argument("--save-moments", action="store_true",
                        help="write NAME_moments.png (PONO mean / std maps) beside each output")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the generator (pays off on many same-size images)")
    parser.add_argument("--train-mode", action="store_true",
                        help="run the generator in training mode, as junyanz's test.py without --eval: batch norm on "
                             "each batch's statistics (keep --batch-size 1 for its results), dropout on "
                             "(seeded by --seed)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--export", nargs=2, metavar=("FORMAT", "PATH"),
                        help=f"write the generator alone ({' | '.join(EXPORT_FORMATS)}) and exit")
    return parser


def main(argv: list[str] | None = None, prog: str = "infer.py") -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    # torch and the models load only now, so --help and flag errors answer at once
    from pono_gan.checkpoint import CheckpointError
    from pono_gan.inference import InferenceError, InferenceOptions, export_generator, load_model, run_inference
    from pono_gan.inference.export import example_path

    try:
        if args.export:
            export_format, path = args.export
            model = load_model(args.checkpoint, args.direction)
            written = export_generator(model, export_format, path)
            also = f" (style codes) and {example_path(written)} (style examples)" if model.styled else ""
            print(f"{prog}: wrote {export_format} generator to {written}{also}")
            return 0
        if not args.input or not args.output:
            parser.error("--input and --output are required (unless --export)")
        options = InferenceOptions(
            direction=args.direction,
            extension=args.ext,
            recursive=args.recursive,
            load_size=args.load_size,
            keep_alpha=args.keep_alpha,
            batch_size=args.batch_size,
            workers=args.workers,
            device=args.device,
            precision=args.precision,
            tile=args.tile,
            tile_overlap=args.tile_overlap,
            save_moments=args.save_moments,
            overwrite=args.overwrite,
            compile=args.compile,
            progress=not args.quiet,
            style=args.style,
            num_styles=args.num_styles,
            seed=args.seed,
            train_mode=args.train_mode,
        )
        summary = run_inference(args.checkpoint, args.input, args.output, options)
    except (CheckpointError, InferenceError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted (outputs written so far are complete; rerun to continue)", file=sys.stderr)
        return 130
    print(f"{prog}: {summary.line()} -> {args.output}")
    return 1 if summary.failed else 0
