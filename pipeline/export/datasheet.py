"""DATASHEET.md of an export (Datasheets for Datasets, Gebru et al.): the prose is ``datasheet_template.md``; the
facts come from the catalog and the manifest, never from the clock, so a rerun is byte-identical (figure too)."""
from __future__ import annotations

import csv
import io
import ipaddress
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from catalog.licenses import license_ids
from catalog.plots import plot_heatmap

DATASHEET, HEATMAP = "DATASHEET.md", "DATASHEET_class_continent.png"


def _text(name: str) -> str:
    return resources.files("pipeline.export").joinpath(name).read_text()


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows])


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _composition(photos: pa.Table, out: Path) -> tuple[str, dict]:
    """Class × continent counts of the exported photos (smallest label per photo), the heatmap, and the facts the
    biases section needs."""
    labels = np.array(photos["label"].to_pylist(), dtype=object)
    cont = np.array([c or "(none)" for c in photos["continent"].to_pylist()], dtype=object)
    ul, li = np.unique(labels, return_inverse=True)
    uc, ci = np.unique(cont, return_inverse=True)
    counts = np.zeros((len(uc), len(ul)), dtype=np.int64)
    np.add.at(counts, (ci, li), 1)
    plot_heatmap(list(uc), list(ul), counts, out / HEATMAP, "Exported photos: each class's share per continent",
                 metadata={"Software": None})
    rows = [[lab] + counts[:, j].tolist() + [int(counts[:, j].sum())] for j, lab in enumerate(ul)]
    rows.append(["**all**"] + counts.sum(1).tolist() + [int(counts.sum())])
    return _table(["class"] + list(uc) + ["total"], rows), {"labels": ul, "continents": uc, "counts": counts}


def _biases(c: dict) -> dict:
    counts, labels, conts = c["counts"], c["labels"], list(c["continents"])
    tot = counts.sum()
    shares = ", ".join(f"{r} {_pct(n / tot)}" for r, n in sorted(zip(conts, counts.sum(1)), key=lambda x: -x[1]))
    per = counts / np.maximum(counts.sum(0, keepdims=True), 1)
    top = sorted(((per[:, j].max(), labels[j], conts[int(per[:, j].argmax())]) for j in range(len(labels))),
                 key=lambda x: (-x[0], x[1]))[:5]
    ranges = {r["class"]: set(r["continents"].split(";")) for r in csv.DictReader(io.StringIO(_text(
        "native_ranges.csv")))}
    outside = []
    for j, lab in enumerate(labels):
        if lab in ranges and counts[:, j].sum():
            away = sum(int(counts[i, j]) for i, r in enumerate(conts) if r not in ranges[lab] and r != "(none)")
            outside.append(f"{lab} {_pct(away / counts[:, j].sum())} ({away})")
    return {"continent_shares": shares,
            "concentrated": ", ".join(f"{lab} {_pct(s)} in {r}" for s, lab, r in top),
            "outside_range": ", ".join(outside) or "no class with a listed native range in this export"}


def public_service(url: str) -> str:
    """An API URL as the datasheet may show it: a loopback or private address (the offline service, a proxy on this
    machine) is named, never printed; a public one keeps its scheme, host and path."""
    host = urlsplit(url).hostname or ""
    try:
        local = ipaddress.ip_address(host).is_private or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost" or host.endswith((".local", ".localhost", ".internal"))
    return "the offline Flickr service (pipeline/sim, on a local address)" if local or not host else \
        f"`{urlsplit(url)._replace(query='', fragment='').geturl()}`"


def _collection(con, label_ids: list[int]) -> tuple[str, str]:
    runs = con.execute("SELECT count(*), min(started_at), max(finished_at), sum(api_calls), sum(new_photos) "
                       "FROM crawl_runs").fetchall()[0]
    urls = sorted({public_service(u) for (u,) in con.execute("SELECT DISTINCT api_url FROM crawl_runs").fetchall()})
    crawl = (f"{runs[0]} run(s) from {runs[1]} to {runs[2]} UTC against {', '.join(urls)}; {runs[3]} API calls, "
             f"{runs[4]} new photos." if runs[0] else "none in this catalog (photos imported from the published "
             "release).")
    rows = con.execute("""
        SELECT c.name, c.search_text, count(w.label_id), to_timestamp(min(w.min_upload))::DATE,
               to_timestamp(max(w.max_upload))::DATE
        FROM classes c LEFT JOIN crawl_windows w ON w.label_id = c.label_id AND w.status = 'done'
        WHERE list_contains($ids, c.label_id) GROUP BY c.label_id, c.name, c.search_text ORDER BY c.label_id""",
                       {"ids": label_ids}).fetchall()
    return crawl, _table(["class", "search text", "windows", "from", "to"],
                         [[r[0], f"`{r[1]}`", r[2], r[3] or "-", r[4] or "-"] for r in rows])


def _model_name(model: str) -> str:
    """A checkpoint path as its file name: no machine path in an export."""
    return Path(model.replace("\\", "/")).name if "/" in model or "\\" in model else model


def _cleaning(con) -> str:
    runs = con.execute("""SELECT model, weights_sha256, rule, threshold, count(*), count(*) FILTER (WHERE keep)
                          FROM filter_decisions GROUP BY ALL ORDER BY 5 DESC, 1, 2""").fetchall()
    if not runs:
        return "No classifier filter ran: every downloaded crawled photo is kept; release photos were cleaned by " \
               "the release's authors."
    lines = [f"- **Model** `{_model_name(m)}`, weights sha256 `{w}`; rule `{r}`, threshold {t}: kept {k} of {n} "
             f"(photo, class) decisions." for m, w, r, t, n, k in runs]
    pr = con.execute("""SELECT sample, count(*) FILTER (WHERE keep AND is_true), count(*) FILTER (WHERE keep),
                               count(*) FILTER (WHERE is_true), count(*)
                        FROM filter_truth GROUP BY ALL ORDER BY 1 DESC""").fetchall()
    for sample, tp, kept, pos, n in pr:
        what = ("held out of the classifier's training (or never trained on)" if sample == "out_of_sample"
                else "the classifier trained on (in sample, optimistic)")
        lines.append(f"- **Against ground truth** on {n} decisions {what}: precision "
                     f"{tp / kept if kept else 0:.3f}, recall {tp / pos if pos else 0:.3f}.")
    if not pr:
        lines.append("- No ground truth in this catalog (only the offline world has it): precision and recall "
                     "unmeasured.")
    return "\n".join(lines)


def _dedup(con, keep_duplicates: bool) -> str:
    thr, method, groups, members = con.execute("SELECT any_value(threshold), any_value(method), count(DISTINCT "
                                               "group_id), count(*) FROM duplicate_groups").fetchall()[0]
    if not members:
        return "No near-duplicate groups in the catalog (`flickr-mammal dedup` not run, or none found)."
    kept = ("all kept (`--keep-duplicates`), each group inside one split" if keep_duplicates
            else f"{members - groups} photos removed, one per group kept")
    return (f"{method} perceptual hashes, pairs within Hamming distance {thr} joined transitively: {groups} groups "
            f"of {members} photos; {kept}.")


def _geography(con) -> dict:
    methods = con.execute("SELECT coalesce(method, '?'), count(*) FROM geocodes GROUP BY ALL ORDER BY 2 DESC, 1"
                          ).fetchall()
    flags = con.execute("SELECT flag, count(*) FROM geocodes WHERE flag IS NOT NULL GROUP BY ALL ORDER BY 2 DESC, 1"
                        ).fetchall()
    audit = con.execute("""SELECT count(*) FILTER (WHERE r.author_country = g.country), count(*)
                           FROM release_labels r JOIN geocodes g USING (photo_id)""").fetchall()[0]
    return {"geo_methods": ", ".join(f"{m} {n}" for m, n in methods) or "no geocodes",
            "geo_flags": ", ".join(f"{f} {n}" for f, n in flags) + " (flagged photos have no country)." if flags
            else "none flagged (sea, Antarctica, remote, invalid).",
            "geo_audit": (f"our country equals the release authors' on {audit[0]} of {audit[1]} imported rows "
                          f"({_pct(audit[0] / audit[1])}); docs/geocode-audit.md lists the disagreements."
                          if audit[1] else "no reference labels in this catalog (the audit compares imported "
                          "release rows with the authors' countries).")}


def removed_classes(con, s, present: list[int]) -> dict[str, str]:
    """Catalogue classes with no photo in the export, each named with the first step that left it none."""
    view = "dataset_all" if s.keep_duplicates else "dataset"
    img = "AND d.image_path IS NOT NULL" if s.require_images else ""
    rows = con.execute(f"""
        SELECT c.name,
               (SELECT count(*) FROM photo_classes pc WHERE pc.label_id = c.label_id),
               (SELECT count(*) FROM filter_decisions f WHERE f.label_id = c.label_id),
               (SELECT count(*) FILTER (WHERE keep) FROM filter_decisions f WHERE f.label_id = c.label_id),
               (SELECT count(*) FROM {view} d WHERE d.label_id = c.label_id {img}),
               (SELECT count(*) FROM {view} d JOIN photos p USING (photo_id)
                WHERE d.label_id = c.label_id {img} AND list_contains($lic, p.license))
        FROM classes c WHERE NOT list_contains($present, c.label_id) ORDER BY c.label_id""",
                       {"present": present, "lic": license_ids(s.licenses)}).fetchall()
    out = {}
    for name, found, judged, kept, in_view, licensed in rows:
        out[name] = ("no photo crawled or imported" if not found else
                     f"no photo kept after filtering (the classifier rejected all {judged})" if judged and not kept
                     else "no downloaded image" if not in_view and s.require_images else
                     "no photo in the dataset view" if not in_view else
                     f"no photo under the selected licenses (--licenses {s.licenses})" if not licensed else
                     "only in partitions left out: under --min-size, without geography, or over --max-per-owner")
    return out


def _counts(summary: dict) -> str:
    names = summary["partition_names"] + ["test"]
    rows = [[n, "test" if n == "test" else "train", summary["photo_counts"].get(n, 0),
             sum(summary["label_counts"].get(n, {}).values())] for n in names]
    rows.append(["**all**", "", sum(r[2] for r in rows), sum(r[3] for r in rows)])
    return _table(["partition", "split", "photos", "rows"], rows)


def write_datasheet(con, out: Path, settings, photos: pa.Table, summary: dict, license_counts: dict) -> Path:
    """``photos``: one row per exported photo (label, continent, ...); ``summary``: the manifest.json dict."""
    table, comp = _composition(photos.select(["label", "continent"]), out)
    crawl, queries = _collection(con, sorted(set(photos["label_id"].to_pylist())))
    shares = summary["test_share_by_class"].values()
    sources = sorted(zip(*np.unique(np.array(photos["source"].to_pylist(), dtype=str), return_counts=True)))
    fields = {
        "export_kind": settings.partitioner + (f", {settings.level}" if settings.partitioner == "geographic" else ""),
        "catalog_hash": summary["catalog_hash"][:16], "num_classes": summary["num_classes"],
        "max_label": summary["num_classes"] - 1, "present_classes": len(comp["labels"]),
        "catalog_classes": len(summary["class_names"]),
        "removed": "; ".join(f"{k} ({v})" for k, v in summary["removed_classes"].items()) or "none",
        "count_table": _counts(summary), "release_text": summary["licenses"]["why"][0].upper()
        + summary["licenses"]["why"][1:] + f" (`release: {summary['release']}` in manifest.json).",
        "requested": summary["licenses"]["requested"], "included": ", ".join(summary["licenses"]["included"]),
        "left_out": ", ".join(f"{k} {v}" for k, v in summary["licenses"]["left_out"].items()) or "nothing",
        "photos": photos.num_rows, "rows": summary["rows"], "sources": ", ".join(f"{s} {int(n)}" for s, n in sources),
        "partitioner": settings.partitioner, "num_partitions": summary["num_partitions"], "seed": settings.seed,
        "level_text": f" (level {settings.level}: {', '.join(summary['partition_names'])})"
        if settings.partitioner == "geographic" else "",
        "test_size": summary["test_size"], "grouping": summary["split_grouping"],
        "test_fraction": settings.test_fraction,
        "test_share_range": f"{min(shares):.3f} to {max(shares):.3f} across classes" if shares else "-",
        "dropped": ", ".join(f"{k} {v}" for k, v in summary["dropped"].items()) or "nothing",
        "heatmap": HEATMAP, "composition_table": table, "crawl_runs": crawl, "query_table": queries,
        "cleaning": _cleaning(con), "dedup": _dedup(con, settings.keep_duplicates),
        "license_table": _table(["license", "photos"], [[k, v] for k, v in license_counts.items()]),
    } | _geography(con) | _biases(comp)
    path = out / DATASHEET
    path.write_text(Template(_text("datasheet_template.md")).substitute(fields))
    return path
