"""Run many training configs, in parallel processes, each cached in its folder's done.json; shared by the study
and `sweep` so both resume the same way and never reuse runs of other training code."""
from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TRAINING = Path(__file__).resolve().parents[1]
ANALYSIS = ("study", "sweep.py")     # read runs, never change them: editing them keeps the cache valid
HOOKS = ("skewscout",)               # shape only the runs that enable them ([skewscout] enabled = true)


def code_text(source: str) -> str:
    """What of a module can change a run: its syntax tree without docstrings (comments never reach the tree), so a
    comment or docstring fix keeps every cached run. Line numbers are left out of the dump."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


def code_version(with_hooks: bool = True) -> str:
    """Hash of the training package's code that shapes a run (everything but the analysis above), read as syntax
    trees without docstrings (``code_text``). A run without SkewScout never executes training/skewscout/, so
    ``with_hooks=False`` leaves it out: a controller change reruns the SkewScout runs and keeps the static-knob and
    BSP runs it cannot have changed."""
    h = hashlib.sha256()
    for p in sorted(TRAINING.rglob("*.py")):
        rel = p.relative_to(TRAINING)
        if rel.parts[0] in ANALYSIS or (not with_hooks and rel.parts[0] in HOOKS):
            continue
        h.update(rel.as_posix().encode() + b"\0" + code_text(p.read_text()).encode() + b"\0")
    return h.hexdigest()[:16]


def uses_hooks(config: dict) -> bool:
    """Whether a run's config enables SkewScout, whose code then shapes it."""
    return bool(config.get("skewscout", {}).get("enabled"))


def version_of(config: dict) -> str:
    """The code version a run of ``config`` is keyed by."""
    return code_version(with_hooks=uses_hooks(config))


def run_key(config: dict, version: str) -> str:
    """What a cached run must match: the engine's code version and the config itself (canonical JSON), so that a
    run made by other code, or by another config in the same folder, is rerun and a report never mixes them."""
    text = json.dumps(config, sort_keys=True, default=str)
    return f"{version}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def cached_rows(out: str | Path, key: str) -> list[dict] | None:
    """The finished run's metrics rows in ``out``, or None when it is unfinished or made by other code or config."""
    done = Path(out) / "done.json"
    if not done.exists():
        return None
    cached = json.loads(done.read_text())
    if not isinstance(cached, dict) or cached.get("run_key") != key:
        return None
    return cached["rows"]


def run_cached(config: dict, out: str | Path, version: str | None = None) -> list[dict]:
    """Train ``config`` in ``out`` with one CPU thread (as every run of the study) unless done.json holds it. A
    folder holding another run (done.json of other code or config) starts afresh: its checkpoint is not resumed."""
    import torch

    from training.runner import run_training

    key = run_key(config, version or version_of(config))
    rows = cached_rows(out, key)
    if rows is not None:
        return rows
    stale = (Path(out) / "done.json").exists()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # runs go in parallel processes: one thread each
    try:
        rows = run_training(config, out, resume=not stale)
    finally:
        torch.set_num_threads(threads)
    (Path(out) / "done.json").write_text(json.dumps({"code_version": key.split("-")[0], "run_key": key,
                                                        "rows": rows}))
    return rows


def _run_job(job: tuple[dict, str, str]) -> list[dict]:
    config, out, version = job
    return run_cached(config, out, version)


def run_all(runs: Iterable[tuple[dict, str | Path]], jobs: int = 1,
            on_done: Callable[[int, list[dict]], None] | None = None) -> list[list[dict]]:
    """The metrics rows of every (config, out) run, in order; ``jobs`` > 1 trains that many at once."""
    versions = {hooks: code_version(with_hooks=hooks) for hooks in (False, True)}
    todo = [(cfg, str(out), versions[uses_hooks(cfg)]) for cfg, out in runs]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            return _collect(pool.map(_run_job, todo), on_done)
    return _collect(map(_run_job, todo), on_done)


def _collect(rows_iter: Iterable[list[dict]], on_done) -> list[list[dict]]:
    results = []
    for i, rows in enumerate(rows_iter):
        results.append(rows)
        if on_done:
            on_done(i, rows)
    return results
