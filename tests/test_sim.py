"""The offline Flickr service speaks Flickr's API, quirks included, to the real flickrapi client."""
from __future__ import annotations

import io

import flickrapi
import numpy as np
import pytest
import requests
from PIL import Image

from catalog import load_classes, select_classes
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, Faults, World


def api(server, key=DEMO_API_KEY, secret=DEMO_API_SECRET):
    f = flickrapi.FlickrAPI(key, secret, format="parsed-json", store_token=False, cache=False)
    f.REST_URL = server.rest_url
    return f


def test_world_is_deterministic_and_seed_dependent():
    a, b, c = World(3, 0.001), World(3, 0.001), World(4, 0.001)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.truth().equals(b.truth())
    t = a.truth().to_pandas()
    assert (t.true_label_id == -1).any() and (t.true_label_id != t.label_id).mean() > 0.05   # label noise exists
    assert t.groupby("photo_id").size().max() >= 2                                          # multi-class photos


def test_coordinates_fall_in_the_chosen_country(sim_world):
    import reverse_geocoder as rg

    idx = np.random.default_rng(0).choice(sim_world.num_photos, 300, replace=False)
    points = list(zip(sim_world.latitude[idx], sim_world.longitude[idx]))
    got = [r["cc"] for r in rg.search(points, mode=1, verbose=False)]
    assert np.mean(np.array(got) == sim_world.country[idx]) >= 0.95


def test_search_types_paging_and_geo_cap(sim_server):
    s = sim_server()
    r = api(s).photos.search(text="cat", has_geo=1, per_page=500, page=1, extras="geo,url_z,date_upload,license")
    ph = r["photos"]
    assert ph["perpage"] == 250 and isinstance(ph["total"], str)
    p = ph["photo"][0]
    assert all(isinstance(p[k], str) for k in ("id", "latitude", "license", "dateupload", "accuracy"))
    assert not [q for q in ph["photo"] if "url_z" in q and not q["url_z"].startswith(s.static_base)]


def test_page_json_is_byte_for_byte_the_dicts_json(sim_server):
    """The server writes a page's photos column by column; the text is json.dumps of photo_json's dicts."""
    import itertools
    import json

    s = sim_server()
    rows = np.r_[np.arange(300), 17]                          # a repeated row too
    extras = ["geo", "license", "date_upload", "date_taken", "owner_name", "tags", "url_z", "url_c"]
    for k in (0, 1, 2, 8):
        for chosen in itertools.combinations(extras, k):
            want = json.dumps([s.photo_json(int(r), set(chosen)) for r in rows], separators=(",", ":"))
            assert s.photos_json(rows, set(chosen)) == want, chosen
    assert s.photos_json(np.empty(0, dtype=np.int64), set(extras)) == "[]"


def test_results_past_4000_repeat_earlier_ones():
    cls = select_classes(load_classes(), ["Cat"])
    w = World(0, 0.15, classes=cls)
    from pipeline.sim import SimServer

    with SimServer(w) as s:
        f = api(s)
        total = int(f.photos.search(text="cat", has_geo=1, per_page=250)["photos"]["total"])
        assert total > 4000
        ids16 = {p["id"] for page in range(1, 17)
                 for p in f.photos.search(text="cat", has_geo=1, per_page=250, page=page)["photos"]["photo"]}
        page17 = {p["id"] for p in f.photos.search(text="cat", has_geo=1, per_page=250, page=17)["photos"]["photo"]}
        assert page17 and page17 <= ids16


def test_keys_signatures_and_plain_api_key(sim_server):
    s = sim_server()
    with pytest.raises(flickrapi.FlickrError) as e:
        api(s, key="not-the-key").photos.search(text="cat")
    assert str(e.value.code) == "100"
    with pytest.raises(flickrapi.FlickrError) as e:
        api(s, secret="wrong-secret").photos.search(text="cat")
    assert str(e.value.code) == "96"
    r = requests.get(s.rest_url, params=dict(method="flickr.photos.search", api_key=DEMO_API_KEY, text="fox",
                                             format="json", nojsoncallback=1), timeout=10).json()
    assert r["stat"] == "ok" and int(r["photos"]["total"]) > 0
    r = requests.get(s.rest_url, params=dict(method="flickr.photos.search", api_key=DEMO_API_KEY, format="json",
                                             nojsoncallback=1), timeout=10).json()
    assert r == {"stat": "fail", "code": 3, "message": r["message"]}
    lic = api(s).photos.licenses.getInfo()["licenses"]["license"]
    assert [x["id"] for x in lic] == list(range(11))


def test_images_are_photo_sized_and_deterministic(sim_server, sim_world):
    s = sim_server()
    ph = api(s).photos.search(text="zebra", has_geo=1, per_page=20, extras="url_z")["photos"]["photo"]
    url = next(p["url_z"] for p in ph if "url_z" in p)
    a, b = requests.get(url, timeout=10), requests.get(url, timeout=10)
    assert a.headers["Content-Type"] == "image/jpeg" and a.content == b.content
    assert 20_000 < len(a.content) < 300_000
    assert max(Image.open(io.BytesIO(a.content)).size) == 640
    assert requests.get(url.replace("_z.jpg", "_q.jpg"), timeout=10).status_code == 404


def test_fault_rates_roughly_as_configured(sim_server):
    s = sim_server(faults=Faults.parse("5xx=0.2,429=0.1", seed=1))
    codes = [requests.post(s.rest_url, data=dict(method="flickr.photos.licenses.getInfo", api_key=DEMO_API_KEY,
                                                 format="json", nojsoncallback=1), timeout=10).status_code
             for _ in range(300)]
    assert 0.12 < codes.count(502) / 300 < 0.28 and 0.04 < codes.count(429) / 300 < 0.17


def test_persistent_image_faults_are_per_photo():
    f = Faults(img_html=0.1, img_bomb=0.05, seed=2)
    kinds = [f.persistent_image_fault(i) for i in range(2000)]
    assert kinds == [f.persistent_image_fault(i) for i in range(2000)]
    assert 0.07 < kinds.count("img_html") / 2000 < 0.13 and kinds.count("img_bomb") > 50
    with pytest.raises(ValueError, match="unknown fault 'bogus'"):
        Faults.parse("bogus=0.1")


def test_sim_truth_migration_keeps_a_catalog_that_has_it_from_the_old_core_migration(tmp_path):
    """`sim_truth` moved from 001_core to the offline world's own 008_sim_truth; a catalog made before the move
    (table created by 001) migrates cleanly and keeps its rows."""
    from catalog.db import connect, migrations

    path = tmp_path / "old.duckdb"
    con = connect(path, migrate_schema=False)
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
                "applied_at TIMESTAMP DEFAULT current_timestamp)")
    moved = next(v for v, name, _ in migrations() if name == "sim_truth")
    old = [(v, name, sql) for v, name, sql in migrations() if v < moved]      # the schema as it was before the move
    for v, name, sql in old:
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [v, name])
    con.execute("CREATE TABLE sim_truth (photo_id BIGINT NOT NULL, label_id INTEGER NOT NULL, "
                "true_label_id INTEGER NOT NULL, PRIMARY KEY (photo_id, label_id))")       # as the old 001 made it
    con.execute("INSERT INTO sim_truth VALUES (1, 0, -1)")
    con.close()
    con = connect(path)
    assert con.execute("SELECT * FROM sim_truth").fetchall() == [(1, 0, -1)]
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0] == max(v for v, _, _ in
                                                                                            migrations())
    fresh = connect(tmp_path / "new.duckdb")
    assert fresh.execute("SELECT count(*) FROM sim_truth").fetchall() == [(0,)]


# ---- owners as on Flickr ----------------------------------------------------------------------------------------
def test_owners_are_heavy_tailed_as_on_flickr(sim_world):
    """Demo scale: owners at most half the photos, a largest owner of 20+, most owners with one or two photos."""
    from pipeline.sim.owners import owner_sizes

    _, n = np.unique(sim_world.owner, return_counts=True)
    assert len(n) <= sim_world.num_photos / 2 and n.max() >= 20, (len(n), n.max())
    assert (n <= 2).mean() >= 0.6 and n.max() <= 0.05 * sim_world.num_photos + 5   # no owner is the whole world
    sizes = owner_sizes(200_000, np.random.default_rng(0))                             # the law itself, big sample
    assert sizes.sum() == 200_000 and 0.55 <= (sizes == 1).mean() <= 0.66
    tail = [(sizes >= k).mean() for k in (10, 100)]                                  # P(K >= k) ∝ 1/k
    assert 6 <= tail[0] / tail[1] <= 16, tail


def test_owners_shoot_near_home(sim_world):
    """An owner's photos mostly lie in one country (travel photos aside), so owner grouping matters."""
    owners, inverse, n = np.unique(sim_world.owner, return_inverse=True, return_counts=True)
    big = np.flatnonzero(n >= 5)
    modal_share = []
    for o in big:
        _, c = np.unique(sim_world.country[inverse == o], return_counts=True)
        modal_share.append(c.max() / c.sum())
    assert len(big) >= 30 and np.mean(modal_share) >= 0.7, np.mean(modal_share)


def test_one_nsid_per_owner_in_every_response(sim_server, sim_world):
    """The service writes an owner's id the same way on every page (a function of the owner only)."""
    s = sim_server()
    ids: dict[str, set] = {}
    for label in ("cat", "dog", "deer", "fox"):
        r = api(s).photos.search(text=label, per_page=500, page=1, extras="owner_name")
        for p in r["photos"]["photo"]:
            row = sim_world.row(int(p["id"]))
            ids.setdefault(int(sim_world.owner[row]), set()).add((p["owner"], p["ownername"]))
    assert len(ids) > 20 and all(len(v) == 1 for v in ids.values())
    assert len({next(iter(v))[0] for v in ids.values()}) == len(ids)                 # distinct owners, distinct ids
