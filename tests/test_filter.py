"""The filter: refuses random weights, decides reproducibly, rethresholds without the model, and measures
itself against the offline world's ground truth."""
from __future__ import annotations

import shutil

import pytest

from catalog import connect, load_classes, select_classes
from catalog.errors import UserError
from pipeline import filter as flt
from pipeline.crawl import CrawlSettings, Credentials, crawl
from pipeline.download import DownloadSettings, download
from pipeline.sim import DEMO_API_KEY, DEMO_API_SECRET, SimServer, World

CLASSES = ["Cat", "Zebra", "Koala", "Polar bear", "Elephant", "Tiger"]


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory):
    home = tmp_path_factory.mktemp("flt")
    classes = select_classes(load_classes(), CLASSES)
    world = World(3, 0.004, classes=classes)
    con = connect(home / "catalog.duckdb")
    with SimServer(world) as s:
        crawl(con, CrawlSettings(api_url=s.rest_url, classes=CLASSES, rate=1e8, max_upload_date="2021-01-01"),
              credentials=Credentials(DEMO_API_KEY, DEMO_API_SECRET), show_progress=False)
        download(con, str(home), DownloadSettings(static_base=s.static_base, longest_side=96, processes=1),
                 show_progress=False)
    world.write_truth(con)
    ckpt = home / "clf" / "classifier.pth"
    flt.train_classifier(con, home, ckpt, img_size=32, epochs=4, show_progress=False)
    con.close()
    return home, ckpt


def copy_catalog(home, tmp_path, name):
    dst = tmp_path / f"{name}.duckdb"
    shutil.copy(home / "catalog.duckdb", dst)
    return connect(dst)


def test_refuses_random_weights(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="Refusing to score with random weights"):
        flt.load_classifier("test_resnet", None)            # nothing in timm's cache, no network


@pytest.mark.slow
def test_refuses_a_checkpoint_that_does_not_fit(tmp_path, downloaded):
    _, ckpt = downloaded
    bad = tmp_path / "bad.pth"
    import torch
    torch.save({"conv_stem.weight": torch.zeros(1)}, bad)
    (tmp_path / "bad.json").write_text(ckpt.with_suffix(".json").read_text())
    with pytest.raises(UserError, match="refusing to score with random weights"):
        flt.load_classifier("x", str(bad))


@pytest.mark.slow
def test_trained_checkpoint_decides_reproducibly_and_beats_the_noise(tmp_path, downloaded):
    home, ckpt = downloaded
    runs = []
    for name in ("a", "b"):
        con = copy_catalog(home, tmp_path, name)
        flt.filter_photos(con, home, flt.FilterSettings(model="x", weights=str(ckpt), workers=0), show_progress=False)
        runs.append(con.execute("SELECT photo_id, label_id, keep, model, weights_sha256, rule, threshold "
                                "FROM filter_decisions ORDER BY ALL").fetchall())
        ev = flt.evaluate(con)
        truth = con.execute("SELECT avg((true_label_id = label_id)::INT) FROM sim_truth").fetchall()[0][0]
        assert ev["precision"] > truth + 0.1 and ev["recall"] > 0.5   # cleaner than the raw query results
        con.close()
    assert runs[0] == runs[1] and runs[0]


@pytest.mark.slow
def test_rethresholding_never_runs_the_model(tmp_path, downloaded, monkeypatch):
    home, ckpt = downloaded
    con = copy_catalog(home, tmp_path, "re")
    clf = flt.load_classifier("x", str(ckpt))
    flt.score(con, home, flt.FilterSettings(workers=0), clf=clf, show_progress=False)
    import timm

    import pipeline.filter.model as model_mod

    def boom(*a, **k):
        raise AssertionError("the model was called")
    monkeypatch.setattr(timm, "create_model", boom)
    monkeypatch.setattr(model_mod, "load_classifier", boom)
    monkeypatch.setattr(clf.model, "forward", boom)
    low = flt.decide(con, clf.name, clf.weights_sha256, "mass", 0.05)
    high = flt.decide(con, clf.name, clf.weights_sha256, "mass", 0.6)
    assert low["kept"] > high["kept"]
    assert con.execute("SELECT DISTINCT threshold FROM filter_decisions").fetchall() == [(0.6,)]


def test_precision_recall_on_a_hand_checkable_case(tmp_path):
    con = connect(tmp_path / "pr.duckdb")
    con.execute("INSERT INTO sim_truth VALUES (1, 0, 0), (2, 0, 5), (3, 0, 0), (4, 0, -1), (5, 0, 0)")
    con.execute("INSERT INTO filter_decisions VALUES (1,0,true,'m','w','mass',0.2), (2,0,true,'m','w','mass',0.2), "
                "(3,0,false,'m','w','mass',0.2), (4,0,false,'m','w','mass',0.2), (5,0,true,'m','w','mass',0.2)")
    ev = flt.evaluate(con)
    assert ev["precision"] == round(2 / 3, 4) and ev["recall"] == round(2 / 3, 4)   # kept 1,2,5; true 1,3,5


def test_unknown_rule_is_one_line(tmp_path):
    con = connect(tmp_path / "rule.duckdb")
    with pytest.raises(UserError, match="unknown rule 'majority'; rules are mass, mass-or-mammal, top5, mass-or-top5"):
        flt.decide(con, "m", "w", "majority", 0.2)
