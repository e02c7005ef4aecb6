"""`run_study`: plan the experiments' runs, run them through the shared cache, summarise, draw and write
REPORT.md and summary.json. Each step lives in its own module; this one only puts them in order.

Runs go in stages: tuning and control runs first; a treatment run only once every control of its finding finished
and the finding's precondition (training/study/metrics.py ``checks``) held on them for its setting. A finding whose
precondition fails is reported "not testable here" without training its treatment."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from catalog.errors import UserError
from training.study import figures, metrics
from training.study.experiments import EXPERIMENTS, Context, Planned
from training.study.experiments import f4 as f4_runs
from training.study.portable import portable
from training.study.protocol import EVALUATION, TUNING, F4Setting
from training.study.render import render
from training.study.running import code_version, run_all

ALL = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8")
GATED_ROLES = ("tuning", "control")       # a treatment waits until every one of its finding's has finished


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


def with_mnist(settings: list[F4Setting], mnist: str | None, manifest: str | None = None) -> list[F4Setting]:
    """The protocol's MNIST settings read their idx files from ``mnist`` (--f4-mnist DIR), its geographic ones the
    export's ``manifest`` (--manifest); without them they are one error line, naming them."""
    geo = [s.id for s in settings if s.data["name"] == "manifest"]
    if geo and not manifest:
        raise UserError(f"F4 settings {', '.join(geo)} train on the export's geographic partitions: pass --manifest "
                        f"MANIFEST (an export's manifest.parquet), or leave them out with --f4-settings")
    settings = [dataclasses.replace(s, data=s.data | {"path": str(Path(manifest).resolve())})
                if s.data["name"] == "manifest" else s for s in settings]
    needs = [s.id for s in settings if s.data["name"] == "mnist"]
    if needs and not mnist:
        raise UserError(f"F4 settings {', '.join(needs)} train on MNIST-10k: pass --f4-mnist DIR (a folder with "
                        f"t10k-images-idx3-ubyte[.gz], e.g. ../shared/data/mnist), or leave them out with "
                        f"--f4-settings")
    return [dataclasses.replace(s, data=s.data | {"path": str(Path(mnist).resolve())}) if s.data["name"] == "mnist"
            else s for s in settings]


def plan_runs(names: list[str], ctx: Context, f4: list[F4Setting], results: dict,
              tuning_seeds: int | None = None) -> list[tuple[str, Planned]]:
    """Every run the asked-for experiments want, given the runs finished so far: (experiment, Planned). An F4 key
    starts with the setting's id (E9, T1, ...); F4's tuning settings run ``tuning_seeds`` seeds (default: all)."""
    out = []
    for name in names:
        if name == "F4":
            def n_seeds(st: F4Setting) -> int:
                return tuning_seeds if st.group == "tuning" and tuning_seeds is not None else ctx.seeds
            out += [(name, Planned((st.id,) + key, seed, cfg)) for st in f4 for seed in range(n_seeds(st))
                    for key, cfg in f4_runs(st, seed)]
        else:
            out += [(name, p) for p in EXPERIMENTS[name](ctx, results)]
    return out


def plan(names: list[str], seeds: int, data: dict, iterations: int, manifest: str | None, f4: list[F4Setting],
         runs_root: Path, tuning_seeds: int | None = None) -> list[tuple[tuple, dict, str]]:
    """The first stage's runs as ((experiment, key, seed), config, run folder), e.g. F4's for the SkewScout tuning
    script (benchmarks/skewscout_tuning.py); later stages (treatments, F7's chosen point) need finished runs."""
    planned = plan_runs(names, Context(seeds, iterations, data or None, manifest=manifest), f4, {}, tuning_seeds)
    folder_of = folders(planned, runs_root)
    return [((n, p.key, p.seed), p.config, folder_of[(n, p.key, p.seed)]) for n, p in planned]


def folders(planned: list[tuple[str, Planned]], runs_root: Path) -> dict[tuple, str]:
    """(experiment, key, seed) -> run folder: one per distinct config, named after the first run that wants it,
    so a run two experiments (or a tuning and a control run) share trains once."""
    by_config: dict[str, str] = {}
    out = {}
    for name, p in planned:
        tag = "-".join(str(k) for k in p.key).replace(" ", "_").replace(",", "")
        text = json.dumps(p.config, sort_keys=True, default=str)
        out[(name, p.key, p.seed)] = by_config.setdefault(text, str(runs_root / name / f"{tag}-seed{p.seed}"))
    return out


def ready(planned: list[tuple[str, Planned]], results: dict, meta: metrics.StudyMeta,
          failed: frozenset = frozenset()) -> list[tuple[str, Planned]]:
    """The planned runs not yet finished that may train now: a treatment only when every tuning and control run
    of its finding finished (or ``failed``: its precondition is then measured on the others) and the finding's
    precondition holds for its setting."""
    waiting = {name for name, p in planned if p.role in GATED_ROLES
               and (name, p.key, p.seed) not in results and (name, p.key, p.seed) not in failed}
    holds = {name: metrics.checks(name, results, meta) for name in {n for n, _ in planned} - waiting}
    out = []
    for name, p in planned:
        if (name, p.key, p.seed) in results:
            continue
        if p.role == "treatment":
            check = holds.get(name, {}).get(p.setting)
            if name in waiting or check is None or not check.holds:
                continue
        out.append((name, p))
    return out


def train(names: list[str], ctx: Context, f4: list[F4Setting], meta: metrics.StudyMeta, runs_root: Path,
          jobs: int = 1, tuning_seeds: int | None = None,
          stop_after: float | None = None) -> tuple[dict, dict, dict[str, int]]:
    """Stage by stage until nothing more may train: (experiment, key, seed) -> metrics rows, -> run folder, and
    the runs each finding still wanted when the study stopped. A run that fails is printed and left out (its
    finding shows what is missing); ``stop_after`` (seconds) trains no new batch after that long, so a study cut
    short still reports what finished (cached runs are always read: ``stop_after=0`` renders the cache)."""
    from training.study.running import cached_rows, run_key, uses_hooks

    versions = {hooks: code_version(with_hooks=hooks) for hooks in (False, True)}

    def finished(folder: str, cfg: dict) -> list[dict] | None:
        return cached_rows(folder, run_key(cfg, versions[uses_hooks(cfg)]))

    results: dict = {}
    failed: set[str] = set()
    t0 = time.perf_counter()
    while True:
        planned = plan_runs(names, ctx, f4, results, tuning_seeds)
        folder_of = folders(planned, runs_root)

        def take(folder: str, rows: list[dict], folder_of: dict = folder_of) -> None:
            for k, f in folder_of.items():
                if f == folder:
                    results[k] = rows
        rows_of = {folder_of[k]: rows for k, rows in results.items()}
        skip = frozenset(k for k, f in folder_of.items() if f in failed)
        fresh: dict[str, dict] = {}
        found = 0
        for name, p in ready(planned, results, meta, skip):
            folder = folder_of[(name, p.key, p.seed)]
            if folder in rows_of:                       # same config as a finished run: its rows
                results[(name, p.key, p.seed)], found = rows_of[folder], found + 1
            elif (rows := finished(folder, p.config)) is not None:       # cached
                take(folder, rows)
                rows_of[folder], found = rows, found + 1
            elif folder not in failed:
                fresh[folder] = p.config
        stopped = stop_after is not None and time.perf_counter() - t0 > stop_after
        if found:                   # rows from the cache may open a finding's next stage: read them all first
            continue
        if not fresh or stopped:
            left = pending(planned, results, meta, skip) if stopped else {}
            if left:
                print(f"stopping after {stop_after:.0f} s; runs left untrained: {left}", flush=True)
            return results, folder_of, left
        todo = list(fresh.items())
        if stop_after is not None:             # small batches, so that the clock is read between them
            todo = todo[:2 * max(1, jobs)]
        try:
            run_all([(cfg, folder) for folder, cfg in todo], jobs,
                    on_done=lambda i, rows, todo=todo: print(f"  {todo[i][0]}: {rows[-1]['acc_mean']:.3f} "
                                                             f"({rows[-1].get('wall_s', 0):.0f} s)", flush=True))
        except Exception as e:                          # noqa: BLE001 - the rest of the study still runs
            lost = next(f for f, cfg in todo if finished(f, cfg) is None)
            failed.add(lost)
            print(f"run {lost} failed: {e}", flush=True)
        for folder, cfg in todo:
            if (rows := finished(folder, cfg)) is not None:
                take(folder, rows)


def pending(planned: list[tuple[str, Planned]], results: dict, meta: metrics.StudyMeta,
            failed: frozenset) -> dict[str, int]:
    """Per finding, the runs it still wants: all but the finished, the failed and the treatments whose
    precondition already failed on complete controls (a stage not reached yet, such as F7's treatments before
    its choice, is not counted)."""
    checks = {name: metrics.checks(name, results, meta) for name in {n for n, _ in planned}}
    left: dict[str, int] = {}
    for name, p in planned:
        key = (name, p.key, p.seed)
        check = checks[name].get(p.setting) if p.role == "treatment" else None
        if key not in results and key not in failed and (check is None or check.holds):
            left[name] = left.get(name, 0) + 1
    return left


def manifest_photos(manifest: str | None) -> dict[str, int]:
    """Photos per partition and in the test split, from the export's manifest.json (label_counts)."""
    if not manifest:
        return {}
    path = Path(manifest)
    try:
        counts = json.loads(((path if path.is_dir() else path.parent) / "manifest.json").read_text())["label_counts"]
    except (OSError, KeyError, ValueError):
        return {}
    return {split: int(sum(c.values())) for split, c in counts.items()}


def run_study(out_dir: str | Path = "docs/study", *, quick: bool = False, seeds: int = 3, data: dict | None = None,
              experiments: list[str] | None = None, manifest: str | None = None, jobs: int = 1,
              runs_dir: str | Path | None = None, command: str = "flickr-mammal study", mnist: str | None = None,
              f4_mnist: str | None = None, tuning_seeds: int | None = None, f4_only: list[str] | None = None,
              manifest_how: str = "", stop_after: float | None = None) -> dict:
    """Run (or reuse) every run, write OUT/REPORT.md, its figures and summary.json; return the summary. ``mnist``:
    MNIST-10k's idx folder (F1, and F4's MNIST settings unless ``f4_mnist``)."""
    for flag, path in (("--mnist", mnist), ("--f4-mnist", f4_mnist), ("--manifest", manifest)):
        if path and not Path(path).exists():
            raise UserError(f"{flag} {path}: no such file or folder; pass an existing one (paths are relative to "
                            f"the current folder)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = data or {"name": "digits", "test_fraction": 0.25}
    iterations = 60 if quick else 400
    names = [n for n in ALL if n in (experiments or ALL)]
    t0 = time.perf_counter()
    f4 = with_mnist(f4_settings(quick, f4_only), f4_mnist or mnist, manifest) if "F4" in names else []
    ctx = Context(seeds, iterations, data, mnist and str(Path(mnist).resolve()),
                  manifest and str(Path(manifest).resolve()))
    meta = metrics.StudyMeta(
        data_name=data["name"], quick=quick, iterations=iterations, seeds=seeds, command=portable(command),
        seconds=0.0, runs=0, run_minutes=0.0, manifest="MANIFEST" if manifest else None,
        mnist="MNIST_DIR" if mnist else None,
        engine={"static": code_version(with_hooks=False), "skewscout": code_version(with_hooks=True)},
        manifest_photos=manifest_photos(manifest), manifest_how=portable(manifest_how))
    results, folder_of, left = train(names, ctx, f4, meta, Path(runs_dir or out / "runs"), jobs, tuning_seeds,
                                     stop_after)
    meta = dataclasses.replace(meta, seconds=time.perf_counter() - t0, **cost(results, folder_of))
    made_by = {n: dataclasses.replace(meta, pending_runs=left.get(n, 0),
                                      **cost({k: r for k, r in results.items() if k[0] == n}, folder_of))
               for n in names}
    return write(out, results, names, meta, made_by)


def cost(results: dict, folder_of: dict) -> dict:
    """Distinct runs behind ``results`` and their run-minutes (a run two keys share counts once)."""
    walls = {folder_of.get(k, str(k)): rows[-1].get("wall_s", 0.0) for k, rows in results.items()}
    return {"runs": len(walls), "run_minutes": sum(walls.values()) / 60}


def write(out: Path, results: dict, names: list[str], meta: metrics.StudyMeta,
          made_by: dict[str, metrics.StudyMeta] | None = None) -> dict:
    """Summary, figures, REPORT.md and summary.json from the runs' metrics rows."""
    summary = metrics.summarize(results, names, meta)
    summary.made_by.update(made_by or {})
    summary = keep_previous(out, summary, names)
    figures.draw_all(out, summary, results)
    (out / "REPORT.md").write_text(render(summary))
    as_json = summary.to_json()
    (out / "summary.json").write_text(json.dumps(as_json, indent=2, default=str))
    return as_json


def render_only(out_dir: str | Path) -> dict:
    """REPORT.md, the figures and summary.json again from OUT/summary.json alone (no run is read or trained)."""
    out = Path(out_dir)
    path = out / "summary.json"
    if not path.exists():
        raise UserError(f"{path}: no summary.json to render; run `flickr-mammal study` first")
    summary = metrics.StudySummary.from_json(json.loads(path.read_text()))
    figures.draw_all(out, summary, {})
    (out / "REPORT.md").write_text(render(summary))
    as_json = summary.to_json()
    path.write_text(json.dumps(as_json, indent=2, default=str))
    return as_json


def keep_previous(out: Path, summary: metrics.StudySummary, names: list[str]) -> metrics.StudySummary:
    """Findings not rerun this time (say all but F6 and F7) are kept from OUT/summary.json with the header of
    the invocation that made them, so that rerunning one finding does not erase the others."""
    old_path = out / "summary.json"
    if not old_path.exists():
        return summary
    prev = metrics.StudySummary.from_json(json.loads(old_path.read_text()))
    kept = []
    for name in ALL:
        if name not in names and getattr(prev, name.lower()) is not None:
            setattr(summary, name.lower(), getattr(prev, name.lower()))
            summary.made_by[name] = prev.meta_of(name)
            kept.append(name)
    summary.previous = kept
    return summary
