"""Download the public pix2pix / CycleGAN data sets into the layouts pono-gan reads.

Names (``--list`` prints them):

* pix2pix archives (``NAME.tar.gz``, layout ``aligned``: ``ROOT/NAME/train/``, ``val/``, ``test/``, each image
  A | B side by side): ``facades``, ``cityscapes``, ``maps``, ``edges2shoes``, ``edges2handbags``, ``night2day``.
* CycleGAN archives (``NAME.zip``, layout ``unpaired``: ``ROOT/NAME/trainA/``, ``trainB/``, ``testA/``,
  ``testB/``): ``horse2zebra``, ``apple2orange``, ``summer2winter_yosemite``, ``monet2photo``,
  ``cezanne2photo``, ``ukiyoe2photo``, ``vangogh2photo``, ``iphone2dslr_flower``, and ``cyclegan-maps``,
  ``cyclegan-cityscapes``, ``cyclegan-facades``: the CycleGAN versions of three pix2pix sets, which keep the
  plain name. ``pix2pix/maps`` and ``cyclegan/maps`` are accepted as spellings of ``maps`` and ``cyclegan-maps``.

A download goes into ``ROOT/NAME.tar.gz.part`` (or ``.zip.part``) and resumes with an HTTP Range request when a
run was cut off (a server that ignores Range sends the whole file, which then replaces the part). The size
(Content-Length, or the registry's when known) and the sha256 (when known) are checked before the part becomes
``ROOT/NAME.tar.gz``. An archive put there by hand is used as it is. Extraction rejects members that would land
outside the target (absolute paths, ``..``, links, devices), runs in a hidden folder beside the target and ends
with one rename, so a killed run leaves no half data set; the archive is deleted afterwards unless
``--keep-archive``. A data set that is already there is not downloaded again.

Command line::

    python -m pono_gan.data.download facades                      # -> data/facades (layout aligned)
    python -m pono_gan.data.download horse2zebra --root datasets   # -> datasets/horse2zebra (layout unpaired)
    python -m pono_gan.data.download --list
    PONO_GAN_DATASETS_URL=http://mirror.example/gans python -m pono_gan.data.download maps   # or --base-url
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from pono_gan.errors import DataError, PonoGanError

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "REGISTRY",
    "Archive",
    "DownloadError",
    "data_config",
    "download",
    "extract",
    "fetch",
    "is_downloaded",
    "main",
    "resolve",
]

#: Where the archives live: ``BASE/pix2pix/datasets/NAME.tar.gz`` and ``BASE/cyclegan/datasets/NAME.zip``.
DEFAULT_BASE_URL = "http://efrosgans.eecs.berkeley.edu"
#: An environment variable that replaces :data:`DEFAULT_BASE_URL` (``--base-url`` wins over it).
BASE_URL_ENV = "PONO_GAN_DATASETS_URL"

_CHUNK = 1 << 20
_USER_AGENT = "pono-gan-download/1"


class DownloadError(PonoGanError, OSError):
    """A download that failed (unreachable, HTTP error, cut off, wrong size or checksum); one line, with the fix."""


@dataclass(frozen=True)
class Archive:
    """One downloadable data set.

    Args:
        name: the registry name and the folder it is extracted to (``ROOT/name``).
        path: the archive's path below the base URL (``pix2pix/datasets/facades.tar.gz``).
        layout: ``aligned`` (pix2pix: ``train/ val/ test/``) or ``unpaired`` (CycleGAN: ``trainA/ trainB/ ...``).
        size: the archive's size in bytes, when known; checked against the server's and the file's.
        sha256: the archive's sha256 (hex), when known; checked before extraction.
        description: one line for ``--list``.
    """

    name: str
    path: str
    layout: str
    size: int | None = None
    sha256: str | None = None
    description: str = ""

    @property
    def suffix(self) -> str:
        """``.tar.gz`` or ``.zip``."""
        return ".tar.gz" if self.path.endswith((".tar.gz", ".tgz")) else PurePosixPath(self.path).suffix

    def url(self, base_url: str | None = None) -> str:
        """The archive's URL below ``base_url`` (default: ``$PONO_GAN_DATASETS_URL`` or :data:`DEFAULT_BASE_URL`)."""
        base = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        return f"{base.rstrip('/')}/{self.path.lstrip('/')}"


_PIX2PIX = {
    "facades": "building facade photos <-> architectural labels (CMP Facades)",
    "cityscapes": "street photos <-> semantic label maps (Cityscapes)",
    "maps": "aerial photos <-> Google maps",
    "edges2shoes": "edge maps <-> shoe photos (UT Zappos50K); large: gigabytes",
    "edges2handbags": "edge maps <-> handbag photos (iGAN); large: gigabytes",
    "night2day": "night <-> day photos of one scene (Transient Attributes)",
}
_CYCLEGAN = {
    "horse2zebra": "horses <-> zebras (ImageNet)",
    "apple2orange": "apples <-> oranges (ImageNet)",
    "summer2winter_yosemite": "Yosemite in summer <-> winter (Flickr)",
    "monet2photo": "Monet paintings <-> landscape photos",
    "cezanne2photo": "Cezanne paintings <-> landscape photos",
    "ukiyoe2photo": "ukiyo-e prints <-> landscape photos",
    "vangogh2photo": "Van Gogh paintings <-> landscape photos",
    "iphone2dslr_flower": "iPhone <-> DSLR flower photos (shallow depth of field)",
    "maps": "aerial photos <-> Google maps, unpaired",
    "cityscapes": "street photos <-> label maps, unpaired",
    "facades": "facade photos <-> labels, unpaired",
}

#: name -> :class:`Archive`. No sizes or checksums are recorded for the upstream archives (none are published);
#: the server's Content-Length is checked instead.
REGISTRY: dict[str, Archive] = {
    **{name: Archive(name, f"pix2pix/datasets/{name}.tar.gz", "aligned", description=text)
       for name, text in _PIX2PIX.items()},
    **{(f"cyclegan-{name}" if name in _PIX2PIX else name): Archive(
        f"cyclegan-{name}" if name in _PIX2PIX else name, f"cyclegan/datasets/{name}.zip", "unpaired",
        description=text) for name, text in _CYCLEGAN.items()},
}

#: The folders a layout must have (the training split).
_REQUIRED = {"aligned": ("train",), "unpaired": ("trainA", "trainB"), "paired": ("trainA", "trainB")}


def resolve(name: str) -> Archive:
    """The registry entry of ``name`` (``maps``, ``cyclegan-maps``, ``pix2pix/maps``, ``cyclegan/maps``).

    Raises:
        PonoGanError: an unknown name (one line with the closest names and ``--list``).
    """
    key = name.strip().lower()
    family, _, rest = key.partition("/")
    if rest and family == "pix2pix" and rest in _PIX2PIX:
        key = rest
    elif rest and family == "cyclegan" and rest in _CYCLEGAN:
        key = f"cyclegan-{rest}" if rest in _PIX2PIX else rest
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, REGISTRY, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PonoGanError(f"unknown data set {name!r}; {hint}`python -m pono_gan.data.download --list` lists them")


# -------------------------------------------------------------------------------------------------- downloading


def _manual_hint(url: str, dest: Path) -> str:
    return f"use --base-url (or ${BASE_URL_ENV}) for a mirror, or download {url} by hand to {dest}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, size: int | None, sha256: str | None, fix: str) -> None:
    """Raise :class:`DownloadError` when ``path`` has another size or sha256 than expected."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise DownloadError(f"{path} is {actual} bytes, expected {size}; {fix}")
    if sha256 is not None:
        digest = _sha256(path)
        if digest != sha256.lower():
            raise DownloadError(
                f"sha256 of {path} is {digest}, expected {sha256.lower()} (corrupt download, or the file changed "
                f"upstream); {fix}"
            )


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes START-END/TOTAL`` (or ``bytes */TOTAL``) -> (START, TOTAL); None where absent or ``*``."""
    if not value or not value.strip().startswith("bytes"):
        return None, None
    span, _, total = value.strip()[5:].strip().partition("/")
    start = span.partition("-")[0]
    return (int(start) if start.isdigit() else None), (int(total) if total.isdigit() else None)


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)  # noqa: S310


def fetch(
    url: str, dest: str | Path, *, size: int | None = None, sha256: str | None = None, progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming a part left by an earlier run.

    The part is resumed with ``Range: bytes=N-``; when the server answers with the whole file (it ignores Range)
    or with another range, the part starts over. The size (the server's, and ``size`` when given) and
    ``sha256`` are checked before the part is renamed to ``dest``.

    Returns:
        ``dest`` as a Path.

    Raises:
        DownloadError: unreachable URL, HTTP error, a cut-off transfer (re-run to resume), a wrong size or
            checksum (delete the part and re-run); one line each.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    delete_part = f"delete {part} and re-run"
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    total: int | None = None
    for _ in range(2):  # the second round starts over without Range
        try:
            response = _open(url, offset, timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:  # the part already holds the whole file, or more
                total = _content_range(error.headers.get("Content-Range"))[1]
                if total is not None and total == offset:
                    break
                part.unlink()
                offset = 0
                continue
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}; {_manual_hint(url, dest)}") from None
        except ValueError as error:  # not a URL urllib can open
            raise DownloadError(f"cannot download {url} ({error}); fix --base-url (or ${BASE_URL_ENV})") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise DownloadError(
                f"cannot download {url} ({reason}); check the connection, {_manual_hint(url, dest)}"
            ) from None
        with response:
            start, total = _content_range(response.headers.get("Content-Range"))
            if offset and (response.status != 206 or start != offset):
                offset = 0  # the server ignored Range (or sent another range): the body is the whole file
                if response.status == 206:
                    continue
            length = response.headers.get("Content-Length")
            if total is None and length is not None and length.isdigit():
                total = offset + int(length)
            if size is not None and total is not None and total != size:
                raise DownloadError(
                    f"{url} is {total} bytes but {size} are expected (a different file, or it changed upstream); "
                    f"fetch it by hand to {dest} or use another --base-url"
                )
            _copy(response, part, offset, total, url, progress, dest.name)
        break
    else:
        raise DownloadError(f"{url}: the server keeps sending the wrong byte range; {delete_part}")
    written = part.stat().st_size
    expected = total if total is not None else size
    if expected is not None and written < expected:
        raise DownloadError(f"download of {url} stopped at {written} of {expected} bytes; re-run to resume")
    if expected is not None and written > expected:
        raise DownloadError(f"{part} is {written} bytes, larger than {url} ({expected} bytes); {delete_part}")
    _check_file(part, size, sha256, delete_part)
    os.replace(part, dest)
    return dest


def _copy(response, part: Path, offset: int, total: int | None, url: str, progress: bool, label: str) -> None:
    """Write the body of ``response`` into ``part`` (appending after ``offset`` bytes) with a progress bar."""
    with open(part, "ab" if offset else "wb") as handle, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
        disable=not progress, leave=False,
    ) as bar:
        try:
            for block in iter(lambda: response.read(_CHUNK), b""):
                handle.write(block)
                bar.update(len(block))
        except (http.client.HTTPException, OSError) as error:
            handle.flush()
            done = handle.tell()
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DownloadError(
                f"download of {url} stopped at {done} of {total or '?'} bytes ({reason}); re-run to resume"
            ) from None


# --------------------------------------------------------------------------------------------------- extracting


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (bool(path.parts) and ":" in path.parts[0])


def _refuse(archive: Path, name: str, why: str) -> DataError:
    return DataError(
        f"{archive}: member {name!r} {why}; refusing to extract it (delete {archive} and get the archive from a "
        "trusted source)"
    )


def _junk(name: str) -> bool:
    """macOS resource forks that some zips carry next to the data."""
    return PurePosixPath(name.replace("\\", "/")).parts[:1] == ("__MACOSX",)


def _extract_members(archive: Path, into: Path) -> None:
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if _unsafe(info.filename):
                    raise _refuse(archive, info.filename, "would be written outside the target folder")
                if not _junk(info.filename):
                    zipped.extract(info, into)
        return
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if _unsafe(member.name):
                raise _refuse(archive, member.name, "would be written outside the target folder")
            if not (member.isfile() or member.isdir()):
                raise _refuse(archive, member.name, "is a link or a device, which a data set does not hold")
            if not _junk(member.name):
                tar.extract(member, into, set_attrs=False, **_TAR_FILTER)


#: Python's own guard against unsafe members as well, where it has one (3.10.12+, 3.11.4+).
_TAR_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _has_layout(folder: Path, layout: str) -> bool:
    return all((folder / name).is_dir() for name in _REQUIRED[layout])


def _splits(folder: Path) -> str:
    """``train/ val/ test/``: the folders of a data set."""
    children = sorted(child.name for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))
    return " ".join(f"{name}/" for name in children)


def extract(archive: str | Path, target: str | Path, layout: str) -> Path:
    """Extract ``archive`` (tar.gz or zip) safely into ``target`` in ``layout``, all at once.

    The members are extracted into a hidden folder beside ``target``; the folder holding the layout's training
    split (the archive's top or its single top folder) is then renamed to ``target``.

    Raises:
        DataError: a member that would land outside the target or is a link / device, an archive that does not
            hold the layout, or a ``target`` that already exists (one line each).
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise DataError(f"{target} already exists; move it away or delete it, then re-run")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.extracting-", dir=target.parent))
    try:
        try:
            _extract_members(archive, staging)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
            raise DataError(f"{archive} is not a readable archive ({error}); delete it and re-run") from None
        tops = [child for child in staging.iterdir() if child.is_dir() and not child.name.startswith(".")]
        found = next((folder for folder in [staging, *tops] if _has_layout(folder, layout)), None)
        if found is None:
            expected = ", ".join(f"{name}/" for name in _REQUIRED[layout])
            raise DataError(
                f"{archive} does not hold layout {layout!r} (no {expected} at its top or in its top folder); "
                f"delete it and re-run, or extract it by hand into {target}"
            )
        os.rename(found, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------------------------------- together


def is_downloaded(name: str | Archive, root: str | Path = "data") -> bool:
    """Whether ``ROOT/NAME`` already holds the data set's layout (its training split)."""
    archive = name if isinstance(name, Archive) else resolve(name)
    return _has_layout(Path(root) / archive.name, archive.layout)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` so that two runs do not write one part file (POSIX only; else a no-op)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise PonoGanError(f"another download holds {path}; wait for it to finish") from None
        yield


def download(
    name: str | Archive, root: str | Path = "data", *, base_url: str | None = None, keep_archive: bool = False,
    progress: bool = True, timeout: float = 60.0,
) -> Path:
    """Download and extract a data set to ``ROOT/NAME``; nothing happens when it is already there.

    Args:
        name: a registry name (see :func:`resolve`) or an :class:`Archive`.
        root: the folder that receives ``NAME/`` (and, while it runs, the archive).
        base_url: replaces the host (default: ``$PONO_GAN_DATASETS_URL`` or :data:`DEFAULT_BASE_URL`).
        keep_archive: keep ``ROOT/NAME.tar.gz`` / ``.zip`` after extraction.
        progress: show a progress bar on stderr.
        timeout: seconds to wait for the server before giving up.

    Returns:
        ``ROOT/NAME``.

    Raises:
        PonoGanError: an unknown name, a failed download (:class:`DownloadError`), an unsafe or wrong archive,
            or a ``ROOT/NAME`` that holds something else; one line each.
    """
    archive = name if isinstance(name, Archive) else resolve(name)
    root = Path(root)
    target = root / archive.name
    if is_downloaded(archive, root):
        return target
    with _lock(root / f".{archive.name}.lock"):
        for stale in root.glob(f".{archive.name}.extracting-*"):  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        if target.exists():
            expected = ", ".join(f"{name}/" for name in _REQUIRED[archive.layout])
            raise DataError(
                f"{target} exists but has no {expected} (layout {archive.layout!r}); move it away or delete it, "
                "then re-run"
            )
        file = root / f"{archive.name}{archive.suffix}"
        url = archive.url(base_url)
        if file.is_file():  # a finished download whose extraction was cut off, or one made by hand
            _check_file(file, archive.size, archive.sha256, f"delete {file} and re-run")
        else:
            if progress:
                print(f"downloading {url}", file=sys.stderr)
            fetch(url, file, size=archive.size, sha256=archive.sha256, progress=progress, timeout=timeout)
        if progress:
            print(f"extracting {file}", file=sys.stderr)
        extract(file, target, archive.layout)
        if not keep_archive:
            file.unlink()
    return target


def data_config(root: str | Path, layout: str) -> str:
    """The ``data:`` lines of a training config for a data set at ``root`` in ``layout``."""
    return f"data:\n  root: {Path(root).as_posix()}\n  layout: {layout}"


def main(argv: Sequence[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(
        prog="python -m pono_gan.data.download", description=__doc__.split("\n\n")[0],
        epilog="Names, layouts and behaviour: see datasets/README.md.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="data sets to download (see --list)")
    parser.add_argument("--list", action="store_true", help="list the data sets and exit")
    parser.add_argument("--root", default="data", help="folder that receives NAME/ (default: %(default)s)")
    parser.add_argument("--base-url", help=f"replaces {DEFAULT_BASE_URL} (a mirror; default: ${BASE_URL_ENV} if set)")
    parser.add_argument("--keep-archive", action="store_true", help="keep the .tar.gz / .zip after extraction")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the server (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.list:
        width = max(map(len, REGISTRY))
        for archive in REGISTRY.values():
            url = archive.url(args.base_url)
            print(f"{archive.name:<{width}}  {archive.layout:<8}  {archive.description}  ({url})")
        return []
    if not args.names:
        parser.error("name a data set (or pass --list)")
    targets = []
    try:
        for name in args.names:
            archive = resolve(name)
            already = is_downloaded(archive, args.root)
            target = download(archive, args.root, base_url=args.base_url, keep_archive=args.keep_archive,
                              progress=not args.quiet, timeout=args.timeout)
            state = "already there" if already else "ready"
            print(f"{state}: {target} ({_splits(target)}, layout {archive.layout!r}); train with:")
            print(data_config(target, archive.layout))
            targets.append(target)
    except PonoGanError as error:
        parser.exit(2, f"download: error: {error}\n")
    return targets


if __name__ == "__main__":
    main()
