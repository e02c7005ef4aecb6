"""Run the study's experiments over seeds and write REPORT.md with figures a reader understands alone."""
from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from training.study.experiments import (EXPERIMENTS, F4_BUDGET, F4_FEDAVG_GRID, F4_FLOOR, F4_GAIA_GRID, F4_SIGMA,
                                        F4_START, F4_TRAVELS_PER_RUN, SKEWS, base_config, with_)
from training.sweep import MEASURES

TARGET_REL = 0.95      # F4 target: 95% of BSP's final accuracy on the same skewed partitions
F4_BAR = 1.5           # the paper's claim: SkewScout within 1.5x of the Oracle's bytes


def _within_bar(ratio) -> bool:
    return ratio is not None and round(ratio, 9) <= F4_BAR          # byte ratios like 1.5000000000000002 pass


def _run(args):
    key, cfg, out = args
    import torch

    from training.runner import run_training

    torch.set_num_threads(1)          # runs go in parallel processes: one thread each
    done = Path(out) / "done.json"
    if done.exists():
        return key, json.loads(done.read_text())
    rows = run_training(cfg, out, resume=True)
    done.write_text(json.dumps(rows))
    return key, rows


def _stats(values):
    v = np.array(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def _fmt(values, pct=True):
    m, s = _stats(values)
    return f"{100 * m:.1f} ± {100 * s:.1f}" if pct else f"{m:.2f} ± {s:.2f}"


def run_study(out_dir: str | Path = "docs/study", *, quick: bool = False, seeds: int = 3, data: dict | None = None,
              experiments: list[str] | None = None, manifest: str | None = None, jobs: int = 1,
              runs_dir: str | Path | None = None, command: str = "flickr-mammal study",
              f4_mnist: str | None = None) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs_root = Path(runs_dir or out / "runs")
    data = data or {"name": "digits", "test_fraction": 0.25}
    iterations = 60 if quick else 400
    f4_settings = _f4_settings(data, f4_mnist, quick)
    names = experiments or list(EXPERIMENTS)
    t0 = time.perf_counter()
    jobs_list = []
    for name in names:
        for seed in range(seeds):
            if name == "F4":
                gens = [((setting,) + key, cfg) for setting, (d, its, solver) in f4_settings.items()
                        for key, cfg in EXPERIMENTS["F4"](with_(base_config(d, its, seed), solver=solver))]
            else:
                base = base_config(data, iterations, seed)
                gens = EXPERIMENTS[name](base, manifest) if name == "F5" else EXPERIMENTS[name](base)
            for key, cfg in gens:
                tag = "-".join(str(k) for k in key).replace(" ", "_").replace(",", "")
                jobs_list.append(((name, key, seed), cfg, str(runs_root / name / f"{tag}-seed{seed}")))
    results: dict = {}
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for k, rows in pool.map(_run, jobs_list):
                results[k] = rows
    else:
        for j in jobs_list:
            k, rows = _run(j)
            results[k] = rows
    summary = _write(out, results, names, seeds, iterations, data, manifest, quick, command,
                     time.perf_counter() - t0)
    return summary


F4_ITERATIONS = {"digits": 2000, "mnist": 1000}   # long enough to converge before the first LR drop


def _f4_settings(data: dict, f4_mnist: str | None, quick: bool) -> dict:
    """setting → (data, iterations, solver overrides). F4 runs longer than F1–F3. The constant-LR setting is the
    control for the LR-drop explanation in the report: without drops nothing repairs late what a loose knob let
    drift early, so the final accuracy reflects the skew cost that SkewScout holds under σ."""
    its = 120 if quick else F4_ITERATIONS.get(data["name"], 2000)
    settings = {data["name"]: (data, its, {}),
                f"{data['name']}, constant LR": (data, its, {"lr_steps": []})}
    if f4_mnist and data["name"] != "mnist":
        settings["mnist"] = ({"name": "mnist", "path": f4_mnist, "test_fraction": 0.2},
                             120 if quick else F4_ITERATIONS["mnist"], {})
    return settings


def _final(results, name, key, seeds):
    return [results[(name, key, s)][-1]["acc_mean"] for s in range(seeds) if (name, key, s) in results]


def _bar_figure(path, groups, series, values, errors, ylabel, title, legend_title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.arange(len(groups))
    w = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups)), 4))
    for i, s in enumerate(series):
        ax.bar(x + i * w - 0.4 + w / 2, values[i], w, yerr=errors[i], capsize=3, label=s)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(title=legend_title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write(out, results, names, seeds, iterations, data, manifest, quick, command, seconds) -> dict:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# flickr-mammal study: the Non-IID quagmire, measured", "",
             f"Data: **{data['name']}** ({'quick mode, ' if quick else ''}{iterations} iterations, 5 partitions, "
             f"batch 20 per partition, {seeds} seeds per point; mean ± std over seeds). "
             f"Models: GN-LeNet (F1, F3, F4, F5) so that BatchNorm's own trouble (F2) does not blur the algorithms' "
             f"effects. Accuracy is the mean over partitions of each partition's model on the shared test set (SPEC §8). "
             f"Communication counts what every partition sends (dense 4 B, sparse 8 B per value; BN statistics "
             f"and SkewScout's model travel included).", "",
             f"Reproduce: `{command}`  (this invocation {seconds / 60:.1f} min; the {len(results)} runs behind "
             f"the report took {sum(r[-1]['wall_s'] for r in results.values()) / 60:.1f} run-minutes, one CPU "
             f"thread each, with runs cached under --runs reused).", ""]
    summary: dict = {}
    if "F1" in names:
        algos = ["bsp", "gaia", "fedavg", "dgc"]
        rows = {a: {p: _final(results, "F1", (a, p), seeds) for p in ("iid", "label-exclusive")} for a in algos}
        lines += ["## F1 — label skew costs Gaia, FedAvg and DGC accuracy; IID data does not", "",
                  "| algorithm | IID acc (%) | label-exclusive acc (%) | loss (points) | reproduced |", "|---|---:|---:|---:|---|"]
        f1 = {}
        for a in algos:
            mi, si = _stats(rows[a]["iid"])
            ms, ss = _stats(rows[a]["label-exclusive"])
            loss = 100 * (mi - ms)
            ok = loss > 2 and loss > 100 * (si + ss)
            f1[a] = {"iid": mi, "skew": ms, "loss_points": loss}
            lines.append(f"| {a} | {_fmt(rows[a]['iid'])} | {_fmt(rows[a]['label-exclusive'])} | {loss:.1f} | "
                         f"{'—' if a == 'bsp' else ('yes' if ok else 'no')} |")
        _bar_figure(out / "f1_skew_cost.png", algos, ["IID", "label-exclusive (non-IID)"],
                    [[100 * f1[a]["iid"] for a in algos], [100 * f1[a]["skew"] for a in algos]],
                    [[100 * _stats(rows[a]["iid"])[1] for a in algos], [100 * _stats(rows[a]["label-exclusive"])[1] for a in algos]],
                    "test accuracy (%)", "F1: accuracy with IID vs label-skewed partitions", "partitions")
        lines += ["", "![F1](f1_skew_cost.png)", ""]
        summary["F1"] = f1
    if "F2" in names:
        models = ["lenet_bn", "lenet_gn"]
        rows = {m: {p: _final(results, "F2", (m, p), seeds) for p in ("iid", "label-exclusive")} for m in models}
        lines += ["## F2 — BatchNorm loses accuracy under skew even with BSP; GroupNorm recovers most of it", "",
                  "| model (BSP) | IID acc (%) | label-exclusive acc (%) | loss (points) |", "|---|---:|---:|---:|"]
        f2 = {}
        for m in models:
            mi, ms = _stats(rows[m]["iid"])[0], _stats(rows[m]["label-exclusive"])[0]
            f2[m] = 100 * (mi - ms)
            lines.append(f"| {m} | {_fmt(rows[m]['iid'])} | {_fmt(rows[m]['label-exclusive'])} | {f2[m]:.1f} |")
        verdict = "reproduced" if f2["lenet_bn"] > 2 and f2["lenet_gn"] < 0.5 * f2["lenet_bn"] else "not reproduced"
        lines += ["", f"Verdict: **{verdict}** (BN loses {f2['lenet_bn']:.1f} points, GN {f2['lenet_gn']:.1f}).", ""]
        _bar_figure(out / "f2_bn_vs_gn.png", ["BN-LeNet", "GN-LeNet"], ["IID", "label-exclusive (non-IID)"],
                    [[100 * _stats(rows[m]["iid"])[0] for m in models], [100 * _stats(rows[m]["label-exclusive"])[0] for m in models]],
                    [[100 * _stats(rows[m]["iid"])[1] for m in models], [100 * _stats(rows[m]["label-exclusive"])[1] for m in models]],
                    "test accuracy (%)", "F2: BSP with BatchNorm vs GroupNorm", "partitions")
        lines += ["![F2](f2_bn_vs_gn.png)", ""]
        summary["F2"] = f2
    if "F3" in names:
        accs = [_final(results, "F3", ("fedavg", s), seeds) for s in SKEWS]
        means = [100 * _stats(a)[0] for a in accs]
        errs = [100 * _stats(a)[1] for a in accs]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.errorbar([100 * s for s in SKEWS], means, yerr=errs, marker="o", capsize=3, label="FedAvg, Iter_local=20")
        ax.set_xlabel("degree of skew (% of each class in its home partition)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("F3: accuracy falls as label skew grows")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "f3_degree_of_skew.png", dpi=110)
        plt.close(fig)
        mono = all(means[i] >= means[i + 1] - max(errs[i], errs[i + 1], 0.5) for i in range(len(means) - 1))
        drop = means[0] - means[-1]
        lines += ["## F3 — the loss grows with the degree of skew", "",
                  "| skew | " + " | ".join(f"{int(100 * s)}%" for s in SKEWS) + " |",
                  "|---|" + "---:|" * len(SKEWS), "| FedAvg acc (%) | " + " | ".join(_fmt(a) for a in accs) + " |", "",
                  f"Verdict: **{'reproduced' if drop > 2 and mono else 'not reproduced'}** ({drop:.1f} points from 0% to 100%"
                  f"{', monotone within the spread' if mono else ', not monotone'}).", "", "![F3](f3_degree_of_skew.png)", ""]
        summary["F3"] = {"acc": dict(zip(SKEWS, means))}
    if "F4" in names:
        f4 = _f4(out, results, seeds, lines)
        summary["F4"] = f4
    if "F5" in names:
        if not manifest:
            lines += ["## F5 — geographic partitions", "", "Skipped: no export manifest given (`--manifest`; "
                      "`flickr-mammal demo` writes one under flickr-mammal-data/demo/export/continent/).", ""]
        else:
            lines += ["## F5 — the same on geographic partitions of the offline world's catalog", "",
                      f"Manifest: `{manifest}` (continents as partitions; GN-LeNet at 32 px). The control reshuffles "
                      f"the same training photos IID into partitions of the same sizes.", "",
                      "| algorithm | geographic acc (%) | same data, IID (%) | loss (points) |", "|---|---:|---:|---:|"]
            f5 = {}
            for a in ("bsp", "gaia", "fedavg"):
                g, i = _final(results, "F5", (a, "geographic"), seeds), _final(results, "F5", (a, "same data, IID"), seeds)
                f5[a] = 100 * (_stats(i)[0] - _stats(g)[0])
                lines.append(f"| {a} | {_fmt(g)} | {_fmt(i)} | {f5[a]:.1f} |")
            lines += ["", "The real release has no images offline, so its geography enters through the label × "
                      "continent distribution only (`flickr-mammal stats --source authors`).", ""]
            summary["F5"] = f5
    lines += _where_it_does_not_reproduce(summary, data)
    (out / "REPORT.md").write_text("\n".join(lines) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _where_it_does_not_reproduce(summary: dict, data: dict) -> list[str]:
    notes = []
    f1 = summary.get("F1", {})
    weak = [a for a in ("gaia", "dgc", "fedavg") if a in f1 and f1[a]["loss_points"] <= 2]
    if weak:
        notes.append(f"- F1 for {', '.join(weak)}: the skew costs at most 2 points here, within or near the seed "
                     f"spread. {data['name']} is an easy task for GN-LeNet (BSP reaches "
                     f"{100 * f1.get('bsp', {}).get('iid', 0):.1f}%), so a model that sees only its own classes still "
                     f"learns features that transfer; the paper's large losses are on CIFAR-10 (use `--mnist DIR` for a "
                     f"harder offline set, or CIFAR-10 where it is present) and with longer training; `docs/mnist-table.md` "
                     f"shows the skew cost for all three on MNIST.")
    for setting, f4 in summary.get("F4", {}).items():
        for algo in ("gaia", "fedavg"):
            r = f4.get(algo) or {}
            if r.get("ratio") and not _within_bar(r["ratio"]):
                notes.append(_f4_note(setting, algo, f4, r, summary["F4"]))
            elif r and r.get("skewscout_mb") is None:
                worst = r.get("trajectory_worst", [])
                notes.append(f"- F4 on {setting}, {algo}: SkewScout's final accuracy (mean over seeds) stays below the "
                             f"target {100 * f4['target']:.1f}%, so it has no bytes at the target to compare. Per seed: "
                             + ", ".join(f"{100 * a:.1f}%" for a in r.get("finals", [])) + ". The worst seed's knob at "
                             "each evaluation (loss = the last measurement): "
                             + _trajectory(worst)
                             + "." + (" The loss jumped only at the last measurement, after a long stretch of "
                                      "near-zero loss at the loosest knob: the knob tightened, but the run ended first."
                                      if len(worst) > 2 and (worst[-1][2] or 0) > F4_SIGMA
                                      and all((x[2] or 0) <= F4_SIGMA for x in worst[-3:-1]) else ""))
    paper = {(st, a): r["ratio"] for st, f4 in summary.get("F4", {}).items() for a in ("gaia", "fedavg")
             if (r := f4.get(f"{a}, paper's SkewScout") or {}).get("ratio")}
    if paper:
        notes.append("- F4, the paper's SkewScout (horizon \"now\", model travel for every algorithm): whole-run ratio "
                     + ", ".join(f"{st} {a} {v:.2f}×" for (st, a), v in paper.items()) + ". It keeps the loss measured "
                     "now under σ all along, so it pays to close gaps that the LR drops (and Gaia's T, which decays "
                     "with them) repair for free by the end, where the Oracle is judged; and on FedAvg it travels the "
                     "partitions' own models on the last local step before an averaging, when they have drifted "
                     "furthest, while FedAvg delivers their average, which skew hurts far less. SkewScout as shipped "
                     "projects the loss to the end of the run and scores FedAvg's average (`[skewscout] horizon`, "
                     "`measure`; docs/training.md).")
    if not notes:
        return []
    return ["## Where a finding does not reproduce, and why", ""] + notes + [""]


def _trajectory(traj) -> str:
    return ", ".join(f"{it}: {k}" + (f" (loss {loss:.2f})" if loss is not None else "") for it, k, loss in traj)


def _f4_note(setting: str, algo: str, f4: dict, r: dict, all_f4: dict) -> str:
    """Why SkewScout as shipped spends more than F4_BAR × the Oracle on one setting, from the runs' own figures."""
    iso = r.get("iso") or {}
    o_acc, s_acc = 100 * (r.get("oracle_mean_acc") or 0), 100 * r["skewscout_mean_acc"]
    text = (f"- F4 on {setting}, {algo}: over the whole run SkewScout spends {r['ratio']:.2f}× the Oracle's bytes "
            f"(goal ≤ {F4_BAR}×; model travel is {100 * r['travel_share']:.0f}% of them). ")
    seen = r.get("oracle_loss_by_quarter")
    if algo == "fedavg" and seen:
        start = F4_START["fedavg"]
        text += (f"SkewScout starts FedAvg at the configured Iter_local {start} and until the first LR drop (half-way "
                 f"without one) only loosens, on a loss below σ/2 beyond sampling noise; its knob is first looser at "
                 "the evaluation of iteration " + "/".join(str(i) if i is not None else "never"
                                                             for i in r.get("loosened_at", []))
                 + " (per seed). The Oracle's knob (" + str(r["oracle_knob"]) + ") carries a loss of "
                 + ", ".join(f"{v:.2f}" for v in seen) + f" by quarter of the run (mean over seeds), above σ = "
                 f"{F4_SIGMA:.2f} for half of it, and still ends on target: the bytes SkewScout spends waiting for "
                 f"the loss to fall buy accuracy the end does not need. ")
        early = max(seen[:2])
        for other, f in all_f4.items():
            for knob, q in ((f.get("fedavg") or {}).get("failing_knobs_loss_by_quarter") or {}).items():
                if other != setting and q[0] >= early * 0.8:
                    text += (f"Loosening on that loss would not be safe: on {other}, Iter_local {knob} carries a like "
                             f"loss early (" + ", ".join(f"{v:.2f}" for v in q) + ") and misses the target. ")
                    break
            else:
                continue
            break
    elif f4.get("lr_drops"):
        text += (f"The Oracle's static knob ({r['oracle_knob']}) reaches the target only after the LR drops; "
                 f"accuracy averaged over the run: Oracle {o_acc:.1f}%, SkewScout {s_acc:.1f}%. ")
    else:
        text += f"Accuracy averaged over the run: Oracle {o_acc:.1f}%, SkewScout {s_acc:.1f}%. "
    text += (f"At SkewScout's own final accuracy the cheapest static knob ({iso.get('knob', '—')}) spends "
             + (f"{iso['mb']:.1f} MB, i.e. SkewScout / it = {iso['ratio']:.2f}×." if iso.get("ratio")
                else "more than any knob in the grid.")
             + " Knob at each evaluation (seed 0; loss = the last measurement): "
             + _trajectory(r.get("trajectory_seed0", [])) + ".")
    return text


def _mb_label(v: float, pos=None, minor: bool = False) -> str:
    """Plain numbers on a log axis: every decade, and 2 and 5 between them (other minor ticks would overlap)."""
    if v <= 0:
        return ""
    mantissa = round(v / 10 ** np.floor(np.log10(v)))
    return f"{v:g}" if not minor or mantissa in (2, 5) else ""


def _f4_runs(results, setting, key, seeds):
    return [results[("F4", (setting,) + key, s)] for s in range(seeds)]


def _f4_measure(results, setting, keys, seeds, target, measure) -> dict:
    """Oracle, SkewScout and BSP megabytes under one measure (see training.sweep.MEASURES). A static knob or
    SkewScout counts when its seed-mean final accuracy (whole-run) or every seed (to-target) reaches the target."""
    fn = MEASURES[measure]

    def mb(key):
        rows = _f4_runs(results, setting, key, seeds)
        if measure == "whole-run":
            mean_final = float(np.mean([r[-1]["acc_mean"] for r in rows]))
            return float(np.mean([r[-1]["bytes"] for r in rows])) / 1e6 if mean_final >= target else None
        vals = [b / 1e6 for r in rows if (b := fn(r, target)) is not None]
        return float(np.mean(vals)) if len(vals) == seeds else None

    res = {"bsp_mb": mb(("bsp", None))}
    for row, algo, variant in F4_ROWS:
        if (algo, variant) not in keys:
            continue
        static = {k[1]: v for k in keys if k[0] == algo and not _is_skewscout(k) and (v := mb(k)) is not None}
        knob = min(static, key=static.get) if static else None
        o, s_mb = static.get(knob), mb((algo, variant))
        res[row] = {"oracle_knob": knob, "oracle_mb": o, "skewscout_mb": s_mb,
                     "ratio": s_mb / o if (s_mb and o) else None,
                     "savings_vs_bsp": res["bsp_mb"] / s_mb if (s_mb and res["bsp_mb"]) else None}
    return res


F4_ROWS = (("gaia", "gaia", "skewscout"), ("fedavg", "fedavg", "skewscout"),
           ("gaia, paper's SkewScout", "gaia", "skewscout-paper"),
           ("fedavg, paper's SkewScout", "fedavg", "skewscout-paper"))   # (table row, algorithm, run variant)


def _is_skewscout(key) -> bool:
    return str(key[1]).startswith("skewscout")


ISO_SLACK = 0.005     # "the same accuracy": within half a point of SkewScout's final accuracy


def _mean_final(runs):
    return float(np.mean([r[-1]["acc_mean"] for r in runs]))


def _mean_over_run(runs):
    return float(np.mean([np.mean([x["acc_mean"] for x in r]) for r in runs]))


def _loss_by_quarter(runs, iterations: int) -> list[float] | None:
    """Mean over seeds and evaluations of the loss a static run's immovable SkewScout recorded, per quarter."""
    if not runs or not any("skewscout_loss" in x for x in runs[0]):
        return None
    q = [[x["skewscout_loss"] for r in runs for x in r if "skewscout_loss" in x
          and i * iterations / 4 < x["iteration"] <= (i + 1) * iterations / 4] for i in range(4)]
    return [float(np.mean(v)) if v else float("nan") for v in q]


def _f4(out, results, seeds, lines) -> dict:
    settings = sorted({key[0] for (name, key, _) in results if name == "F4"})
    res: dict = {}
    lines += ["## F4 — SkewScout saves communication over BSP, close to the Oracle", "",
              f"Label-exclusive partitions, {seeds} seeds, longer runs than F1–F3 (below). Target accuracy: "
              f"{int(100 * TARGET_REL)}% of BSP's final accuracy. Oracle: the cheapest static knob of the grid that "
              f"reaches the target. Grids: Gaia T0 {{{', '.join(map(str, F4_GAIA_GRID))}}} (the paper's); FedAvg "
              f"Iter_local {{{', '.join(map(str, F4_FEDAVG_GRID))}}} — the paper's grid goes on to 1000, but it ran 64k "
              f"iterations (1000 leaves 64 averagings), while at 100 these runs already average only 20 (digits) or 10 "
              f"(MNIST) times. SkewScout as shipped (`horizon = \"end\"`) holds the loss it projects to the end of "
              f"the run inside [σ/2, σ] — Gaia's loss scaled by how much T will still decay with the LR, a fall that "
              f"sampling noise cannot explain carried on to the end, a rise carried one stay ahead, a loss above σ "
              f"confirmed by a second measurement before the knob tightens, a knob that failed retried after 2, 4, 8, … "
              f"measurements — and scores FedAvg's delivered average instead of travelled models (`measure = "
              f"\"auto\"`); FedAvg's knob never tightens before the first LR drop (half-way with a constant LR) and "
              f"loosens there only on a loss below σ/2 beyond two standard errors of sampling noise; from the drop on "
              f"the loss as measured moves it, beyond the same noise (docs/training.md says why). The paper's SkewScout (`horizon = \"now\"`, model travel) is "
              f"shown beside it. Both are configured mid-grid (Gaia T {F4_START['gaia']}, FedAvg Iter_local {F4_START['fedavg']}), σ = {F4_SIGMA}, travel due "
              f"every 1/{F4_TRAVELS_PER_RUN} of the run just before a synchronisation, capped at {100 * F4_BUDGET:.0f}% of "
              f"the algorithm's bytes but at least once every {F4_FLOOR}/{F4_TRAVELS_PER_RUN} of the run. A second digits setting keeps the LR constant: the control for the "
              f"LR-drop explanation below. "
              f"Measures of communication (bytes of all partitions, travel included):", "",
              "- **whole run** (the paper's framing): every run trains for the same number of iterations; a run counts "
              "when its final accuracy (mean over seeds) reaches the target, with all the bytes it sent;",
              "- **to target**: bytes sent until the mean accuracy first reaches the target (every seed must reach it);",
              "- **same accuracy**: the cheapest static knob whose final accuracy is within 0.5 points of SkewScout's "
              "own (SkewScout often ends above the target, where the Oracle is cheaper by construction);",
              "- **mean accuracy over the run**: the partitions' models' accuracy averaged over the evaluations — what a "
              "user who stops training early, or deploys the partitions' own models, gets.", ""]
    for setting in settings:
        keys = sorted({key[1:] for (name, key, _) in results if name == "F4" and key[0] == setting}, key=str)
        bsp = _f4_runs(results, setting, ("bsp", None), seeds)
        target = TARGET_REL * _mean_final(bsp)
        iters = bsp[0][-1]["iteration"]
        whole, to_target = (_f4_measure(results, setting, keys, seeds, target, m) for m in ("whole-run", "to-target"))
        r = {"target": target, "iterations": iters, "whole_run": whole, "to_target": to_target,
             "lr_drops": len({x["lr"] for x in bsp[0]}) > 1}
        lines += [f"### {setting}, {iters} iterations (target {100 * target:.1f}%)", "",
                  "| algorithm | BSP (MB) | Oracle knob | Oracle (MB) | SkewScout (MB) | SkewScout / Oracle | "
                  "savings vs BSP | to target: Oracle knob, SkewScout / Oracle | same accuracy: knob, SkewScout / it | "
                  "mean acc over run: Oracle / SkewScout (%) |", "|---|---:|---|---:|---:|---:|---:|---|---|---|"]
        f = lambda v, fmt="{:.1f}": "—" if v is None else fmt.format(v)   # noqa: E731
        for row, algo, variant in F4_ROWS:
            if (algo, variant) not in keys:
                continue
            ss = _f4_runs(results, setting, (algo, variant), seeds)
            w, t = whole[row], to_target[row]
            ss_final = _mean_final(ss)
            static = {k[1]: _f4_runs(results, setting, k, seeds) for k in keys if k[0] == algo and not _is_skewscout(k)}
            iso_ok = {k: float(np.mean([x[-1]["bytes"] for x in v])) / 1e6 for k, v in static.items()
                      if _mean_final(v) >= ss_final - ISO_SLACK}
            iso_knob = min(iso_ok, key=iso_ok.get) if iso_ok else None
            ss_mb = float(np.mean([x[-1]["bytes"] for x in ss])) / 1e6
            iso = {"knob": iso_knob, "mb": iso_ok.get(iso_knob),
                   "ratio": ss_mb / iso_ok[iso_knob] if iso_knob is not None else None, "skewscout_final": ss_final}
            oracle_mean = _mean_over_run(static[w["oracle_knob"]]) if w["oracle_knob"] in static else None
            r[row] = w | {"bsp_mb": whole["bsp_mb"], "iso": iso, "skewscout_mean_acc": _mean_over_run(ss),
                           "oracle_mean_acc": oracle_mean,
                           "travel_share": float(np.mean([x[-1]["bytes_travel"] / x[-1]["bytes"] for x in ss])),
                           "trajectory_seed0": [(x["iteration"], x["knob"], x.get("skewscout_loss")) for x in ss[0]],
                           "finals": [x[-1]["acc_mean"] for x in ss],
                           "trajectory_worst": [(x["iteration"], x["knob"], x.get("skewscout_loss"))
                                                for x in min(ss, key=lambda rr: rr[-1]["acc_mean"])],
                           "oracle_loss_by_quarter": _loss_by_quarter(static.get(w["oracle_knob"]), iters),
                           "loosened_at": [next((x["iteration"] for x in rows if (x.get("knob") or 0) > F4_START[algo]),
                                                None) for rows in ss],
                           "failing_knobs_loss_by_quarter": {str(k): q for k, v in static.items()
                                                             if _mean_final(v) < target
                                                             and (q := _loss_by_quarter(v, iters))}}
            lines.append(f"| {row} | {f(whole['bsp_mb'])} | {f(w['oracle_knob'], '{}')} | {f(w['oracle_mb'])} | "
                         f"{f(w['skewscout_mb'])} | {f(w['ratio'], '{:.2f}×')} | {f(w['savings_vs_bsp'], '{:.1f}×')} | "
                         f"{f(t['oracle_knob'], '{}')}, {f(t['ratio'], '{:.2f}×')} | "
                         f"{f(iso_knob, '{}')}, {f(iso['ratio'], '{:.2f}×')} | "
                         f"{f(oracle_mean and 100 * oracle_mean)} / {100 * r[row]['skewscout_mean_acc']:.1f} |")
        lines.append("")
        res[setting] = r
    shipped = [(st, algo, (res[st].get(algo) or {}).get("ratio")) for st in settings for algo in ("gaia", "fedavg")
               if res[st].get(algo)]
    ok = [(st, a) for st, a, v in shipped if _within_bar(v)]
    savings = [v for st in settings for a in ("gaia", "fedavg") if (v := (res[st].get(a) or {}).get("savings_vs_bsp"))]
    reached = all(v is not None for *_, v in shipped)
    lines += [f"Verdict (SkewScout as shipped, whole run): within {F4_BAR}× of the Oracle on {len(ok)} of {len(shipped)} "
              f"settings × algorithms" + (", each at the target accuracy" if reached else "")
              + (f", {min(savings):.1f}–{max(savings):.1f}× fewer bytes than BSP" if savings else "")
              + ("; not on " + ", ".join(f"{st} {a} ({'below target' if v is None else f'{v:.2f}×'})"
                                          for st, a, v in shipped if (st, a) not in ok)
                 + " (why: below)" if len(ok) < len(shipped) else "")
              + f". Counting the bytes until the target is first reached: within {F4_BAR}× on "
              + str(sum(_within_bar(((res[st].get("to_target") or {}).get(a) or {}).get("ratio")) for st, a, _ in shipped))
              + f" of {len(shipped)}.", ""]
    _f4_figures(out, results, seeds, settings, res)
    lines += ["![F4](f4_skewscout.png)", "", "![F4 over time](f4_accuracy_over_time.png)", ""]
    if _f4_loss_figure(out, results, seeds, settings, res):
        lines += ["The loss SkewScout's FedAvg measure sees at each static Iter_local (recorded on the static runs by a "
                  "SkewScout that cannot move; it costs no bytes):", "", "![F4 FedAvg loss](f4_fedavg_loss.png)", ""]
    return res


def _f4_figures(out, results, seeds, settings, res) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    algos = ("gaia", "fedavg")
    label = {"gaia": "Gaia (knob: threshold T0)", "fedavg": "FedAvg (knob: Iter_local)"}
    fig, axes = plt.subplots(len(settings), 2, figsize=(11, 4 * len(settings)), squeeze=False)
    for i, setting in enumerate(settings):
        keys = sorted({key[1:] for (name, key, _) in results if name == "F4" and key[0] == setting}, key=str)
        for j, algo in enumerate(algos):
            ax = axes[i][j]
            pts = []
            for k in keys:
                if k[0] != algo:
                    continue
                runs = _f4_runs(results, setting, k, seeds)
                pts.append((k[1], float(np.mean([x[-1]["bytes"] for x in runs])) / 1e6, 100 * _mean_final(runs),
                            100 * float(np.std([x[-1]["acc_mean"] for x in runs]))))
            static = sorted([p for p in pts if not str(p[0]).startswith("skewscout")], key=lambda p: p[1])
            ax.errorbar([p[1] for p in static], [p[2] for p in static], yerr=[p[3] for p in static], marker="o",
                        color="tab:green", capsize=3, label="static knob (grid)")
            for knob, x, y, _ in static:
                ax.annotate(str(knob), (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
            for knob, x, y, e in pts:
                if knob == "skewscout":
                    ax.errorbar([x], [y], yerr=[e], marker="*", markersize=14, color="tab:blue", capsize=3,
                                linestyle="none", label="SkewScout (as shipped)")
                elif knob == "skewscout-paper":
                    ax.errorbar([x], [y], yerr=[e], marker="P", markersize=11, color="tab:purple", capsize=3,
                                linestyle="none", label="the paper's SkewScout")
            bsp = _f4_runs(results, setting, ("bsp", None), seeds)
            ax.plot([bsp[0][-1]["bytes"] / 1e6], [100 * _mean_final(bsp)], "s", color="tab:gray", label="BSP")
            ax.axhline(100 * res[setting]["target"], color="tab:red", linestyle="--", linewidth=1,
                       label=f"target {100 * res[setting]['target']:.1f}%")
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_mb_label))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _mb_label(v, minor=True)))
            ax.set_xlabel("communication over the whole run, all partitions (MB, log scale)")
            ax.set_ylabel("final test accuracy (%)")
            ax.set_title(f"{setting}, {res[setting]['iterations']} it: {label[algo]}", fontsize=10)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("F4: final accuracy vs bytes — static knobs, SkewScout, BSP (label-exclusive, mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(out / "f4_skewscout.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(len(settings), 2, figsize=(11, 3.6 * len(settings)), squeeze=False)
    for i, setting in enumerate(settings):
        for j, algo in enumerate(algos):
            ax = axes[i][j]
            r = res[setting][algo]
            curves = [("BSP", ("bsp", None), "tab:gray"), ("SkewScout (as shipped)", (algo, "skewscout"), "tab:blue")]
            if ("F4", (setting, algo, "skewscout-paper"), 0) in results:
                curves.append(("the paper's SkewScout", (algo, "skewscout-paper"), "tab:purple"))
            if r.get("oracle_knob") is not None:
                curves.insert(1, (f"Oracle (static {r['oracle_knob']})", (algo, r["oracle_knob"]), "tab:green"))
            for name, key, col in curves:
                runs = _f4_runs(results, setting, key, seeds)
                its = [x["iteration"] for x in runs[0]]
                acc = 100 * np.mean([[x["acc_mean"] for x in rr] for rr in runs], axis=0)
                ax.plot(its, acc, marker=".", color=col, label=name)
            ax.axhline(100 * res[setting]["target"], color="tab:red", linestyle="--", linewidth=1, label="target")
            ax.set_xlabel("iteration")
            ax.set_ylabel("test accuracy, mean of partitions (%)")
            ax.set_ylim(0, 100)
            ax.set_title(f"{setting}: {label[algo]}", fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("F4: accuracy during training (LR ×0.1 at 50% and 75% of the run except on constant LR; mean over seeds)")
    fig.tight_layout()
    fig.savefig(out / "f4_accuracy_over_time.png", dpi=110)
    plt.close(fig)


def _f4_loss_figure(out, results, seeds, settings, res) -> bool:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(settings), figsize=(5.5 * len(settings), 3.8), squeeze=False)
    drawn = False
    for ax, setting in zip(axes[0], settings):
        keys = sorted({key[1:] for (name, key, _) in results if name == "F4" and key[0] == setting
                       and key[1] == "fedavg" and not _is_skewscout(key[1:])}, key=lambda k: k[1])
        for k in keys:
            runs = _f4_runs(results, setting, k, seeds)
            pts = {}
            for r in runs:
                for x in r:
                    if "skewscout_loss" in x:
                        pts.setdefault(x["iteration"], []).append(x["skewscout_loss"])
            if pts:
                its = sorted(pts)
                hit = _mean_final(runs) >= res[setting]["target"]
                ax.plot(its, [np.mean(pts[i]) for i in its], marker=".", linestyle="-" if hit else ":",
                        label=f"Iter_local {k[1]} ({'reaches' if hit else 'misses'} the target)")
                drawn = True
        ax.axhline(F4_SIGMA, color="tab:red", linestyle="--", linewidth=1, label=f"σ = {F4_SIGMA}")
        ax.set_xlabel("iteration")
        ax.set_ylabel("measured loss: kept model − average (accuracy)")
        ax.set_title(setting, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("F4: the skew-induced loss FedAvg's average carries at each static knob (mean over seeds; "
                 "dotted: final accuracy below the target)")
    fig.tight_layout()
    if drawn:
        fig.savefig(out / "f4_fedavg_loss.png", dpi=110)
    plt.close(fig)
    return drawn
