"""Translate images with a trained pono-gan checkpoint: the logic behind ``infer.py``, one concern per module.

``model`` (the checkpoint's generator, device, precision, errors), ``jobs`` (input files to output names),
``geometry`` (resize, pad, tiles), ``translator`` (the generator on any image size), ``run`` (a folder in, a
folder out), ``style`` (style codes of style models), ``export`` (ONNX / TorchScript). The pipeline, in order:

1. :func:`load_model`: the checkpoint alone rebuilds the generator (architecture, channels, direction), in eval
   mode exactly as validation runs it. A paired model translates the direction it was trained for; an unpaired one
   needs ``direction="AtoB"`` or ``"BtoA"``.
2. :func:`plan_jobs`: one file, a folder, or a folder tree (recursive) becomes ``(source, target)`` pairs; the
   output tree mirrors the input tree and keeps file names (the extension can be changed).
3. Decoding runs in DataLoader workers (:mod:`pono_gan.data.io` rules: EXIF orientation, palette / 16-bit /
   grayscale inputs, alpha composited over white), optionally resized so the shorter side is ``load_size``.
4. :class:`Translator`: same-size images are batched; each batch is padded to the generator's multiple (reflect,
   or replicate where the image is too small to reflect), run under ``torch.inference_mode`` (and autocast for
   ``bf16`` / ``16``), cropped back, and resized back to the input size if it was resized. With ``tile``, large
   images run tile by tile with overlapping tiles blended by a smooth window, in bounded memory.
5. Outputs (and ``*_moments.png`` maps) are written atomically by background threads
   (:func:`pono_gan.data.io.save_image`), so a killed run leaves no truncated file; a rerun skips outputs that
   exist unless ``overwrite``.

Alpha: an RGBA / LA / transparent-palette input is translated as composited over white, and its alpha is put
back unchanged on the output where the format has alpha (PNG, WebP, TIFF); JPEG and BMP drop it;
``keep_alpha=False`` drops it everywhere.

Tiles: PONO and instance norm use per-image statistics, so a tile does not see the statistics of the whole
image and tiled results differ slightly from whole-image results (most near tile seams, which the window hides).
Use tiles only when the whole image does not fit in memory, and make them as large as memory allows.
"""

from pono_gan.lazy import lazy_exports

# Names are imported on first use (PEP 562), so `import pono_gan.inference.choices` (infer.py's flags) stays light.
_HOMES = {
    "DIRECTIONS": "choices",
    "EXPORT_FORMATS": "choices",
    "PRECISIONS": "model",
    "InferenceError": "model",
    "InferenceOptions": "run",
    "Job": "jobs",
    "Model": "model",
    "Summary": "run",
    "Translator": "translator",
    "export_generator": "export",
    "load_model": "model",
    "min_input_size": "model",
    "moments_panel": "run",
    "pad_to_multiple": "geometry",
    "plan_jobs": "jobs",
    "resize_shorter_side": "geometry",
    "default_batch_size": "run",
    "resolve_device": "model",
    "run_inference": "run",
    "style_codes": "style",
    "translate_jobs": "run",
}
__all__ = list(_HOMES)

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
