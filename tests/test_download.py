"""The downloader, through real HTTP: faults never lose a good photo, kill -9 never changes the result."""
from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from catalog import connect, load_classes, select_classes
from pipeline.crawl import Credentials, FlickrClient, crawl, upload_range
from pipeline.download import download
from pipeline.download.resizer import Resizer
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, Faults, SimServer, World
from tests.conftest import PYTHON, REPO

CLASSES = ["Cat", "Zebra", "Koala", "Skunk", "Whale"]
BAD = dict(img_html=0.03, img_notimage=0.03, img_bomb=0.03, img_missing=0.03)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A crawled template catalog and the server its URLs point at."""
    classes = select_classes(load_classes(), CLASSES)
    world = World(5, 0.004, classes=classes)
    server = SimServer(world).start()
    tmpl = tmp_path_factory.mktemp("tmpl") / "catalog.duckdb"
    con = connect(tmpl)
    crawl(con, FlickrClient(Credentials(DEMO_API_KEY, DEMO_API_SECRET), server.rest_url, calls_per_hour=1e8),
          classes, *upload_range(None, "2021-01-01"), show_progress=False)
    con.close()
    yield server, tmpl
    server.stop()


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
    return {p.relative_to(home).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((home / "images").rglob("*")) if p.is_file()}


def test_faults_lose_no_good_photo_and_record_every_bad_one(served, tmp_path):
    server, tmpl = served
    clean = fresh(tmpl, tmp_path / "clean")
    server.faults = Faults()
    out = download(connect(clean), str(tmp_path / "clean"), static_base=server.static_base, shorter_side=256,
                   show_progress=False)
    assert out["failed"] == 0
    faulty = fresh(tmpl, tmp_path / "faulty")
    server.faults = Faults(img_5xx=0.1, img_429=0.05, img_truncated=0.05, retry_after_s=0.05, seed=3, **BAD)
    try:
        download(connect(faulty), str(tmp_path / "faulty"), static_base=server.static_base, shorter_side=256,
                 attempts=6, show_progress=False)
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


def test_kill_9_then_rerun_gives_the_same_files_and_rows(served, tmp_path):
    server, tmpl = served
    ref = fresh(tmpl, tmp_path / "ref")
    download(connect(ref), str(tmp_path / "ref"), static_base=server.static_base, longest_side=320, show_progress=False)
    home = tmp_path / "killed"
    cat = fresh(tmpl, home)
    cmd = [PYTHON, "-m", "flows.cli", "download", "--catalog", str(cat), "--static-base", server.static_base,
           "--longest-side", "320", "--threads", "2", "--json"]
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
    assert rows(cat) == rows(ref)
    assert files(home) == files(tmp_path / "ref")


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
