"""A static grid of one algorithm's knob (resumable, one line per finished run) and the Oracle: the least
communication among the runs that reach the target accuracy."""
from __future__ import annotations

import copy
from pathlib import Path

from catalog.errors import UserError
from training.algorithms import ALGORITHMS
from training.study.running import run_all


def bytes_to_target(rows: list[dict], target: float) -> float | None:
    """Communication spent when the mean accuracy first reaches ``target`` (None if it never does)."""
    for r in rows:
        if r["acc_mean"] >= target:
            return r["bytes"]
    return None


def run_bytes(rows: list[dict], target: float) -> float | None:
    """Communication of the whole run when its final accuracy is at least ``target`` (the paper's framing: the
    same training length, the same final quality), else None."""
    return rows[-1]["bytes"] if rows and rows[-1]["acc_mean"] >= target else None


MEASURES = {"to-target": bytes_to_target, "whole-run": run_bytes}


def oracle(results: list[dict], target: float, measure: str = "to-target") -> dict | None:
    """The cheapest run by ``measure`` among those that reach ``target``; None when none does."""
    fn = MEASURES[measure]
    ok = [r | {"bytes_to_target": b} for r in results if (b := fn(r["rows"], target)) is not None]
    return min(ok, key=lambda r: (r["bytes_to_target"], str(r["knob"]))) if ok else None


def _result(config: dict, label: str, rows: list[dict]) -> dict:
    name = config["algorithm"]["name"]
    return {"label": label, "knob": config["algorithm"].get(ALGORITHMS[name].sweep_knob()), "algorithm": name,
            "rows": rows, "final_acc": rows[-1]["acc_mean"], "bytes": rows[-1]["bytes"]}


def grid_configs(config: dict, grid: list | None, out_root: Path) -> list[tuple[dict, str, str]]:
    name = config.get("algorithm", {}).get("name", "bsp")
    algo = ALGORITHMS.get(name)
    knob = algo.sweep_knob() if algo is not None else None
    if knob is None:
        sweepable = ", ".join(a for a in ALGORITHMS.names() if ALGORITHMS[a].sweep_knob())
        raise UserError(f"algorithm {name!r} has no knob to sweep; sweep one of {sweepable}")
    values = grid or list(algo.knob_grid)
    out = []
    for v in values:
        c = copy.deepcopy(config)
        c["algorithm"][knob] = v
        c.get("skewscout", {}).pop("enabled", None)
        out.append((c, str(out_root / f"{name}-{knob}={v}"), f"{name} {knob}={v}"))
    return out


def sweep(config: dict, out_root: str | Path, grid: list | None = None, *, jobs: int = 1, target: float | None = None,
          target_rel: float | None = None, with_bsp: bool = True, echo=print) -> dict:
    out_root = Path(out_root)
    runs = grid_configs(config, grid, out_root)
    if with_bsp:
        b = copy.deepcopy(config)
        b["algorithm"] = {"name": "bsp"}
        b.pop("topology", None)                        # BSP talks to every partition
        runs.append((b, str(out_root / "bsp"), "bsp"))

    def show(i, rows):
        echo(f"{runs[i][2]:<28} acc {rows[-1]['acc_mean']:.3f}  bytes {rows[-1]['bytes'] / 1e6:10.1f} MB")

    all_rows = run_all([(cfg, out) for cfg, out, _ in runs], jobs, on_done=show)
    results = [_result(cfg, label, rows) for (cfg, _, label), rows in zip(runs, all_rows)]
    bsp = next((r for r in results if r["label"] == "bsp"), None)
    if target is None:
        if target_rel is None or bsp is None:
            raise UserError("give --target ACC, or --target-rel FRACTION of BSP's accuracy")
        target = target_rel * bsp["final_acc"]
    best = oracle([r for r in results if r["label"] != "bsp"], target)
    best_run = oracle([r for r in results if r["label"] != "bsp"], target, "whole-run")
    return {"target": target,
            "oracle": None if best is None else {k: best[k] for k in ("label", "knob", "bytes_to_target", "final_acc")},
            "oracle_whole_run": None if best_run is None else {
                "label": best_run["label"], "knob": best_run["knob"], "bytes": best_run["bytes_to_target"],
                "final_acc": best_run["final_acc"]},
            "bsp": None if bsp is None else {"final_acc": bsp["final_acc"],
                                             "bytes_to_target": bytes_to_target(bsp["rows"], target)},
            "runs": [{k: r[k] for k in ("label", "knob", "final_acc", "bytes")}
                     | {"bytes_to_target": bytes_to_target(r["rows"], target)} for r in results]}
