"""Our downloader vs img2dataset on the same 3,000 photo-like 640×480 JPEGs served from loopback, same output
(shorter side 256, JPEG quality 95): img/s, CPU s/img and peak RSS side by side.

    .venv/bin/python benchmarks/download.py [--n 3000]

img2dataset runs from its own venv when `.venv-bench/bin/img2dataset` exists (it pulls the `dataclasses`
backport, which breaks Prefect's server in the main venv): python3 -m venv .venv-bench &&
.venv-bench/bin/pip install img2dataset==1.47.0. Otherwise the main venv's img2dataset is used if importable.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _make(args):
    d, start, stop = args
    from pipeline.sim.images import render

    for i in range(start, stop):
        (Path(d) / f"{i}.jpg").write_bytes(render(10_000 + i, i % 42, (640, 480), quality=92))


def _wait_for(port: int, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"image server on port {port} did not start")


def run_measured(cmd, env=None) -> tuple[float, float, float]:
    """wall s, CPU s (user+sys) and peak RSS MB of one child process tree."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"{cmd[:3]} failed with status {status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--processes", type=int, help="our worker processes (default: one per core)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dlbench-"))
    imgs = work / "www"
    imgs.mkdir()
    chunks = [(str(imgs), i, min(a.n, i + 250)) for i in range(0, a.n, 250)]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_make, chunks))
    size = sum(f.stat().st_size for f in imgs.iterdir()) / a.n
    with socket.socket() as s:          # a free port; the server's request log goes nowhere (a full pipe stalls it)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(imgs)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(port)
    urls = [f"http://127.0.0.1:{port}/{i}.jpg" for i in range(a.n)]
    try:
        # ours: a catalog whose photos point at those URLs
        import duckdb  # noqa: F401

        from catalog import connect, load_classes, sync_classes
        cat = work / "ours" / "catalog.duckdb"
        con = connect(cat)
        sync_classes(con, load_classes())
        con.executemany("INSERT INTO photos (photo_id, url_z, source) VALUES (?, ?, 'crawl')",
                        [[i + 1, u] for i, u in enumerate(urls)])
        con.executemany("INSERT INTO photo_classes VALUES (?, ?)", [[i + 1, i % 42] for i in range(a.n)])
        con.close()
        ours = run_measured([sys.executable, "-m", "flows.cli", "download", "--catalog", str(cat), "--shorter-side",
                             "256", "--quality", "95", "--threads", "32", "--json"]
                            + (["--processes", str(a.processes)] if a.processes else []))
        # img2dataset
        (work / "urls.txt").write_text("\n".join(urls) + "\n")
        i2d = REPO / ".venv-bench" / "bin" / "img2dataset"
        cmd = [str(i2d)] if i2d.exists() else [sys.executable, "-c",
                                               "import fire, img2dataset; fire.Fire(img2dataset.download)"]
        theirs = run_measured(cmd + ["--url_list", str(work / "urls.txt"), "--output_folder", str(work / "i2d"),
                                     "--processes_count", "2", "--thread_count", "64", "--output_format", "files",
                                     "--image_size", "256", "--resize_mode", "keep_ratio", "--encode_quality", "95",
                                     "--resize_only_if_bigger", "True", "--enable_wandb", "False"])
        n_i2d = len(list((work / "i2d").rglob("*.jpg")))
        n_ours = len(list((work / "ours" / "images").rglob("*.jpg")))
    finally:
        server.kill()
    print(f"\n{a.n} photo-like 640x480 JPEGs, mean {size / 1e3:.0f} kB, served by python http.server on loopback; "
          f"output shorter side 256, quality 95; 2 cores")
    print(f"{'':<22}{'images':>8}{'wall s':>9}{'img/s':>9}{'CPU s/img':>11}{'peak RSS MB':>13}")
    for name, (wall, cpu, rss), n in (("flickr-mammal", ours, n_ours), ("img2dataset 1.47", theirs, n_i2d)):
        print(f"{name:<22}{n:>8}{wall:>9.1f}{n / wall:>9.1f}{cpu / max(n, 1) * 1000:>9.1f}ms{rss:>13.0f}")
    print(f"speed-up: {(n_ours / ours[0]) / max(n_i2d / theirs[0], 1e-9):.2f}x img/s (goal ≥ 1.5x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
