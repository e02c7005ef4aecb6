"""`run_study`: plan the experiments' runs, run them through the shared cache, summarise, draw and write
REPORT.md and summary.json. Each step lives in its own module; this one only puts them in order."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from catalog.errors import UserError
from training.study import beyond, figures, metrics
from training.study.experiments import EXPERIMENTS, base_config
from training.study.experiments import f4 as f4_runs
from training.study.protocol import EVALUATION, TUNING, F4Setting
from training.study.render import render
from training.study.running import code_version, run_all


def f4_settings(quick: bool, only: list[str] | None = None) -> list[F4Setting]:
    """F4's settings from the protocol, evaluation first (training/study/protocol.py), or those whose id is in
    ``only``; quick mode: one of each group, 40 iterations."""
    if quick:
        return [dataclasses.replace(s, iterations=40) for s in (EVALUATION[0], TUNING[0])]
    chosen = [s for s in EVALUATION + TUNING if only is None or s.id in only]
    unknown = set(only or ()) - {s.id for s in EVALUATION + TUNING}
    if unknown:
        raise UserError(f"--f4-settings: unknown setting(s) {', '.join(sorted(unknown))}; the protocol's are "
                        f"{', '.join(s.id for s in EVALUATION + TUNING)} (training/study/protocol.py)")
    return chosen


def with_mnist(settings: list[F4Setting], mnist: str | None) -> list[F4Setting]:
    """The protocol's MNIST settings read their idx files from ``mnist`` (--f4-mnist DIR); without it they are one
    error line, naming them."""
    needs = [s.id for s in settings if s.data["name"] == "mnist"]
    if needs and not mnist:
        raise UserError(f"F4 settings {', '.join(needs)} train on MNIST-10k: pass --f4-mnist DIR (a folder with "
                        f"t10k-images-idx3-ubyte[.gz], e.g. ../shared/data/mnist), or leave them out with "
                        f"--f4-settings")
    return [dataclasses.replace(s, data=s.data | {"path": str(Path(mnist).resolve())}) if s.data["name"] == "mnist"
            else s for s in settings]


def plan(names: list[str], seeds: int, data: dict, iterations: int, manifest: str | None, f4: list[F4Setting],
         runs_root: Path, tuning_seeds: int | None = None) -> list[tuple[tuple, dict, str]]:
    """Every run of the asked-for experiments: ((experiment, key, seed), config, run folder). An F4 key starts with
    the setting's id (E5, T1, ...); F4's tuning settings run ``tuning_seeds`` seeds (default: ``seeds``)."""
    jobs = []
    for name in names:
        if name == "F4":
            def n_seeds(st: F4Setting) -> int:
                return tuning_seeds if st.group == "tuning" and tuning_seeds is not None else seeds
            gens = [(seed, ((st.id,) + key, cfg)) for st in f4 for seed in range(n_seeds(st))
                    for key, cfg in f4_runs(st, seed)]
        else:
            gens = []
            for seed in range(seeds):
                base = base_config(data, iterations, seed)
                gens += [(seed, kc) for kc in (EXPERIMENTS[name](base, manifest) if name == "F5"
                                               else EXPERIMENTS[name](base))]
        for seed, (key, cfg) in gens:
            tag = "-".join(str(k) for k in key).replace(" ", "_").replace(",", "")
            jobs.append(((name, key, seed), cfg, str(runs_root / name / f"{tag}-seed{seed}")))
    return jobs


def run_study(out_dir: str | Path = "docs/study", *, quick: bool = False, seeds: int = 3, data: dict | None = None,
              experiments: list[str] | None = None, manifest: str | None = None, jobs: int = 1,
              runs_dir: str | Path | None = None, command: str = "flickr-mammal study",
              f4_mnist: str | None = None, tuning_seeds: int | None = None,
              f4_only: list[str] | None = None) -> dict:
    """Run (or reuse) every run, write OUT/REPORT.md, its figures and summary.json; return the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data or {"name": "digits", "test_fraction": 0.25}
    iterations = 60 if quick else 400
    names = experiments or list(EXPERIMENTS)
    t0 = time.perf_counter()
    f4 = with_mnist(f4_settings(quick, f4_only), f4_mnist) if "F4" in names else []
    planned = plan(names, seeds, data, iterations, manifest, f4, Path(runs_dir or out / "runs"), tuning_seeds)
    rows = run_all([(cfg, run_out) for _, cfg, run_out in planned], jobs)
    results = {key: r for (key, _, _), r in zip(planned, rows)}
    return write(out, results, names, metrics.StudyMeta(
        data_name=data["name"], quick=quick, iterations=iterations, seeds=seeds, command=command,
        seconds=time.perf_counter() - t0, runs=len(results),
        run_minutes=sum(r[-1]["wall_s"] for r in results.values()) / 60, manifest=manifest,
        engine={"static": code_version(with_hooks=False), "skewscout": code_version(with_hooks=True)},
    ))


def write(out: Path, results: dict, names: list[str], meta: metrics.StudyMeta) -> dict:
    """Summary, figures, REPORT.md and summary.json from the runs' metrics rows."""
    beyond_part = beyond.kept(out)          # F6–F8 (training/study/beyond.py) are carried over, never rerun here
    summary = keep_previous(out, metrics.summarize(results, names, meta), names)
    figures.draw_all(out, summary, results)
    (out / "REPORT.md").write_text(render(summary) + (beyond.render(beyond_part) if beyond_part else ""))
    as_json = summary.to_json() | beyond_part
    (out / "summary.json").write_text(json.dumps(as_json, indent=2, default=str))
    return as_json


def keep_previous(out: Path, summary: metrics.StudySummary, names: list[str]) -> metrics.StudySummary:
    """Findings not rerun this time (say F1–F3 and F5 when only F4 ran) are kept from OUT/summary.json, so that
    rerunning one finding does not erase the others; the report's header names them."""
    old_path = out / "summary.json"
    if not old_path.exists():
        return summary
    old = json.loads(old_path.read_text())
    old.pop("F4", None)
    prev = metrics.StudySummary.from_json(old, meta=summary.meta)
    kept = []
    for name in ("F1", "F2", "F3", "F5"):
        if name not in names and getattr(prev, name.lower()) is not None:
            setattr(summary, name.lower(), getattr(prev, name.lower()))
            kept.append(name)
    summary.previous = kept
    return summary
