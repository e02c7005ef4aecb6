"""The downloader, through real HTTP: faults never lose a good photo, kill -9 never changes the result, and the
WebDataset layout holds the same images as the files layout, byte-identically across runs."""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import duckdb
import pytest

from catalog import connect
from catalog.errors import UserError
from catalog.images import read_image
from pipeline.download import DownloadSettings, download
from pipeline.download.resizer import Resizer
from pipeline.sim import Faults
from tests.conftest import DOWNLOAD_CLASSES as CLASSES
from tests.conftest import PYTHON, REPO

BAD = dict(img_html=0.03, img_notimage=0.03, img_bomb=0.03, img_missing=0.03)


def fresh(tmpl, d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmpl, d / "catalog.duckdb")
    return d / "catalog.duckdb"


def rows(path, where="TRUE"):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"SELECT photo_id, status, path, bytes, width, height, sha256, error FROM downloads "
                           f"WHERE {where} ORDER BY photo_id").fetchall()
    finally:
        con.close()


def files(home: Path) -> dict:
    """Images under their final names (a kill -9 can leave a ``.tmp<pid>`` beside them, never a half image)."""
    return {p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((home / "images").rglob("*.jpg")) if p.is_file()}


def tars(home: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((home / "shards").glob("*.tar"))}


@pytest.mark.slow
def test_faults_lose_no_good_photo_and_record_every_bad_one(served, tmp_path):
    server, tmpl = served
    clean = fresh(tmpl, tmp_path / "clean")
    server.faults = Faults()
    out = download(connect(clean), str(tmp_path / "clean"),
                   DownloadSettings(static_base=server.static_base, shorter_side=256, processes=1), show_progress=False)
    assert out["failed"] == 0
    faulty = fresh(tmpl, tmp_path / "faulty")
    server.faults = Faults(img_5xx=0.1, img_429=0.05, img_truncated=0.05, retry_after_s=0.05, seed=3, **BAD)
    try:
        download(connect(faulty), str(tmp_path / "faulty"),
                 DownloadSettings(static_base=server.static_base, shorter_side=256, attempts=6, processes=1),
                 show_progress=False)
        bad = {pid for (pid,) in duckdb.connect(str(faulty), read_only=True).execute(
            "SELECT photo_id FROM photos").fetchall() if server.persistent_image_fault(pid)}
    finally:
        server.faults = Faults()
    assert server.stats.get("fault:img_5xx", 0) and server.stats.get("fault:img_truncated", 0)
    got = rows(faulty)
    failed = {r[0]: r[7] for r in got if r[1] == "failed"}
    assert set(failed) == bad and all(failed.values())          # every bad photo has its error, no good one failed
    kinds = " ".join(failed.values())
    for phrase in ("decompression bomb", "not an image: Content-Type text/html", "HTTP 404", "cannot decode"):
        assert phrase in kinds
    good = [r for r in got if r[1] == "ok"]
    assert good == [r for r in rows(clean) if r[0] not in bad]    # same files, sizes and hashes as without faults
    assert all(min(r[4], r[5]) == 256 for r in good)


@pytest.mark.slow
@pytest.mark.parametrize("output_format", ["files", "webdataset"])
def test_kill_9_then_rerun_gives_the_same_files_and_rows(served, layouts, tmp_path, output_format):
    server, tmpl = served
    # the reference: the layouts fixture's uninterrupted in-process download with the same settings
    ref_home, ref_rows = layouts["files" if output_format == "files" else "wds_a"]
    home = tmp_path / "killed"
    cat = fresh(tmpl, home)
    # the CLI runs one worker process per core; the reference ran in-process: same files and rows too
    cmd = [PYTHON, "-m", "flows.cli", "download", "--catalog", str(cat), "--static-base", server.static_base,
           "--longest-side", str(LAYOUT_SIDE), "--shard-size", str(LAYOUT_SHARD), "--threads", "2",
           "--output-format", output_format, "--json"]
    rng = random.Random(5)
    kills = 0
    for _ in range(4):
        p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 3.5))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait(timeout=30)
    final = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert kills >= 1
    assert rows(cat) == ref_rows
    assert files(home) == files(ref_home)
    assert tars(home) == tars(ref_home)
    assert len(tars(home) if output_format == "webdataset" else files(home)) > 1


LAYOUT_SIDE, LAYOUT_SHARD = 160, 128


@pytest.fixture(scope="module")
def layouts(served, tmp_path_factory):
    """The same world downloaded once as files and twice as WebDataset shards: {name: (home, rows)}. Also the
    kill -9 test's reference (it used to download its own at longest side 320)."""
    server, tmpl = served
    server.faults = Faults()
    out = {}
    for name, fmt in (("files", "files"), ("wds_a", "webdataset"), ("wds_b", "webdataset")):
        cat = fresh(tmpl, tmp_path_factory.mktemp(name))
        download(connect(cat), str(cat.parent), DownloadSettings(static_base=server.static_base,
                                                                 longest_side=LAYOUT_SIDE, shard_size=LAYOUT_SHARD,
                                                                 output_format=fmt, processes=1),
                 show_progress=False)
        out[name] = (cat.parent, rows(cat))
    return out


@pytest.mark.slow
def test_webdataset_holds_the_same_images_as_the_files_layout(layouts):
    (_, by_file), (_, by_tar) = layouts["files"], layouts["wds_a"]
    assert {(r[0], r[6]) for r in by_tar if r[1] == "ok"} == {(r[0], r[6]) for r in by_file if r[1] == "ok"}
    assert [r[:2] + r[3:] for r in by_tar] == [r[:2] + r[3:] for r in by_file]     # all but the path
    assert all(r[2].startswith("shards/") and r[2].endswith(f".tar#{r[0]}.jpg") for r in by_tar if r[1] == "ok")


@pytest.mark.slow
def test_webdataset_shards_are_byte_identical_across_runs_and_follow_its_conventions(layouts):
    (home_a, rows_a), (home_b, rows_b) = layouts["wds_a"], layouts["wds_b"]
    assert rows_a == rows_b
    assert tars(home_a) == tars(home_b) and len(tars(home_a)) == (len(rows_a) + 127) // 128
    by_shard: dict[str, list] = {}
    for r in rows_a:
        by_shard.setdefault(r[2].split("#")[0], []).append(r)
    for rel, members in by_shard.items():
        with tarfile.open(home_a / rel) as tar:
            infos = tar.getmembers()
            assert [i.name for i in infos] == [f"{r[0]}.{ext}" for r in members for ext in ("jpg", "cls", "json")]
            assert {(i.mtime, i.uid, i.gid, i.mode) for i in infos} == {(0, 0, 0, 0o644)}
            pid, _, path, _, width, height, sha, _ = members[0]
            meta = json.loads(tar.extractfile(f"{pid}.json").read())
            label = int(tar.extractfile(f"{pid}.cls").read())
        assert meta == {"photo_id": pid, "class": meta["class"], "label": label, "width": width, "height": height,
                        "sha256": sha} and meta["class"] in CLASSES


@pytest.mark.slow
def test_images_read_back_through_the_catalog_path_in_both_layouts(layouts):
    from pipeline.filter.dataset import PhotoDataset
    from pipeline.filter.train import _load_images

    for name in ("files", "wds_a"):
        home, got = layouts[name]
        ok = [r for r in got if r[1] == "ok"]
        assert all(hashlib.sha256(read_image(home, r[2])).hexdigest() == r[6] for r in ok)
        ds = PhotoDataset([(r[0], r[2]) for r in ok[:5]], home, transform=lambda im: im.size)
        assert [ds[i] for i in range(5)] == [(r[0], (r[4], r[5])) for r in ok[:5]]
        assert _load_images(home, [r[2] for r in ok[:3]], 16).shape == (3, 3, 16, 16)
    with pytest.raises(FileNotFoundError, match="has no member '1.jpg'"):
        read_image(home, ok[0][2].split("#")[0] + "#1.jpg")


@pytest.mark.slow
def test_retry_failed_never_overwrites_a_kept_shard(layouts, served, tmp_path):
    from pipeline.download import shard_name

    assert (shard_name(7), shard_name(7, {"00007"}), shard_name(7, {"00007", "00007-1"})) == ("00007", "00007-1",
                                                                                              "00007-2")
    server, _ = served
    home = tmp_path / "wds"
    shutil.copytree(layouts["wds_a"][0], home)
    before = tars(home)
    con = connect(home / "catalog.duckdb")
    first = con.execute("SELECT min(photo_id) FROM downloads").fetchall()[0][0]   # starts a kept shard
    con.execute("UPDATE downloads SET status = 'failed', path = NULL, error = 'HTTP 503' WHERE photo_id = ?", [first])
    out = download(con, str(home), DownloadSettings(static_base=server.static_base, longest_side=160, retry_failed=True,
                                                    output_format="webdataset", processes=1), show_progress=False)
    con.close()
    assert out["downloaded"] == 1
    assert tars(home) == before | {f"{first}-1.tar": tars(home)[f"{first}-1.tar"]}
    got = rows(home / "catalog.duckdb")
    assert [r[2] for r in got if r[0] == first] == [f"shards/{first}-1.tar#{first}.jpg"]
    assert all(hashlib.sha256(read_image(home, r[2])).hexdigest() == r[6] for r in got)


@pytest.mark.slow
def test_export_reads_webdataset_members(layouts):
    """A WebDataset catalog exports: the export extracts its images (issue 21; tests/test_export_ecosystem.py)."""
    from pipeline.export import ExportSettings, export

    home, _ = layouts["wds_a"]
    meta = export(connect(home / "catalog.duckdb"), home / "export", home,
                  ExportSettings(partitioner="iid", num_partitions=2, licenses="all", private=True))
    assert meta["release"] == "private" and len(list((home / "export" / "images").rglob("*.jpg"))) > 0


def test_a_few_photos_in_both_layouts_read_back_through_catalog_images(served, tmp_path):
    """The fast tier's check of the stored-image contract (catalog.images): same bytes from files and tar members."""
    server, tmpl = served
    got = {}
    for fmt in ("files", "webdataset"):
        cat = fresh(tmpl, tmp_path / fmt)
        con = connect(cat)
        con.execute("DELETE FROM photo_classes WHERE photo_id NOT IN (SELECT photo_id FROM photos ORDER BY photo_id "
                    "LIMIT 24)")
        download(con, str(cat.parent), DownloadSettings(static_base=server.static_base, longest_side=64, shard_size=10,
                                                        output_format=fmt, processes=1), show_progress=False)
        con.close()
        ok = [r for r in rows(cat) if r[1] == "ok"]
        assert len(ok) > 10 and all(hashlib.sha256(read_image(cat.parent, r[2])).hexdigest() == r[6] for r in ok)
        got[fmt] = {(r[0], r[6]) for r in ok}
    assert got["files"] == got["webdataset"] and len(tars(tmp_path / "webdataset")) == 3


def test_unknown_output_format_is_one_line(tmp_path):
    with pytest.raises(UserError, match="unknown output format 'tfrecord'; formats are files, webdataset"):
        DownloadSettings(output_format="tfrecord")


@pytest.mark.parametrize("size, kw, want", [((640, 480), dict(shorter_side=256), (341, 256)),
                                            ((480, 640), dict(longest_side=320), (240, 320)),
                                            ((300, 200), dict(shorter_side=256), (300, 200))])
def test_resizer_keeps_aspect_and_never_upscales(size, kw, want):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (120, 30, 200)).save(buf, "JPEG")
    out = Resizer(**kw)(buf.getvalue())
    assert out.error is None and (out.width, out.height) == want
    assert Image.open(io.BytesIO(out.data)).size == want


def test_resizer_rejects_a_bomb_without_decoding_it():
    from pipeline.sim.server import _bomb_png

    out = Resizer()(_bomb_png())
    assert out.data is None and out.error.startswith("decompression bomb")


def test_a_shard_named_by_a_real_flickr_sized_id_is_recorded(tmp_path):
    """Shards are named by their first photo id; real ids (~5e10) overflow 32-bit integers."""
    from pipeline.download import Job, Shard, download_shard, write_rows

    big = 53_123_456_789
    rows = download_shard(str(tmp_path), DownloadSettings(), Shard(big, str(big), [Job(big, 0, "Cat", ())]))
    con = connect(tmp_path / "c.duckdb")
    write_rows(con, rows)
    assert con.execute("SELECT photo_id, shard, status, error FROM downloads").fetchall() == [
        (big, big, "failed", "no URL for this photo")]


def test_fetcher_follows_http_redirects_and_refuses_other_schemes():
    """A real loopback server: 302 to an image is followed; 302 to ftp:// is refused with one line, not retried."""
    import http.server
    import threading

    from pipeline.download.fetcher import Fetcher, FetchError

    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 100

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/img.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(jpeg)))
                self.end_headers()
                self.wfile.write(jpeg)
                return
            self.send_response(302)
            self.send_header("Location", "/img.jpg" if self.path == "/moved" else "ftp://example.org/x.jpg")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        f = Fetcher(attempts=2)
        assert f.get(base + "/moved") == (jpeg, 1)
        with pytest.raises(FetchError, match="URL"):
            f.get(base + "/to-ftp")
        with pytest.raises(FetchError, match="refused non-http"):
            f.get("file:///etc/passwd")
    finally:
        srv.shutdown()
