"""Beyond the paper (issue 14): F6 Quasi-Global Momentum on gossip topologies, F7 bounded staleness under skew, F8
the remedies the field compares against, side by side. Experiments, metrics and verdicts in one module; the figures
are in ``figures_beyond.py``, the prose in ``report_beyond.md``. F6–F8 live beside F1–F5 in summary.json and
REPORT.md without touching them: ``write`` replaces only the part of REPORT.md after ``MARKER``.

``python -m training.study.beyond --out docs/study [--mnist DIR] [--manifest PATH] [--seeds 3] [--jobs 1]``
(or ``flickr-mammal study --experiments F6,F7,F8 …``). ``--only TEXT`` trains only the runs whose key mentions TEXT
and takes every other run as it finished under ``--runs``, whatever engine made it; the report lists the engine
code versions behind its runs, so such a mix is never hidden.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from training.study.metrics import Spread

MARKER = "<!-- F6-F8: training/study/beyond.py -->"
TEMPLATE = Path(__file__).with_name("report_beyond.md")
ITERATIONS = 150
LR = 0.05
SAMPLES_PER_ITERATION = 160          # every experiment draws the same global batch: 20 per partition at K = 8
K = 8                                # ring, F7, F8
K_SOCIAL = 32                        # the Davis Southern Women graph
ALPHAS = (1.0, 0.1)                  # Dirichlet: mild, strong skew
STALENESS = (0, 2, 8, 32)
DIVERGED = 0.3                       # a run ending below 3× chance (10 classes) lost stability, it did not just degrade
ITER_LOCAL = 20                      # FedAvg-family rounds in F8
FEDPROX_MU = 0.1
GEO_IMG_SIZE = 16                    # the export's photos, downscaled to keep F8's geographic column cheap
REMEDIES = {                         # F8: name -> (model, bn_stats, algorithm, topology or None, skewscout)
    "FedAvg (BN-LeNet)": ("lenet_bn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedAvg + GN": ("lenet_gn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedBN": ("lenet_bn", "local", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, False),
    "FedProx + GN": ("lenet_gn", "shared", {"name": "fedprox", "iter_local": ITER_LOCAL, "mu": FEDPROX_MU}, None,
                     False),
    "SCAFFOLD + GN": ("lenet_gn", "shared", {"name": "scaffold", "iter_local": ITER_LOCAL}, None, False),
    "QGM + GN (ring)": ("lenet_gn", "shared", {"name": "qgm"}, "ring", False),
    "SkewScout (FedAvg + GN)": ("lenet_gn", "shared", {"name": "fedavg", "iter_local": ITER_LOCAL}, None, True),
}
F8_SKEWS = ("label-exclusive", "dirichlet 0.1", "geographic")
# F8's control, what each skew costs at this budget: digits split IID (K = 8); geographic: F5's control, the same
# training photos reshuffled into partitions of the same sizes
CONTROL = "FedAvg + GN, same data IID"


# ---- experiments ---------------------------------------------------------------------------------------------
def base(data: dict, seed: int, k: int = K) -> dict:
    return {"data": dict(data), "partition": {"name": "iid", "num_partitions": k, "seed": seed},
            "model": {"name": "lenet_gn"}, "algorithm": {"name": "bsp"},
            "solver": {"lr": LR, "batch_size": SAMPLES_PER_ITERATION // k, "iterations": ITERATIONS},
            "run": {"seed": seed, "eval_every": ITERATIONS // 3}}


def dirichlet(alpha: float) -> dict:
    return {"name": "dirichlet", "alpha": alpha, "min_partition_size": 2}


def f6(data: dict, seed: int, manifest: str | None = None):
    """DSGDm vs QG-DSGDm on a ring of 8 and the 32-node social graph, Dirichlet α ∈ ALPHAS."""
    for topo, k in (("ring", K), ("social", K_SOCIAL)):
        for alpha in ALPHAS:
            for algo in ("dsgdm", "qgm"):
                c = base(data, seed, k)
                c["partition"] |= dirichlet(alpha)
                c["algorithm"], c["topology"] = {"name": algo}, {"name": topo}
                yield (topo, alpha, algo), c


def f7(data: dict, seed: int, manifest: str | None = None):
    """SSP with a fixed delay of s iterations, IID vs label-exclusive, 8 partitions."""
    for part in ("iid", "label-exclusive"):
        for s in STALENESS:
            c = base(data, seed)
            c["partition"]["name"] = part
            c["algorithm"] = {"name": "ssp", "staleness": s}
            yield (part, s), c


def remedy(c: dict, name: str) -> dict:
    model, bn, algo, topo, scout = REMEDIES[name]
    c = copy.deepcopy(c)
    c["model"], c["algorithm"] = {"name": model} | ({"bn_stats": bn} if bn != "shared" else {}), dict(algo)
    if topo:
        c["topology"] = {"name": topo}
    if scout:
        travel = max(1, ITERATIONS // 40)
        c["skewscout"] = {"enabled": True, "sigma": 0.05, "grid": [5, 10, 20, 50], "travel_every": travel,
                          "travel_at_least_every": 5 * travel, "sample_size": 100}
    return c


def f8(data: dict, seed: int, manifest: str | None = None):
    """Every remedy on label-exclusive, Dirichlet(0.1) and (with an export manifest) geographic partitions."""
    for skew in F8_SKEWS:
        c = base(data, seed)
        if skew == "label-exclusive":
            c["partition"]["name"] = "label-exclusive"
        elif skew.startswith("dirichlet"):
            c["partition"] |= dirichlet(float(skew.split()[1]))
        elif manifest:
            c["data"] = {"name": "manifest", "path": manifest, "img_size": GEO_IMG_SIZE}
            c.pop("partition")
            c["solver"]["batch_size"] = 20
        else:
            continue
        for name in REMEDIES:
            yield (skew, name), remedy(c, name)
        control = copy.deepcopy(c)
        if "partition" in control:
            control["partition"] = {"name": "iid", "num_partitions": K, "seed": seed}
        else:
            control["data"]["shuffle_partitions"] = True
        yield (skew, CONTROL), remedy(control, "FedAvg + GN")


EXPERIMENTS = {"F6": f6, "F7": f7, "F8": f8}


def run_folder(config: dict) -> str:
    """One folder per distinct config, so a run two experiments share (F6's QGM ring is F8's) trains once."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def plan(names, seeds: int, data: dict, manifest: str | None, runs_root: Path) -> list[tuple[tuple, dict, str]]:
    """((experiment, key, seed), config, folder), seed by seed (a study cut short still has whole seeds), the
    geographic runs (32-px photos, the slowest) last."""
    jobs = []
    for seed in range(seeds):
        for name in names:
            jobs += [((name, key, seed), c, str(runs_root / run_folder(c))) for key, c in EXPERIMENTS[name](
                data, seed, manifest)]
    return sorted(jobs, key=lambda j: j[1]["data"].get("name") == "manifest")


def finished_rows(folder: str) -> list[dict] | None:
    """A finished run's rows from its done.json, whatever engine version made it (the report says which)."""
    done = Path(folder) / "done.json"
    return json.loads(done.read_text())["rows"] if done.exists() else None


def finished_version(folder: str) -> str | None:
    """The engine code version that made a finished run."""
    done = Path(folder) / "done.json"
    return json.loads(done.read_text()).get("code_version") if done.exists() else None


def mentions(key: tuple, words) -> bool:
    """Whether a run's key ``(experiment, key, seed)`` mentions any of ``words`` (case-insensitive)."""
    text = " ".join(map(str, (key[0], *key[1]))).lower()
    return any(w.lower() in text for w in words)


# ---- metrics -------------------------------------------------------------------------------------------------
def spread(runs: list[list[dict]]) -> dict:
    """Final accuracy over seeds, MB, the accuracy at each evaluation and how far apart the partitions' models end."""
    s = Spread.of([r[-1]["acc_mean"] for r in runs])
    n = min(len(r) for r in runs)
    return {"mean": s.mean, "std": s.std, "n": len(runs), "mb": float(np.mean([r[-1]["bytes"] for r in runs])) / 1e6,
            "evals": [x["iteration"] for x in runs[0][:n]],
            "curve": [float(np.mean([r[i]["acc_mean"] for r in runs])) for i in range(n)],
            "partition_spread": float(np.mean([max(r[-1]["acc"]) - min(r[-1]["acc"]) for r in runs]))}


def collect(results: dict, name: str) -> dict[tuple, dict]:
    keys = sorted({key for (n, key, _) in results if n == name}, key=str)
    return {key: spread([r for (n, k, _), r in sorted(results.items(), key=str) if n == name and k == key])
            for key in keys}


def beyond_noise(diff_points: float, a: dict, b: dict, floor: float = 1.0) -> bool:
    """A difference counts when it is above ``floor`` points and above the two seed spreads together."""
    return abs(diff_points) > floor and abs(diff_points) > 100 * (a["std"] + b["std"])


def f6_summary(results: dict) -> dict | None:
    acc = collect(results, "F6")
    if not acc:
        return None
    rows = []
    for topo in ("ring", "social"):
        for alpha in ALPHAS:
            d, q = acc.get((topo, alpha, "dsgdm")), acc.get((topo, alpha, "qgm"))
            if d and q:
                gain = 100 * (q["mean"] - d["mean"])
                rows.append({"topology": topo, "alpha": alpha, "dsgdm": d, "qgm": q, "gain": gain,
                             "beyond_noise": beyond_noise(gain, d, q)})
    strong = [r for r in rows if r["alpha"] == min(ALPHAS)]
    reproduced = bool(strong) and all(r["gain"] >= 1 and r["beyond_noise"] for r in strong)
    return {"rows": rows, "reproduced": reproduced,
            "gain_grows_with_skew": all(s["gain"] > m["gain"] for s in strong for m in rows
                                        if m["topology"] == s["topology"] and m["alpha"] != s["alpha"])}


def f7_summary(results: dict) -> dict | None:
    acc = collect(results, "F7")
    if not acc:
        return None
    out = {"rows": []}
    for part in ("iid", "label-exclusive"):
        bsp = acc.get((part, 0))
        for s in STALENESS:
            a = acc.get((part, s))
            if a and bsp:
                out["rows"].append({"partition": part, "staleness": s, "acc": a,
                                    "cost": 100 * (bsp["mean"] - a["mean"])})
    cost = {(r["partition"], r["staleness"]): r for r in out["rows"]}
    extra = {s: cost[("label-exclusive", s)]["cost"] - cost[("iid", s)]["cost"] for s in STALENESS[1:]
             if ("label-exclusive", s) in cost and ("iid", s) in cost}
    out["extra_cost_under_skew"] = extra
    out["diverged"] = sorted([r["partition"], r["staleness"]] for r in out["rows"] if r["acc"]["mean"] < DIVERGED)
    iid_diverged = {s for p, s in out["diverged"] if p == "iid"}
    out["reproduced"] = bool(extra) and all(
        s not in iid_diverged and beyond_noise(v, cost[("label-exclusive", s)]["acc"], cost[("iid", s)]["acc"], floor=2)
        and v > 0 for s, v in extra.items())
    out["grows_with_staleness"] = bool(extra) and all(np.diff([extra[s] for s in sorted(extra)]) >= -0.5)
    return out


def f8_summary(results: dict) -> dict | None:
    acc = collect(results, "F8")
    if not acc:
        return None
    table = {skew: {name: acc[(skew, name)] for name in REMEDIES if (skew, name) in acc} for skew in F8_SKEWS}
    table = {k: v for k, v in table.items() if v}
    best = {}
    for skew, rows in table.items():
        top = max(rows, key=lambda n: rows[n]["mean"])
        near = [n for n in rows if 100 * (rows[top]["mean"] - rows[n]["mean"]) <= max(1.0, 100 * rows[top]["std"])]
        best[skew] = {"best": top, "cheapest_near_best": min(near, key=lambda n: rows[n]["mb"]), "near_best": near}
    iid = collect(results, "F7").get(("iid", 0))
    geo = [r for (n, k, _), r in results.items() if n == "F8" and k[0] == "geographic"]
    controls = {skew: acc[(skew, CONTROL)] for skew in table if (skew, CONTROL) in acc}
    for skew, c in controls.items():     # how much of the skew's cost each remedy wins back, FedAvg + GN the start
        start = table[skew].get("FedAvg + GN")
        best[skew]["skew_cost"] = 100 * (c["mean"] - start["mean"]) if start else None
    return {"table": table, "best": best, "reference_bsp_iid": iid, "controls": controls,
            "geo_partitions": len(geo[0][-1]["acc"]) if geo else None}


SUMMARIES = {"F6": f6_summary, "F7": f7_summary, "F8": f8_summary}


# ---- report --------------------------------------------------------------------------------------------------
def _blocks() -> dict[str, str]:
    from training.study.render import parse_blocks
    return parse_blocks(TEMPLATE.read_text())


def pct(s: dict, seeds=None) -> str:
    """Mean ± std in percent, with the number of seeds behind it when fewer than the study's."""
    short = isinstance(seeds, int) and s.get("n", seeds) < seeds
    return f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f}" + (f" (n = {s['n']})" if short else "")


def render(summary: dict) -> str:
    """The F6–F8 part of REPORT.md from summary.json's F6–F8 keys alone."""
    b = _blocks()
    meta = {"data": "digits", "seeds": "?", "iterations": ITERATIONS, "lr": LR, "k": K, "k_social": K_SOCIAL,
            "samples": SAMPLES_PER_ITERATION, "runs": "?", "run_minutes": "?", "command": "?", "manifest": "none",
            "code_version": "?"} | summary.get("beyond_meta", {})
    versions = meta.get("run_versions") or {}
    if set(versions) - {meta["code_version"]}:
        engines = b["mixed_versions"].format(
            code_version=meta["code_version"], note=meta.get("versions_note", "").rstrip(". "),
            counts="; ".join(f"{v}: {n} runs, {meta.get('run_minutes_by_version', {}).get(v, '?')} run-minutes"
                             for v, n in sorted(versions.items(), key=lambda kv: -kv[1])))
    else:
        engines = f"engine code version {meta['code_version']}"
    parts = [MARKER, b["header"].format(**meta, samples_k=meta["samples"] // meta["k"], engines=engines)]
    n = meta["seeds"]
    if f6 := summary.get("F6"):
        rows = "\n".join(f"| {r['topology']} | {r['alpha']:g} | {pct(r['dsgdm'], n)} | {pct(r['qgm'], n)} | "
                         f"{r['gain']:+.1f} | {'yes' if r['beyond_noise'] else 'no'} | {r['qgm']['mb']:.0f} |"
                         for r in f6["rows"])
        why = b["f6_why"].format(
            evals=", ".join(map(str, f6["rows"][0]["qgm"]["evals"])) if f6["rows"] else "",
            curves="; ".join(f"{r['topology']} α = {r['alpha']:g}: " + ", ".join(
                f"{100 * d:.0f} → {100 * q:.0f}" for d, q in zip(r["dsgdm"]["curve"], r["qgm"]["curve"]))
                for r in f6["rows"]),
            spreads="; ".join(f"{r['topology']} α = {r['alpha']:g}: {100 * r['dsgdm']['partition_spread']:.1f} / "
                              f"{100 * r['qgm']['partition_spread']:.1f}" for r in f6["rows"]))
        parts.append(b["f6"].format(rows=rows, verdict="reproduced" if f6["reproduced"] else "not reproduced",
                                    grows="grows" if f6["gain_grows_with_skew"] else "does not grow",
                                    why="" if f6["reproduced"] else " " + why))
    if f7 := summary.get("F7"):
        head = " | ".join(f"s = {s}" for s in STALENESS)
        lines = []
        for part in ("iid", "label-exclusive"):
            cells = {r["staleness"]: r for r in f7["rows"] if r["partition"] == part}
            lines.append(f"| {part} | " + " | ".join(
                f"{pct(cells[s]['acc'], n)} ({0.0 - cells[s]['cost'] + 0.0:+.1f})" if s in cells else "—"
                for s in STALENESS) + " |")
        extra = ", ".join(f"s = {s}: {v:+.1f}" for s, v in sorted(f7["extra_cost_under_skew"].items(),
                                                                      key=lambda kv: int(kv[0])))
        why = b["f7_why"].format(diverged=", ".join(f"{p} s = {st}" for p, st in f7["diverged"]) or "none",
                                 lr=meta["lr"], spreads="; ".join(
            f"s = {s}: " + " / ".join(f"{100 * r['acc']['partition_spread']:.1f}" for r in f7["rows"]
                                      if r["staleness"] == s) for s in STALENESS))
        parts.append(b["f7"].format(head=head, align="---:|" * len(STALENESS), rows="\n".join(lines), extra=extra,
                                    verdict="reproduced" if f7["reproduced"] else "not reproduced",
                                    grows="grows" if f7["grows_with_staleness"] else "does not grow steadily",
                                    why="" if f7["reproduced"] else " " + why, k=meta["k"]))
    if f8 := summary.get("F8"):
        skews = list(f8["table"])
        lines = [f"| {name} | " + " | ".join(
            f"{pct(f8['table'][s][name], n)} / {f8['table'][s][name]['mb']:.0f}" if name in f8["table"][s] else "—"
            for s in skews) + " |" for name in REMEDIES]
        ref = f8.get("reference_bsp_iid")
        controls = f8.get("controls", {})

        def control(s: str) -> str:
            if s not in controls or f8["best"][s].get("skew_cost") is None:
                return ""
            c, cost = controls[s], f8["best"][s]["skew_cost"]
            gap = round(100 * (f8["table"][s][f8["best"][s]["best"]]["mean"] - c["mean"]), 1) + 0.0
            return (f" Control: FedAvg + GN on the same data split IID {pct(c, n)}%, so the skew costs FedAvg + GN "
                    f"{round(cost, 1) + 0.0:.1f} points here; the best remedy ends "
                    f"{f'{abs(gap):.1f} points ' + ('below' if gap < 0 else 'above') if gap else 'level with'} "
                    f"that control.")

        verdicts = "\n".join(f"- {s}: best {v['best']} ({pct(f8['table'][s][v['best']])}%); within a point (or its "
                             f"spread) of it, the cheapest is {v['cheapest_near_best']} "
                             f"({f8['table'][s][v['cheapest_near_best']]['mb']:.0f} MB).{control(s)}"
                             for s, v in f8["best"].items())
        parts.append(b["f8"].format(head=" | ".join(skews), align="---:|" * len(skews), rows="\n".join(lines),
                                    k=meta["k"], iterations=meta["iterations"],
                                    iter_local=ITER_LOCAL, mu=FEDPROX_MU,
                                    verdicts=verdicts, reference=pct(ref) if ref else "—",
                                    geo=b["f8_geo"].format(manifest=meta["manifest"],
                                                           k_geo=f8.get("geo_partitions") or "?",
                                                           train_n=sum(v for k, v in meta.get(
                                                               "manifest_photos", {}).items() if k != "test") or "?",
                                                           test_n=meta.get("manifest_photos", {}).get("test", "?"),
                                                           img=GEO_IMG_SIZE, manifest_how=meta.get(
                                                               "manifest_how", "an export")
                                                           ) if "geographic" in skews else b["f8_no_geo"]))
    return "\n\n".join(parts) + "\n"


def write(out: Path, summary: dict) -> None:
    """F6–F8 into summary.json (other keys kept) and REPORT.md (everything before MARKER kept), and their figures."""
    from training.study.figures_beyond import draw_all

    path = out / "summary.json"
    full = json.loads(path.read_text()) if path.exists() else {}
    full.update(summary)
    path.write_text(json.dumps(full, indent=2, default=str))
    draw_all(out, summary)
    report = out / "REPORT.md"
    kept = report.read_text().split(MARKER)[0].rstrip() + "\n\n" if report.exists() else ""
    report.write_text(kept + render(full))


def kept(out: Path) -> dict:
    """F6–F8 (and their meta) from an existing summary.json, for the F1–F5 report to carry over."""
    path = out / "summary.json"
    full = json.loads(path.read_text()) if path.exists() else {}
    return {k: v for k, v in full.items() if k in SUMMARIES or k == "beyond_meta"}


def manifest_photos(manifest: str) -> dict[str, int]:
    """Photos per split of an export (its manifest.json's label counts), for the report: the geographic test split
    is small, so one photo is worth about a point."""
    path = Path(manifest)
    info = (path if path.is_dir() else path.parent) / "manifest.json"
    try:
        counts = json.loads(info.read_text())["label_counts"]
    except (OSError, KeyError, ValueError):
        return {}
    return {split: int(sum(c.values())) for split, c in counts.items()}


def run_beyond(out_dir: str | Path = "docs/study", *, data: dict | None = None, seeds: int = 3, jobs: int = 1,
               manifest: str | None = None, runs_dir: str | Path | None = None, names=("F6", "F7", "F8"),
               render_only: bool = False, only=(), versions_note: str = "", manifest_how: str = "",
               command: str = "python -m training.study.beyond") -> dict:
    """Run (or reuse) F6–F8's runs and write their part of the report. ``render_only``: summarise the runs that
    finished, train nothing; ``only``: train the runs whose key mentions one of these words, summarise the rest as
    they finished (``versions_note``: why that mix of engine versions is sound, printed beside their list)."""
    from training.study.running import code_version, run_all

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data or {"name": "digits", "test_fraction": 0.25}
    runs_root = Path(runs_dir or out / "runs" / "beyond")
    planned = plan(names, seeds, data, manifest, runs_root)
    t0 = time.perf_counter()
    if render_only:
        results = {key: rows for key, _, folder in planned if (rows := finished_rows(folder))}
    else:
        unique = list({folder: (c, folder) for key, c, folder in planned if not only or mentions(key, only)
                       }.values())
        for i in range(0, len(unique), jobs):          # a failing run is reported and skipped, not fatal
            try:
                run_all(unique[i:i + jobs], jobs)
            except Exception as e:                      # noqa: BLE001 - the rest of the study still runs
                print(f"run {[f for _, f in unique[i:i + jobs]]} failed: {e}", flush=True)
        results = {key: rows for key, _, folder in planned if (rows := finished_rows(folder))}
    distinct = {folder for key, _, folder in planned if key in results}
    walls = {folder: finished_rows(folder)[-1]["wall_s"] for folder in distinct}
    made_by = {folder: finished_version(folder) or "?" for folder in distinct}
    by_version: dict[str, list[str]] = {}
    for folder, v in made_by.items():
        by_version.setdefault(v, []).append(folder)
    summary = {n: SUMMARIES[n](results) for n in names}
    summary["beyond_meta"] = {
        "data": data["name"], "seeds": seeds, "iterations": ITERATIONS, "lr": LR, "k": K, "k_social": K_SOCIAL,
        "samples": SAMPLES_PER_ITERATION, "runs": len(distinct), "run_minutes": round(sum(walls.values()) / 60, 1),
        "command": command, "manifest": manifest or "none", "code_version": code_version(),
        "run_versions": {v: len(f) for v, f in by_version.items()},
        "run_minutes_by_version": {v: round(sum(walls[x] for x in f) / 60, 1) for v, f in by_version.items()},
        "versions_note": versions_note, "seconds": round(time.perf_counter() - t0)}
    if manifest_how:
        summary["beyond_meta"]["manifest_how"] = manifest_how
    if manifest:
        summary["beyond_meta"]["manifest_photos"] = manifest_photos(manifest)
    write(out, summary)
    return summary


def strip_session_flags(argv: list[str]) -> list[str]:
    """The command a reader reruns: without --render-only, --only TEXT and the report-text flags."""
    out, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x == "--render-only":
            pass
        elif x in ("--only", "--versions-note", "--manifest-how"):
            skip = True
        elif not x.startswith(("--only=", "--versions-note=", "--manifest-how=")):
            out.append(x)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.study.beyond", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="docs/study")
    p.add_argument("--mnist", metavar="DIR", help="MNIST idx files instead of scikit-learn's digits")
    p.add_argument("--manifest", help="an export manifest (geographic partitions) for F8's geographic column")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--runs", help="run folder (default OUT/runs/beyond)")
    p.add_argument("--experiments", default="F6,F7,F8")
    p.add_argument("--render-only", action="store_true", help="summarise the finished runs, train nothing")
    p.add_argument("--only", action="append", default=[], metavar="TEXT",
                   help="train only the runs whose key mentions TEXT (repeatable, e.g. geographic, SkewScout); "
                        "every other run is summarised as it finished under --runs (the report lists engine versions)")
    p.add_argument("--versions-note", default="", help="why the runs' mix of engine versions is sound (printed)")
    p.add_argument("--manifest-how", default="", help="how the --manifest was built (printed under F8)")
    a = p.parse_args(argv)
    data = {"name": "mnist", "path": a.mnist, "test_fraction": 0.2} if a.mnist else None
    import sys

    run_beyond(a.out, data=data, seeds=a.seeds, jobs=a.jobs, manifest=a.manifest, runs_dir=a.runs,
               names=tuple(e.strip() for e in a.experiments.split(",") if e.strip()), render_only=a.render_only,
               only=tuple(a.only), versions_note=a.versions_note, manifest_how=a.manifest_how,
               command="python -m training.study.beyond " + " ".join(
                   strip_session_flags(sys.argv[1:] if argv is None else argv)))
    print(f"wrote {a.out}/REPORT.md (F6-F8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
