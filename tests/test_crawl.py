"""The crawler, through real HTTP and the real flickrapi client, lands exactly the offline world's photos."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import duckdb
import pytest

from catalog import connect, load_classes, select_classes
from pipeline.crawl import CrawlSettings, Credentials, crawl
from pipeline.crawl.ratelimit import TokenBucket
from pipeline.crawl.writer import COMMIT_SECONDS
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, Faults, SimServer, World
from tests.conftest import PYTHON, REPO, run_cli

CREDS = Credentials(DEMO_API_KEY, DEMO_API_SECRET)
ENV = {"FLICKR_API_KEY": DEMO_API_KEY, "FLICKR_API_SECRET": DEMO_API_SECRET}


def landed(path) -> tuple[set, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        pairs = set(con.execute("SELECT photo_id, label_id FROM photo_classes").fetchall())
        photos = con.execute("SELECT * FROM photos ORDER BY photo_id").fetchall()
    finally:
        con.close()
    return pairs, photos


def world_pairs(world) -> set:
    t = world.truth()
    return set(zip(t["photo_id"].to_pylist(), t["label_id"].to_pylist()))


def run_crawl(path, server, classes, timeout=20.0):
    con = connect(path)
    try:
        settings = CrawlSettings(api_url=server.rest_url, classes=[c.name for c in classes], rate=1e8, timeout=timeout,
                                 max_upload_date="2021-01-01")
        return crawl(con, settings, credentials=CREDS, show_progress=False)
    finally:
        con.close()


def test_all_42_classes_land_exactly_the_world(tmp_path, sim_server, sim_world):
    s = sim_server()
    out = run_crawl(tmp_path / "a.duckdb", s, load_classes())
    pairs, photos = landed(tmp_path / "a.duckdb")
    assert pairs == world_pairs(sim_world)                  # every (photo, class) once, nothing else
    assert len(photos) == sim_world.num_photos
    assert out["api_calls"] == s.stats["api:flickr.photos.search"] + 1
    # a rerun is incremental: nothing new is uploaded after the watermark, so no photo query pages
    out2 = run_crawl(tmp_path / "a.duckdb", s, load_classes())
    assert out2["new_photos"] == 0 and landed(tmp_path / "a.duckdb")[1] == photos


def test_faults_give_the_same_catalog(tmp_path, sim_server, sim_world):
    s = sim_server()
    classes = select_classes(load_classes(), ["Cat", "Fox", "Skunk", "Raccoon"])
    run_crawl(tmp_path / "clean.duckdb", s, classes)
    s.faults = Faults.parse("5xx=0.1,429=0.05,malformed=0.02,timeout=0.02,api105=0.02,api10=0.02",
                            retry_after_s=0.05, timeout_s=1.5, seed=7)
    run_crawl(tmp_path / "faulty.duckdb", s, classes, timeout=0.7)
    assert sum(v for k, v in s.stats.items() if k.startswith("fault:")) > 0
    assert landed(tmp_path / "faulty.duckdb") == landed(tmp_path / "clean.duckdb")


@pytest.mark.slow
def test_classes_over_the_cap_are_split_and_complete(tmp_path):
    classes = select_classes(load_classes(), ["Cat", "Deer"])
    world = World(1, 0.25, classes=classes)
    with SimServer(world) as s:
        out = run_crawl(tmp_path / "big.duckdb", s, classes)
    pairs, _ = landed(tmp_path / "big.duckdb")
    assert pairs == world_pairs(world)
    sizes = {lid: len(ix.rows) for lid, ix in world.index.items()}
    assert min(sizes.values()) > 4000
    ideal = sum(-(-n // 250) for n in sizes.values())
    assert all(r["windows_split"] >= 1 for r in out["classes"])
    assert out["api_calls"] <= 1.06 * ideal + 2 * len(classes) + 1


@pytest.mark.slow
def test_kill_9_at_random_moments_then_rerun(tmp_path):
    """Five kill -9s mid-crawl, then a rerun: the catalog equals an uninterrupted run's, no finished (or split)
    window is asked for again, and no page the killed process committed is fetched again."""
    classes = select_classes(load_classes(), ["Cat", "Fox"])
    world = World(2, 0.25, classes=classes)
    rng = random.Random(11)
    with SimServer(world) as s:
        run_crawl(tmp_path / "ref.duckdb", s, classes)
        ref_calls = len(s.search_log)
        s.search_log.clear()
        path = tmp_path / "killed.duckdb"
        cmd = [PYTHON, "-m", "flows.cli", "crawl", "--no-prefect", "--json", "--catalog", str(path), "--api-url",
               s.rest_url, "--classes", "Cat,Fox", "--max-upload-date", "2021-01-01", "--rate", "14400",
               "--workers", "1"]
        env = dict(os.environ, **ENV)
        kills, after = 0, []
        for i in range(5):
            before = len(s.search_log)
            p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait for the crawl to get going (every other time: 20 calls, ~3 s, well past the writer's first
            # commit), then kill at a random moment
            deadline = time.time() + 30
            while len(s.search_log) < before + (1 if i % 2 == 0 else 20) and time.time() < deadline \
                    and p.poll() is None:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.05, 1.2))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait(timeout=30)
            con = duckdb.connect(str(path), read_only=True)
            done = set(con.execute("SELECT label_id, min_upload, max_upload FROM crawl_windows "
                                   "WHERE status IN ('done', 'split')").fetchall())
            next_page = {(lid, lo, hi): n for lid, lo, hi, n in con.execute(
                "SELECT label_id, min_upload, max_upload, next_page FROM crawl_windows "
                "WHERE status = 'paging'").fetchall()}
            con.close()
            # the next process must not ask for any window finished so far, nor a page it has landed
            after.append((len(s.search_log), done, next_page))
        final = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr
        log = list(s.search_log)
    assert kills >= 3
    for mark, done, next_page in after:
        asked = [((world.text_to_label[q[0]], q[1], q[2]), q[3]) for q in log[mark:]]
        assert not [w for w, _ in asked if w in done]
        assert not [(w, page) for w, page in asked if page < next_page.get(w, 0)]
    # a kill loses the pages fetched since the writer's last commit (at most COMMIT_SECONDS of calls at this
    # rate, plus the rate limiter's burst) and the page in flight
    per_kill = 1 + TokenBucket().capacity + 14400 / 3600 * COMMIT_SECONDS
    assert len(log) <= ref_calls + kills * per_kill
    assert landed(path) == landed(tmp_path / "ref.duckdb")


def test_page_table_types_dedupes_and_drops_what_flickr_garbles():
    from datetime import datetime

    from pipeline.crawl.pages import page_table

    good = {"id": "5", "owner": "o@N01", "secret": "s", "server": "12", "farm": 3, "title": "t", "latitude": "1.5",
            "longitude": "-2.25", "accuracy": "16", "license": "4", "dateupload": "1262304000",
            "datetaken": "2009-12-31 23:59:59", "ownername": "u", "tags": "a b", "url_z": "z", "width_z": "640",
            "height_z": "480"}
    odd = good | {"id": "6", "farm": "x", "server": None, "latitude": "", "accuracy": "1.5", "license": 7,
                  "datetaken": "2020-02-30 00:00:00", "title": 12, "width_z": ""}
    t = page_table([good, {"id": "no"}, good, odd, {"owner": "no id"}]).to_pylist()
    assert [r["photo_id"] for r in t] == [5, 6]                  # repeated and id-less rows dropped, order kept
    assert t[0] == {"photo_id": 5, "owner": "o@N01", "secret": "s", "server": "12", "farm": 3, "title": "t",
                         "latitude": 1.5, "longitude": -2.25, "accuracy": 16, "license": 4,
                         "date_upload": datetime(2010, 1, 1), "date_taken": datetime(2009, 12, 31, 23, 59, 59),
                         "owner_name": "u", "tags": "a b", "url_z": "z", "width_z": 640, "height_z": 480,
                         "url_c": None, "width_c": None, "height_c": None}
    assert (t[1]["farm"], t[1]["server"], t[1]["latitude"], t[1]["accuracy"], t[1]["license"], t[1]["date_taken"],
            t[1]["title"], t[1]["width_z"]) == (None, "", None, None, 7, None, "12", None)
    assert page_table([]).num_rows == 0


def test_invalid_key_writes_nothing_and_says_one_line(tmp_path, sim_server):
    s = sim_server()
    path = tmp_path / "k.duckdb"
    r = run_cli("crawl", "--no-prefect", "--catalog", path, "--api-url", s.rest_url, "--classes", "Cat",
                env={"FLICKR_API_KEY": "wrong-key", "FLICKR_API_SECRET": "x"})
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "code 100" in lines[0] and "wrong-key" not in r.stderr
    assert not path.exists()


@pytest.mark.parametrize("args, message", [
    (["--classes", "Unicorn"], "unknown class 'Unicorn'"),
    (["--api-url", "http://127.0.0.1:9/services/rest/"], "cannot reach the Flickr API at http://127.0.0.1:9"),
    (["--min-upload-date", "last tuesday"], "upload date 'last tuesday' is not an ISO date"),
])
def test_bad_input_one_line_and_catalog_unchanged(tmp_path, sim_server, args, message):
    s = sim_server()
    path = tmp_path / "c.duckdb"
    ok = run_cli("crawl", "--no-prefect", "--catalog", path, "--api-url", s.rest_url, "--classes", "Skunk",
                 "--max-upload-date", "2021-01-01", env=ENV)
    assert ok.returncode == 0, ok.stderr
    before = landed(path)
    argv = ["crawl", "--no-prefect", "--catalog", path, "--max-upload-date", "2021-01-01"]
    if "--api-url" not in args:
        argv += ["--api-url", s.rest_url]
    r = run_cli(*argv, *args, env=ENV)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and message in r.stderr
    assert landed(path) == before


def test_malformed_catalogue_names_the_row(tmp_path):
    bad = tmp_path / "classes.csv"
    bad.write_text("label_id,name,search_text,oi_mid,imagenet_synsets,in_release\n0,Cat,cat,/m/01yrx,n02123045,true\n"
                   "x,Dog,dog,,,true\n")
    r = run_cli("crawl", "--classes-file", bad, "--catalog", tmp_path / "c.duckdb", env=ENV)
    assert r.returncode == 2 and "row 3: label_id 'x' is not a non-negative integer" in r.stderr
    assert not (tmp_path / "c.duckdb").exists()


def test_locked_catalog_is_one_line(tmp_path):
    path = tmp_path / "locked.duckdb"
    connect(path).close()
    code = f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(60)"
    holder = subprocess.Popen([PYTHON, "-c", code],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        r = run_cli("sql", "--catalog", path, "SELECT 1")
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1 and f"catalog {path} is locked" in r.stderr
    finally:
        holder.kill()
        holder.wait()
