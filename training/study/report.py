"""`run_study`: plan the experiments' runs, run them through the shared cache, summarise, draw and write
REPORT.md and summary.json. Each step lives in its own module; this one only puts them in order."""
from __future__ import annotations

import json
import time
from pathlib import Path

from training.study import figures, metrics
from training.study.experiments import EXPERIMENTS, base_config, with_
from training.study.render import render
from training.study.running import run_all

F4_ITERATIONS = {"digits": 2000, "mnist": 1000}   # long enough to converge before the first LR drop


def f4_settings(data: dict, f4_mnist: str | None, quick: bool) -> dict:
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


def plan(names: list[str], seeds: int, data: dict, iterations: int, manifest: str | None, f4: dict,
         runs_root: Path) -> list[tuple[tuple, dict, str]]:
    """Every run of the asked-for experiments: ((experiment, key, seed), config, run folder)."""
    jobs = []
    for name in names:
        for seed in range(seeds):
            if name == "F4":
                gens = [((setting,) + key, cfg) for setting, (d, its, solver) in f4.items()
                        for key, cfg in EXPERIMENTS["F4"](with_(base_config(d, its, seed), solver=solver))]
            else:
                base = base_config(data, iterations, seed)
                gens = EXPERIMENTS[name](base, manifest) if name == "F5" else EXPERIMENTS[name](base)
            for key, cfg in gens:
                tag = "-".join(str(k) for k in key).replace(" ", "_").replace(",", "")
                jobs.append(((name, key, seed), cfg, str(runs_root / name / f"{tag}-seed{seed}")))
    return jobs


def run_study(out_dir: str | Path = "docs/study", *, quick: bool = False, seeds: int = 3, data: dict | None = None,
              experiments: list[str] | None = None, manifest: str | None = None, jobs: int = 1,
              runs_dir: str | Path | None = None, command: str = "flickr-mammal study",
              f4_mnist: str | None = None) -> dict:
    """Run (or reuse) every run, write OUT/REPORT.md, its figures and summary.json; return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data or {"name": "digits", "test_fraction": 0.25}
    iterations = 60 if quick else 400
    names = experiments or list(EXPERIMENTS)
    t0 = time.perf_counter()
    planned = plan(names, seeds, data, iterations, manifest, f4_settings(data, f4_mnist, quick),
                   Path(runs_dir or out / "runs"))
    rows = run_all([(cfg, run_out) for _, cfg, run_out in planned], jobs)
    results = {key: r for (key, _, _), r in zip(planned, rows)}
    return write(out, results, names, metrics.StudyMeta(
        data_name=data["name"], quick=quick, iterations=iterations, seeds=seeds, command=command,
        seconds=time.perf_counter() - t0, runs=len(results),
        run_minutes=sum(r[-1]["wall_s"] for r in results.values()) / 60, manifest=manifest,
        f4_fedavg_loss=metrics.has_fedavg_loss(results)))


def write(out: Path, results: dict, names: list[str], meta: metrics.StudyMeta) -> dict:
    """Summary, figures, REPORT.md and summary.json from the runs' metrics rows."""
    summary = metrics.summarize(results, names, meta)
    figures.draw_all(out, summary, results)
    (out / "REPORT.md").write_text(render(summary))
    as_json = summary.to_json()
    (out / "summary.json").write_text(json.dumps(as_json, indent=2, default=str))
    return as_json
