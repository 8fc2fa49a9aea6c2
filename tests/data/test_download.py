"""The data set downloader against a local HTTP server (127.0.0.1, ephemeral port) that serves small archives."""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pono_gan.data import download as dl
from pono_gan.data.datasets import make_dataset
from pono_gan.data.transforms import Preprocessing
from pono_gan.errors import DataError, PonoGanError
from tests.data import make_aligned, make_unpaired

EVAL = Preprocessing(preprocess="none")


class _Server:
    """Serves ``files`` (URL path -> bytes) with Range support; records each request's path and Range header."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.cut_after: int | None = None  # send only this many body bytes once, then close
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                ranged = self.headers.get("Range")
                if ranged and not server.ignore_range:
                    start = int(ranged.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.cut_after is not None:
                    payload, server.cut_after = payload[: server.cut_after], None
                    self.close_connection = True
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def ranges(self) -> list[str | None]:
        return [ranged for _, ranged in self.requests]


@pytest.fixture
def server():
    served = _Server()
    served.thread.start()
    try:
        yield served
    finally:
        served.httpd.shutdown()
        served.httpd.server_close()
        served.thread.join(timeout=5)


def _tar_gz(source: Path, top: str, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source, arcname=top)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(source: Path, top: str, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zipped.write(path, f"{top}/{path.relative_to(source).as_posix()}")
        for name, data in (extra or {}).items():
            zipped.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def pix2pix_archive(tmp_path, server) -> tuple[dl.Archive, bytes]:
    """A pix2pix-style ``tiny.tar.gz`` (top folder ``tiny/`` with train/ val/ test/ aligned images), served."""
    source = tmp_path / "src" / "tiny"
    for split, count in (("train", 4), ("val", 2), ("test", 2)):
        make_aligned(source, split, count=count, size=(16, 16))
    data = _tar_gz(source, "tiny")
    server.files["/pix2pix/datasets/tiny.tar.gz"] = data
    archive = dl.Archive("tiny", "pix2pix/datasets/tiny.tar.gz", "aligned", len(data), hashlib.sha256(data).hexdigest())
    return archive, data


@pytest.fixture
def cyclegan_archive(tmp_path, server) -> tuple[dl.Archive, bytes]:
    """A CycleGAN-style ``tinyz.zip`` (``tinyz/trainA/ trainB/ testA/ testB/`` plus macOS junk), served."""
    source = tmp_path / "src" / "tinyz"
    make_unpaired(source, "train", count_a=3, count_b=4, size=(16, 16))
    make_unpaired(source, "test", count_a=1, count_b=2, size=(16, 16))
    data = _zip(source, "tinyz", {"__MACOSX/tinyz/trainA/._a0.png": b"junk"})
    server.files["/cyclegan/datasets/tinyz.zip"] = data
    return dl.Archive("tinyz", "cyclegan/datasets/tinyz.zip", "unpaired"), data


def _files(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


# --------------------------------------------------------------------------------------------------- the registry


def test_registry_names_urls_and_layouts():
    assert dl.resolve("facades").url() == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
    assert dl.resolve("maps").layout == "aligned"
    assert dl.resolve("pix2pix/maps") is dl.resolve("maps")
    cyclegan_maps = dl.resolve("cyclegan/maps")
    assert cyclegan_maps is dl.resolve("cyclegan-maps")
    assert (cyclegan_maps.layout, cyclegan_maps.suffix) == ("unpaired", ".zip")
    assert cyclegan_maps.url("http://mirror/x/") == "http://mirror/x/cyclegan/datasets/maps.zip"
    assert dl.resolve("cyclegan/horse2zebra") is dl.resolve("horse2zebra")
    assert len(dl.REGISTRY) == 17
    with pytest.raises(PonoGanError, match=r"unknown data set 'horse2zebr'; did you mean horse2zebra\?.*--list"):
        dl.resolve("horse2zebr")


def test_list_prints_every_name_with_its_url(capsys):
    assert dl.main(["--list", "--base-url", "http://mirror"]) == []
    out = capsys.readouterr().out
    assert len(out.splitlines()) == len(dl.REGISTRY)
    assert "cyclegan-facades" in out and "http://mirror/cyclegan/datasets/facades.zip" in out


# --------------------------------------------------------------------------------------------- download + extract


def test_pix2pix_tar_gz_extracts_into_the_aligned_layout(tmp_path, server, pix2pix_archive):
    archive, _ = pix2pix_archive
    root = tmp_path / "data"
    target = dl.download(archive, root, base_url=server.url, progress=False, timeout=5)
    assert target == root / "tiny"
    assert _files(target) == sorted(
        [f"train/a{i}.png" for i in range(4)] + [f"val/a{i}.png" for i in range(2)]
        + [f"test/a{i}.png" for i in range(2)]
    )
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == ["tiny"]  # archive and part gone
    assert not list(root.glob(".tiny.extracting-*"))
    assert len(make_dataset(target, "aligned", "train", preprocessing=EVAL, train=False)) == 4
    assert server.ranges() == [None]


def test_cyclegan_zip_extracts_into_the_unpaired_layout_and_keeps_the_archive(tmp_path, server, cyclegan_archive):
    archive, data = cyclegan_archive
    root = tmp_path / "data"
    target = dl.download(archive, root, base_url=server.url, keep_archive=True, progress=False, timeout=5)
    assert _files(target) == sorted(
        [f"trainA/a{i}.png" for i in range(3)] + [f"trainB/b{i}.png" for i in range(4)] + ["testA/a0.png"]
        + [f"testB/b{i}.png" for i in range(2)]
    )
    assert (root / "tinyz.zip").read_bytes() == data
    assert not (root / "__MACOSX").exists()
    dataset = make_dataset(target, "unpaired", "train", preprocessing=EVAL, train=False)
    assert len(dataset) == 4


def test_second_run_is_a_no_op(tmp_path, server, pix2pix_archive, monkeypatch, capsys):
    archive, _ = pix2pix_archive
    monkeypatch.setitem(dl.REGISTRY, "tiny", archive)
    root = tmp_path / "data"
    dl.main(["tiny", "--root", str(root), "--base-url", server.url, "--quiet"])
    first = capsys.readouterr().out
    assert f"ready: {root / 'tiny'} (test/ train/ val/, layout 'aligned')" in first
    assert f"data:\n  root: {(root / 'tiny').as_posix()}\n  layout: aligned\n" in first
    before = {path: path.stat().st_mtime_ns for path in (root / "tiny").rglob("*")}
    dl.main(["tiny", "--root", str(root), "--base-url", server.url, "--quiet"])
    assert capsys.readouterr().out.startswith(f"already there: {root / 'tiny'}")
    assert len(server.requests) == 1
    assert {path: path.stat().st_mtime_ns for path in (root / "tiny").rglob("*")} == before


def test_the_environment_variable_sets_the_host(tmp_path, server, cyclegan_archive, monkeypatch):
    archive, _ = cyclegan_archive
    monkeypatch.setenv(dl.BASE_URL_ENV, server.url + "/")
    dl.download(archive, tmp_path, progress=False, timeout=5)
    assert server.requests[0][0] == "/cyclegan/datasets/tinyz.zip"


# ------------------------------------------------------------------------------------------------------- resuming


def test_a_partial_download_is_resumed_with_a_range_request(tmp_path, server, pix2pix_archive):
    archive, data = pix2pix_archive
    root = tmp_path / "data"
    root.mkdir()
    (root / "tiny.tar.gz.part").write_bytes(data[:1000])
    dl.download(archive, root, base_url=server.url, keep_archive=True, progress=False, timeout=5)
    assert server.ranges() == ["bytes=1000-"]
    assert hashlib.sha256((root / "tiny.tar.gz").read_bytes()).hexdigest() == archive.sha256
    assert (root / "tiny" / "train" / "a0.png").is_file()


def test_a_server_that_ignores_range_restarts_the_file(tmp_path, server, pix2pix_archive):
    archive, data = pix2pix_archive
    server.ignore_range = True
    part = tmp_path / "tiny.tar.gz.part"
    part.write_bytes(b"X" * 500)  # not even the right bytes: the whole file replaces them
    dl.fetch(f"{server.url}/{archive.path}", tmp_path / "tiny.tar.gz", size=archive.size, sha256=archive.sha256,
             progress=False, timeout=5)
    assert server.ranges() == ["bytes=500-"]
    assert (tmp_path / "tiny.tar.gz").read_bytes() == data
    assert not part.exists()


def test_a_cut_transfer_says_re_run_and_the_re_run_completes_it(tmp_path, server, pix2pix_archive):
    archive, data = pix2pix_archive
    server.cut_after = 700
    with pytest.raises(dl.DownloadError, match=r"stopped at 700 of \d+ bytes.*re-run to resume") as caught:
        dl.download(archive, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert "\n" not in str(caught.value)
    assert (tmp_path / "tiny.tar.gz.part").stat().st_size == 700
    assert not (tmp_path / "tiny").exists()
    dl.download(archive, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert server.ranges() == [None, "bytes=700-"]
    assert (tmp_path / "tiny" / "val" / "a1.png").is_file()


def test_a_complete_part_is_finished_on_416(tmp_path, server, pix2pix_archive):
    archive, data = pix2pix_archive
    (tmp_path / "tiny.tar.gz.part").write_bytes(data)
    dl.download(archive, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert server.ranges() == [f"bytes={len(data)}-"]
    assert (tmp_path / "tiny" / "train").is_dir()


# ----------------------------------------------------------------------------------------------------- mistakes


def test_checksum_mismatch_is_one_line_and_nothing_is_extracted(tmp_path, server, pix2pix_archive):
    archive, _ = pix2pix_archive
    wrong = dl.Archive(archive.name, archive.path, archive.layout, archive.size, "0" * 64)
    with pytest.raises(dl.DownloadError) as caught:
        dl.download(wrong, tmp_path, base_url=server.url, progress=False, timeout=5)
    message = str(caught.value)
    part = tmp_path / "tiny.tar.gz.part"
    assert "\n" not in message and "sha256" in message and f"delete {part} and re-run" in message
    assert part.is_file()
    assert not (tmp_path / "tiny").exists() and not (tmp_path / "tiny.tar.gz").exists()


def test_size_mismatch_with_the_registry_fails_before_downloading(tmp_path, server, pix2pix_archive):
    archive, _ = pix2pix_archive
    wrong = dl.Archive(archive.name, archive.path, archive.layout, archive.size + 1)
    with pytest.raises(dl.DownloadError, match=rf"is {archive.size} bytes but {archive.size + 1} are expected"):
        dl.download(wrong, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert not (tmp_path / "tiny").exists()


def test_404_is_one_line_naming_the_url_and_the_fixes(tmp_path, server, capsys):
    missing = dl.Archive("gone", "pix2pix/datasets/gone.tar.gz", "aligned")
    with pytest.raises(dl.DownloadError) as caught:
        dl.download(missing, tmp_path, base_url=server.url, progress=False, timeout=5)
    message = str(caught.value)
    assert message.startswith(f"{server.url}/pix2pix/datasets/gone.tar.gz: HTTP 404")
    assert "--base-url" in message and f"by hand to {tmp_path / 'gone.tar.gz'}" in message and "\n" not in message


def test_an_unreachable_host_exits_2_with_one_line(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as caught:
        dl.main(["facades", "--root", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}", "--quiet",
                 "--timeout", "5"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"download: error: cannot download http://127.0.0.1:{port}/pix2pix/datasets/facades.tar.gz")
    assert "--base-url" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "facades").exists()


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("member", ["../evil.png", "/tmp/evil.png"])
def test_path_traversal_members_are_refused(tmp_path, server, kind, member):
    source = tmp_path / "src" / "bad"
    make_aligned(source, "train", count=1, size=(8, 8))
    pack = _tar_gz if kind == "tar" else _zip
    data = pack(source, "bad", {member: b"pwned"})
    path = f"pix2pix/datasets/bad.{'tar.gz' if kind == 'tar' else 'zip'}"
    server.files[f"/{path}"] = data
    root = tmp_path / "data" / "deep"
    with pytest.raises(DataError, match=r"member '.*evil.png' would be written outside the target folder; refusing"):
        dl.download(dl.Archive("bad", path, "aligned"), root, base_url=server.url, progress=False, timeout=5)
    assert not (root / "bad").exists() and not list(root.glob(".bad.extracting-*"))
    assert not (tmp_path / "data" / "evil.png").exists()


def test_link_members_are_refused(tmp_path):
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("link/train/x.png")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataError, match="is a link or a device"):
        dl.extract(archive, tmp_path / "link", "aligned")
    assert not (tmp_path / "link").exists()


def test_an_archive_without_the_layout_is_refused(tmp_path, server, cyclegan_archive):
    archive, _ = cyclegan_archive
    as_aligned = dl.Archive(archive.name, archive.path, "aligned")
    with pytest.raises(DataError, match=r"does not hold layout 'aligned' \(no train/"):
        dl.download(as_aligned, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert not (tmp_path / "tinyz").exists()


def test_a_foreign_target_folder_is_not_touched(tmp_path, server, pix2pix_archive):
    archive, _ = pix2pix_archive
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=r"tiny exists but has no train/ \(layout 'aligned'\); move it away"):
        dl.download(archive, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert (tmp_path / "tiny" / "notes.txt").read_text() == "mine"
    assert server.requests == []


def test_an_archive_put_there_by_hand_is_used_and_a_stale_extraction_is_cleaned(tmp_path, server, pix2pix_archive):
    archive, data = pix2pix_archive
    (tmp_path / "tiny.tar.gz").write_bytes(data)
    (tmp_path / ".tiny.extracting-old" / "tiny").mkdir(parents=True)  # left by a killed run
    dl.download(archive, tmp_path, base_url=server.url, progress=False, timeout=5)
    assert server.requests == []
    assert (tmp_path / "tiny" / "train" / "a3.png").is_file()
    assert not (tmp_path / ".tiny.extracting-old").exists()
