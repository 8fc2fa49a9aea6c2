"""Do the two domains' content encoders of a style (MUNIT) checkpoint mean the same by their PONO moments?

    python benchmarks/moment_alignment.py --checkpoint runs/pilot/pono_ms/checkpoints/step0001000.ckpt --data data/fonts

A PONO-MS decoder takes its structure from the moments, and in translation it gets them from the *other* domain's
encoder. This encodes the same test images with both content encoders and prints, per PONO stage, the mean
correlation (over images) between the two encoders' mean maps and between their std maps, and how the AtoB
translations (in the styles of B test images) correlate with their inputs. Opposite signs (a mean-map correlation
near -1) make the decoder draw the input inverted: its strokes as a light halo on grey.

Then which glyph the decoder draws: each PONO stage's mean maps, then its std maps, are taken from another test
image (the content code and the other stages' moments stay the input's), and the translation's correlation with the
content's input and with the moments' input is printed. Where the one with the moments' input wins, that stage's
maps carry the input's strokes past the content code: the decoder draws the source's shapes from them.

On a font benchmark the images are the source font's test glyphs (and the first target font's); elsewhere the
``testA`` images. Both domains must have one channel count.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pono_gan.errors import PonoGanError  # noqa: E402
from pono_gan.inference import load_model  # noqa: E402


def correlation(first: torch.Tensor, second: torch.Tensor) -> float:
    """The mean over the batch of the Pearson correlation between two (B, ...) tensors, image by image."""
    a, b = first.flatten(1).double(), second.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)).mean().item()


def _images(data: Path, limit: int, channels: int) -> dict[str, torch.Tensor]:
    """Named sets of test images in [-1, 1]."""
    from pono_gan.data.io import list_images, load_image
    from pono_gan.evaluate.fonts import Benchmark, is_benchmark

    if is_benchmark(data):
        bench = Benchmark.load(data)
        glyphs = bench.glyphs("test", bench.splits["test"][:limit])
        font = bench.targets[0]  # a font domain B trained on
        return {f"{bench.source} (A) glyphs": glyphs[0], f"{font} (B) glyphs": glyphs[bench.row(font)]}
    paths = list_images(data / "testA")[:limit]
    return {"testA images": torch.stack([load_image(p, channels) for p in paths])}


def measure(checkpoint: Path, data: Path, limit: int = 64) -> list[str]:
    """The report's lines (see the module docstring)."""
    atob, btoa = load_model(checkpoint, "AtoB"), load_model(checkpoint, "BtoA")
    encoder_a, encoder_b = atob.generator.source, btoa.generator.source
    if encoder_a.in_channels != encoder_b.in_channels:
        raise PonoGanError(f"{checkpoint}: the domains have {encoder_a.in_channels} and {encoder_b.in_channels} "
                           "channels; the two encoders can only be compared on the same images")
    lines = []
    with torch.inference_mode():
        sets = {name: images * 2 - 1 for name, images in _images(data, limit, encoder_a.in_channels).items()}
        for name, images in sets.items():
            _, moments_a = encoder_a.encode_content(images)
            _, moments_b = encoder_b.encode_content(images)
            if not moments_a:
                raise PonoGanError(f"{checkpoint}: no PONO layers in its content encoders; nothing to compare")
            means = ", ".join(f"{correlation(a.mean, b.mean):+.2f}" for a, b in zip(moments_a, moments_b))
            stds = ", ".join(f"{correlation(a.std, b.std):+.2f}" for a, b in zip(moments_a, moments_b))
            lines.append(f"{name}: mean maps of encoder A vs B {means}; std maps {stds} (per stage, shallowest first)")
        inputs = next(iter(sets.values()))
        examples = list(sets.values())[-1]
        styles = atob.generator.encode_style(torch.roll(examples, 1, 0))
        content, moments = encoder_a.encode_content(inputs)
        translated = atob.generator.target.decode(content, styles, moments)
        others = torch.roll(torch.arange(len(inputs)), max(1, len(inputs) // 2))  # not the styles' images
        drawn = {}
        for stage in range(len(moments)):
            for part in ("mean", "std"):
                swapped = [m._replace(**{part: getattr(m, part)[others]}) if index == stage else m
                           for index, m in enumerate(moments)]
                drawn[stage, part] = atob.generator.target.decode(content, styles, swapped)
    pairs = zip(encoder_a.content_encoder.parameters(), encoder_b.content_encoder.parameters())
    shared = all(torch.equal(p, q) for p, q in pairs)
    lines.append(f"AtoB translations vs their inputs: correlation {correlation(translated, inputs):+.2f}"
                 + (" (one content encoder shared by both domains)" if shared else "")
                 + f"; vs other inputs {correlation(translated, inputs[others]):+.2f}")
    for (stage, part), images in drawn.items():
        lines.append(f"  stage {stage}'s {part} maps from another input: correlation with the content's input "
                     f"{correlation(images, inputs):+.2f}, with the moments' input "
                     f"{correlation(images, inputs[others]):+.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a style (MUNIT) checkpoint with PONO")
    parser.add_argument("--data", required=True, help="a font benchmark, or data with testA/")
    parser.add_argument("--limit", type=int, default=64, help="test images (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        print("\n".join(measure(Path(args.checkpoint), Path(args.data), args.limit)))
    except PonoGanError as error:
        parser.exit(2, f"moment_alignment: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
