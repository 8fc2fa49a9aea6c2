"""Which outputs a run writes: input files and folders mapped to a mirrored output tree, and leftovers of killed runs.

:func:`plan_jobs` names every output (and moment map, and style variant) before anything is translated."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pono_gan.data.io import IMAGE_EXTENSIONS, list_images
from pono_gan.inference.model import InferenceError

MOMENTS_SUFFIX = "_moments.png"



@dataclass(frozen=True)
class Job:
    """One input file, where its translation (and optional moment maps) go, and, for a style model, the name of
    the style it is rendered in (a key of the style codes, see :func:`style_codes`)."""

    source: Path
    target: Path
    moments: Path | None = None
    style: str | None = None

    def done(self) -> bool:
        return self.target.is_file() and (self.moments is None or self.moments.is_file())


def _normalize_extension(extension: str) -> str | None:
    if extension in ("same", "", None):
        return None
    extension = extension.lower()
    extension = extension if extension.startswith(".") else "." + extension
    if extension not in IMAGE_EXTENSIONS:
        raise InferenceError(f"unknown output extension {extension!r}; "
                             f"valid: same, {', '.join(e[1:] for e in IMAGE_EXTENSIONS)}")
    return extension


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan_jobs(
    input_path: str | os.PathLike,
    output_dir: str | os.PathLike,
    extension: str = "same",
    recursive: bool = True,
    save_moments: bool = False,
    styles: Sequence[str] = (),
) -> list[Job]:
    """Map every image under ``input_path`` to its output path under ``output_dir``.

    Args:
        input_path: an image file, or a folder (searched recursively unless ``recursive=False``).
        output_dir: the folder that receives the mirrored tree; must not be, or lie inside, the input folder.
        extension: ``same`` keeps each input's extension (and so its format); ``png``, ``jpg``, ... change it.
        save_moments: also plan ``NAME_moments.png`` beside every output.
        styles: style names for a style model: each input ``NAME.ext`` gets one output ``NAME_STYLE.ext`` per style.

    Raises:
        InferenceError: missing input, empty folder, an output folder inside the input, or two inputs that would
            write the same output (e.g. ``a.jpg`` and ``a.png`` with ``extension="png"``).
    """
    source = Path(input_path)
    output = Path(output_dir)
    suffix = _normalize_extension(extension)
    if not source.exists():
        raise InferenceError(f"input not found: {source} (pass an image file or a folder of images)")
    if output.exists() and not output.is_dir():
        raise InferenceError(f"output is a file, not a folder: {output}")
    resolved_output = output.resolve()
    if source.is_dir():
        resolved_input = source.resolve()
        if _inside(resolved_output, resolved_input):
            raise InferenceError(
                f"output folder {output} is "
                f"{'the input folder' if resolved_output == resolved_input else 'inside the input folder'} "
                f"{source}: a rerun would read its own outputs; choose a folder outside it"
            )
        files = list_images(source, recursive=recursive)
        if not files:
            where = "under" if recursive else "in"
            raise InferenceError(
                f"no images found {where} {source} (looked for {', '.join(IMAGE_EXTENSIONS)}"
                f"{'' if recursive else '; drop --no-recursive to search sub-folders'})"
            )
        relatives = [file.relative_to(source) for file in files]
    else:
        files, relatives = [source], [Path(source.name)]
    jobs, claimed = [], {}
    for file, relative in zip(files, relatives):
        mirrored = output / (relative.with_suffix(suffix) if suffix else relative)
        for style in styles or (None,):
            target = mirrored if style is None else mirrored.with_name(f"{mirrored.stem}_{style}{mirrored.suffix}")
            moments = target.with_name(target.stem + MOMENTS_SUFFIX) if save_moments else None
            for path in (target, moments):
                if path is None:
                    continue
                if path.resolve() == file.resolve():
                    raise InferenceError(f"{file}: its output would overwrite it; choose another output folder")
                if path in claimed:
                    raise InferenceError(
                        f"{file} and {claimed[path]} would both write {path}; use --ext same or rename one of them"
                    )
                claimed[path] = file
            jobs.append(Job(file, target, moments, style))
    return jobs


def remove_stale_temporaries(jobs: Sequence[Job]) -> int:
    """Delete temporary files a killed run left beside the planned outputs (``.NAME.XXXX.part``); returns the count.

    Only files that :func:`pono_gan.data.io.save_image` would have created for these outputs are touched.
    """
    names_by_folder: dict[Path, set[str]] = {}
    for job in jobs:
        for path in (job.target, job.moments):
            if path is not None:
                names_by_folder.setdefault(path.parent, set()).add(path.name)
    removed = 0
    for folder, names in names_by_folder.items():
        if not folder.is_dir():
            continue
        for candidate in folder.glob(".*.part"):
            name = candidate.name[1:].rsplit(".", 2)[0]
            if name in names:
                try:
                    candidate.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed
