"""Settings of one `build` run: every stage reads its own fields. Never holds the API key or secret."""
from __future__ import annotations

from dataclasses import dataclass, field

from catalog.db import DEFAULT_CATALOG, DEFAULT_HOME


@dataclass
class BuildConfig:
    # where things live
    catalog: str = str(DEFAULT_CATALOG)
    home: str = str(DEFAULT_HOME)               # images, exports, runs go under here
    # crawl
    api_url: str | None = None                  # None: real Flickr REST endpoint
    classes_file: str | None = None             # None: the built-in 42-class catalogue
    classes: list[str] = field(default_factory=list)  # subset by name or label id; empty = all
    min_upload_date: str | None = None          # ISO date; None = 2004-01-01 (or the watermark)
    max_upload_date: str | None = None          # ISO date; None = now
    rate: float = 3600.0                        # API calls per hour per key
    key_file: str | None = None                 # a file path; the key itself never enters the config
    api_timeout: float = 20.0
    crawl_workers: int = 4
    static_base: str | None = None              # image host when a photo has no url_z/url_c
    # offline world (demo/tests): the service is started by the caller, these only describe it
    sim_seed: int = 0
    sim_scale: float = 0.002
    # scale-out
    dask_address: str | None = None             # Dask scheduler for download/filter shards; None = local
    # download
    shorter_side: int | None = None
    longest_side: int | None = None
    output_format: str = "files"                # files (images/<class>/<id>.jpg) | webdataset (shards/*.tar)
    # filter
    filter_model: str = "pnasnet5large"
    filter_weights: str | None = None           # local checkpoint; None = timm's cache
    filter_threshold: float = 0.2
    filter_rule: str = "mass"
    filter_train: bool = False                  # train a small classifier on the catalogue's own classes first
    # export
    export_level: str = "continent"
    export_min_partition_size: int = 50
    export_test_fraction: float = 0.1
    seed: int = 0
    # train
    train_config: str | None = None             # TOML; None = skip training
    train_overrides: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=lambda: ["crawl", "download", "filter", "geocode", "export", "train"])
