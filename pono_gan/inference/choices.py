"""The names ``infer.py``'s flags accept, in a module that imports nothing heavy (so ``--help`` is instant).

The meanings live beside the code that uses them: :data:`pono_gan.inference.model.PRECISIONS` maps each precision
name but ``auto`` to its dtype (:func:`pono_gan.inference.model.resolve_precision` decides ``auto``),
:func:`pono_gan.inference.export.export_generator` writes each format.
"""

DIRECTIONS = ("AtoB", "BtoA")
PRECISION_NAMES = ("auto", "32", "bf16", "16")
EXPORT_FORMATS = ("onnx", "torchscript")
