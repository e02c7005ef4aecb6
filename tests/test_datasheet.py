"""DATASHEET.md: every section from the catalog, held-out precision/recall, byte-identical on rerun (figure too)."""
from __future__ import annotations

import hashlib

import pytest

from catalog import connect
from pipeline.export import ExportSettings, export
from tests.test_export import synthetic_catalog

SECTIONS = ["## Motivation", "## Composition", "## Collection process", "## Preprocessing, cleaning and labelling",
            "### Cleaning", "### Near-duplicates", "### Geography", "## Uses", "### Intended uses", "### Uses to avoid",
            "## Distribution", "## Maintenance"]         # Gebru et al.'s seven sections, in their order


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    """The synthetic catalog plus a crawl run, windows, filter decisions against ground truth, and a held-out split:
    photos < 1300 trained the classifier, the rest were held out."""
    path = synthetic_catalog(tmp_path_factory.mktemp("ds") / "c.duckdb")
    con = connect(path)
    con.execute("INSERT INTO crawl_runs VALUES (1, TIMESTAMP '2026-01-02 03:04:05', TIMESTAMP '2026-01-02 04:00:00', "
                "'http://127.0.0.1:1/rest', 'done', 77, 600, [0, 1])")
    con.execute("INSERT INTO crawl_windows SELECT label_id, 1262304000, 1609459199, 'done', 10, 1, 2, 1 FROM classes")
    con.execute("INSERT INTO sim_truth SELECT photo_id, label_id, CASE WHEN photo_id % 4 = 0 THEN -1 ELSE label_id END "
                "FROM photo_classes")
    con.execute("INSERT INTO filter_decisions SELECT photo_id, label_id, photo_id % 4 <> 0 OR photo_id % 3 = 0, 'm', "
                "'w', 'mass', 0.2 FROM photo_classes")
    con.execute("INSERT INTO filter_training SELECT photo_id, 'w', CASE WHEN photo_id < 1300 THEN 'train' "
                "ELSE 'holdout' END FROM photos")
    con.close()
    return path


def files(d):
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*"))
            if p.is_file()}


def test_datasheet_is_byte_identical_on_rerun_and_has_every_section(cleaned, tmp_path):
    con = connect(cleaned, read_only=True)
    s = ExportSettings(min_size=5, require_images=False)
    export(con, tmp_path / "a", tmp_path, s)
    export(con, tmp_path / "b", tmp_path, s)
    a = files(tmp_path / "a")
    assert a == files(tmp_path / "b")
    assert {"DATASHEET.md", "DATASHEET_class_continent.png", "ATTRIBUTION.csv", "manifest.json"} <= set(a)
    text = (tmp_path / "a" / "DATASHEET.md").read_text()
    assert [text.index(h) for h in SECTIONS] == sorted(text.index(h) for h in SECTIONS)
    assert "$" not in text                                                   # every placeholder filled
    png = (tmp_path / "a" / "DATASHEET_class_continent.png").read_bytes()
    assert b"matplotlib" not in png                                          # no version stamp in the figure


def test_datasheet_facts_come_from_the_catalog(cleaned, tmp_path):
    con = connect(cleaned, read_only=True)
    export(con, tmp_path / "out", tmp_path, ExportSettings(partitioner="iid", num_partitions=2, require_images=False))
    text = (tmp_path / "out" / "DATASHEET.md").read_text()
    held = con.execute("""SELECT count(*) FILTER (WHERE f.keep AND t.true_label_id = t.label_id),
                                 count(*) FILTER (WHERE f.keep), count(*) FILTER (WHERE t.true_label_id = t.label_id)
                          FROM filter_decisions f JOIN sim_truth t USING (photo_id, label_id)
                          WHERE f.photo_id >= 1300""").fetchall()[0]
    assert f"precision {held[0] / held[1]:.3f}, recall {held[0] / held[2]:.3f}" in text
    assert "held out of the classifier's training" in text and "in sample, optimistic" in text
    groups, members = con.execute("SELECT count(DISTINCT group_id), count(*) FROM duplicate_groups").fetchall()[0]
    assert f"{groups} groups of {members} photos; {members - groups} photos removed" in text
    assert "1 run(s) from 2026-01-02 03:04:05 to 2026-01-02 04:00:00 UTC" in text
    assert "| Cat | `cat` | 1 | 2010-01-01 | 2020-12-31 |" in text
    n_by = dict(con.execute("SELECT license, count(*) FROM photos p WHERE photo_id IN (SELECT photo_id FROM dataset) "
                            "GROUP BY ALL").fetchall())
    assert f"| CC BY 2.0 | {n_by[4]} |" in text
