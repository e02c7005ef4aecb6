"""Settings of one `build` run: the stage settings objects the verbs use too, composed. Never holds the API key or
secret. Each default lives once, in its stage's settings dataclass."""
from __future__ import annotations

from dataclasses import dataclass, field

from catalog.db import DEFAULT_CATALOG, DEFAULT_HOME
from pipeline.crawl.settings import CrawlSettings
from pipeline.dedup.settings import DedupSettings
from pipeline.download.settings import DownloadSettings
from pipeline.export.settings import ExportSettings
from pipeline.filter.settings import FilterSettings
from pipeline.geocode.settings import GeocodeSettings

STAGES = ("crawl", "download", "dedup", "filter", "geocode", "export", "train")


@dataclass
class BuildConfig:
    # where things live
    catalog: str = str(DEFAULT_CATALOG)
    home: str = str(DEFAULT_HOME)               # images, exports, runs go under here
    stages: list[str] = field(default_factory=lambda: list(STAGES))
    dask_address: str | None = None             # Dask scheduler for download/filter shards; None: threads here
    # each stage's settings: the same objects its CLI verb builds
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    download: DownloadSettings = field(default_factory=DownloadSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    filter: FilterSettings = field(default_factory=FilterSettings)
    geocode: GeocodeSettings = field(default_factory=GeocodeSettings)
    export: ExportSettings = field(default_factory=ExportSettings)
    # train
    train_config: str | None = None             # TOML; None = skip training
    train_overrides: list[str] = field(default_factory=list)
    # offline world (demo/tests): the service is started by the caller, these only describe it
    sim_seed: int = 0
    sim_scale: float = 0.002

    def __post_init__(self):
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            from catalog.errors import UserError
            raise UserError(f"unknown stage {unknown[0]!r}; stages are {', '.join(STAGES)}")
