"""The stage registry: each pipeline stage is declared once, here, with its name, its settings dataclass, the
function that runs it and its place in the order. `build`, `demo`, `deploy`, their `--stages` help, `BuildConfig`
and the build flow read it; nothing else lists the stages.

The order is the order of the registrations below (``after=`` puts a later registration, e.g. a plugin's or a
test's, behind a given stage). A stage's function is named as ``"module:function"`` and imported only when the
stage runs, so that ``--help`` never imports prefect; it is called ``fn(cfg, prefect=True|False)`` with the
``BuildConfig`` and reads its own settings as ``cfg.<stage>``.
"""
from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from catalog.errors import UserError
from pipeline.crawl.settings import CrawlSettings
from pipeline.dedup.settings import DedupSettings
from pipeline.download.settings import DownloadSettings
from pipeline.export.settings import ExportSettings
from pipeline.filter.settings import FilterSettings
from pipeline.geocode.settings import GeocodeSettings


@dataclass
class TrainSettings:
    """The train stage's settings: a training config (training/configs/*.toml) and its ``section.key=value``
    overrides; the data path is the export stage's manifest."""
    config: str | None = None                    # None: the stage is skipped
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stage:
    name: str
    settings: type                        # its settings dataclass: the only place its defaults live
    run: str | Callable                   # "module:function", or the function itself
    help: str                             # one line for `build --help`
    creates_catalog: bool = False         # starts from nothing (may create the catalog); every other stage reads one
    scheduled: bool = False               # a scheduled `deploy` runs it unless told otherwise

    def function(self) -> Callable:
        if callable(self.run):
            return self.run
        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(module), name)


STAGES: dict[str, Stage] = {}     # name -> Stage, in pipeline order


def register_stage(name: str, settings: type, run: str | Callable, help: str, *, after: str | None = None,
                   creates_catalog: bool = False, scheduled: bool = False) -> Stage:
    """Declare a stage; it runs after ``after`` (default: after every stage registered so far). Registering a name
    again replaces it."""
    stage = Stage(name, settings, run, help, creates_catalog, scheduled)
    entries = [(n, s) for n, s in STAGES.items() if n != name]
    at = len(entries) if after is None else [n for n, _ in entries].index(get_stage(after).name) + 1
    entries.insert(at, (name, stage))
    STAGES.clear()
    STAGES.update(entries)
    return stage


def stage_names() -> list[str]:
    return list(STAGES)


def get_stage(name: str) -> Stage:
    if name not in STAGES:
        raise UserError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
    return STAGES[name]


def in_order(names) -> list[str]:
    """``names`` checked against the registry and put in pipeline order (a stage named twice runs once)."""
    for n in names:
        get_stage(n)
    return [n for n in STAGES if n in set(names)]


def run_stage(name: str, cfg, prefect: bool = True) -> dict:
    """One stage of ``cfg`` with its summary and time; ``prefect=False`` runs the same pipeline function without
    Prefect (a stage whose function takes no ``prefect`` argument runs only under Prefect)."""
    fn = get_stage(name).function()
    if not prefect:
        _check_plain([name])
    t0 = time.perf_counter()
    out = fn(cfg, prefect=prefect) if _takes_prefect(fn) else fn(cfg)
    out = dict(out or {})
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _takes_prefect(fn) -> bool:
    return "prefect" in inspect.signature(fn).parameters


def _check_plain(names) -> None:
    only = [n for n in names if not _takes_prefect(get_stage(n).function())]
    if only:
        raise UserError(f"stage {only[0]}: runs only as a Prefect task; drop --no-prefect or leave {only[0]} out "
                        f"of --stages")


def run_stages(cfg, prefect: bool = True, log: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Every stage in ``cfg.stages``, in pipeline order: ``{stage: its summary and seconds}``."""
    names = in_order(cfg.stages)
    if not prefect:
        _check_plain(names)                 # before the first stage runs, not after an hour of crawling
    summary: dict[str, dict] = {}
    for name in names:
        summary[name] = run_stage(name, cfg, prefect)
        if log:
            log(f"stage {name} done in {summary[name]['seconds']:.1f} s")
    return summary


# ---- the pipeline, in order ----------------------------------------------------------------------------------------
register_stage("crawl", CrawlSettings, "flows.crawl:crawl_stage", "search Flickr per class into the catalog",
               creates_catalog=True, scheduled=True)
register_stage("download", DownloadSettings, "flows.download:download_stage", "fetch, check and resize the images",
               scheduled=True)
register_stage("dedup", DedupSettings, "flows.dedup:dedup_stage", "perceptual hashes and near-duplicate groups")
register_stage("filter", FilterSettings, "flows.filter:filter_stage", "classifier scores and keep decisions")
register_stage("geocode", GeocodeSettings, "flows.geocode:geocode_stage", "country, M49 sub-region, continent",
               scheduled=True)
register_stage("export", ExportSettings, "flows.export:export_stage", "partitions and test split as a manifest")
register_stage("train", TrainSettings, "flows.train:train_stage", "a short decentralized run on the export")
