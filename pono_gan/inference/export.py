"""ONNX and TorchScript export of a generator, with the pre- and post-processing facts stored in the file.

The exported graph is the network alone; :func:`export_generator` writes it atomically. A style (MUNIT) model is
written as two graphs: ``(image, style code) -> translated`` at the path given, and ``(image, style example) ->
translated`` beside it (:func:`example_path`)."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from pono_gan.inference.choices import EXPORT_FORMATS
from pono_gan.inference.geometry import padded_size
from pono_gan.inference.model import InferenceError, Model, min_input_size


class ExampleStyled(nn.Module):
    """A style model driven by an example image: ``(content image, style example) -> translated``, the example's
    style code encoded by the target domain's style encoder (what ``infer.py --style`` does)."""

    def __init__(self, transfer: nn.Module) -> None:
        super().__init__()
        self.transfer = transfer

    def forward(self, x: Tensor, example: Tensor) -> Tensor:
        return self.transfer(x, self.transfer.encode_style(example))


def example_path(path: str | os.PathLike) -> Path:
    """Where the example-driven graph of a style model goes: ``g.onnx`` -> ``g_example.onnx``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_example{path.suffix}")


def exportable_generator(generator: nn.Module) -> nn.Module:
    """A float32 CPU eval-mode copy of ``generator`` (PONO records plain tensor ops under tracing / export)."""
    return copy.deepcopy(generator).float().cpu().eval()


def export_metadata(model: Model) -> dict[str, Any]:
    """What a user of the exported file needs to know, stored inside it (ONNX metadata / TorchScript extra file)."""
    return {
        "producer": "pono-gan",
        "direction": model.direction,
        "task": model.task,
        "multiple": model.multiple,
        "min_size": min_input_size(model.generator),
        "input": f"float32 NCHW, {model.config.in_channels} channels, values in [-1, 1] (x * 2 - 1 for x in [0, 1]), "
        f"H and W multiples of {model.multiple} and at least {min_input_size(model.generator)} "
        "(reflect-pad, crop back)",
        "output": f"float32 NCHW, {model.config.out_channels} channels, values in [-1, 1] ((y + 1) / 2 for [0, 1])",
        "generator": model.config.to_dict(),
        **({"style": f"float32 (N, {model.generator.style_dim}) style codes (N(0, I) for random styles), or in the "
                     f"{example_path('x').stem} graph float32 NCHW example images of the target domain in [-1, 1], "
                     f"any size >= {model.generator.style_min_size}",
            "style_dim": model.generator.style_dim} if model.styled else {}),
    }


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def export_generator(model: Model, export_format: str, path: str | os.PathLike,
                     example_size: int | None = None) -> Path:
    """Write the generator alone as ONNX or TorchScript (float32, CPU, dynamic batch, height and width).

    The file holds the network only: the caller maps images to [-1, 1], pads H and W to a multiple of
    ``model.multiple`` (see :func:`pad_to_multiple`), and maps the output back with ``(y + 1) / 2``. The same facts
    are stored inside the file (ONNX ``metadata_props`` / TorchScript extra file ``pono_gan.json``).

    A style model takes ``(image, style)``: style codes (N, style_dim) in the file at ``path``, example images of
    the target domain in the one at :func:`example_path` (both written; ``path`` is returned).

    Raises:
        InferenceError: unknown format, or ONNX export without the ``onnx`` / ``onnxscript`` packages.
    """
    if export_format not in EXPORT_FORMATS:
        raise InferenceError(f"unknown export format {export_format!r}; valid: {', '.join(EXPORT_FORMATS)}")
    path = Path(path)
    generator = exportable_generator(model.generator)
    minimum = min_input_size(model.generator)
    size = padded_size(example_size or int(model.data.get("crop_size") or 64), model.multiple, minimum)
    image = torch.rand(1, model.config.in_channels, size, size) * 2 - 1
    metadata = export_metadata(model)
    if not model.styled:
        _write(export_format, generator, (image,), ["image"], path, metadata)
        return path
    codes = torch.randn(1, generator.style_dim)
    _write(export_format, generator, (image, codes), ["image", "style"], path, metadata)
    example = torch.rand(1, generator.target.in_channels, size, size) * 2 - 1
    _write(export_format, ExampleStyled(generator), (image, example), ["image", "style_example"], example_path(path),
           metadata)
    return path


def _write(export_format: str, network: nn.Module, inputs: tuple[Tensor, ...], names: list[str], path: Path,
           metadata: dict[str, Any]) -> None:
    """Trace or export ``network`` on ``inputs`` into ``path``, atomically."""
    temporary = _atomic_target(path)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about the generator's Python-level shape checks
            if export_format == "torchscript":
                traced = torch.jit.trace(network, inputs, check_trace=False)
                torch.jit.save(traced, str(temporary), _extra_files={"pono_gan.json": json.dumps(metadata)})
            else:
                _export_onnx(network, inputs, names, temporary, metadata)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def _export_onnx(generator: nn.Module, inputs: tuple[Tensor, ...], names: list[str], path: Path,
                 metadata: dict[str, Any]) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError as error:
        raise InferenceError(
            f"ONNX export needs the onnx and onnxscript packages ({error.name} is missing): "
            "pip install 'pono-gan[export]'"
        ) from None
    import io
    from contextlib import redirect_stdout

    dynamic = torch.export.Dim.DYNAMIC
    with redirect_stdout(io.StringIO()):  # the exporter narrates its steps on stdout
        # batch, height and width of every image input are free; a style code's batch too
        program = torch.onnx.export(
            generator,
            inputs,
            dynamic_shapes=tuple({0: dynamic, 2: dynamic, 3: dynamic} if x.dim() == 4 else {0: dynamic}
                                 for x in inputs),
            input_names=names,
            output_names=["translated"],
            external_data=False,
            verbose=False,
        )
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    onnx.save(proto, str(path))
