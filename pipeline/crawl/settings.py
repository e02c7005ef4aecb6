"""Every setting of a crawl, in one object the CLI verb and the Prefect flow both hand to ``crawl``."""
from __future__ import annotations

from dataclasses import dataclass, field

from catalog.classes import MammalClass, load_classes, select_classes


@dataclass
class CrawlSettings:
    """Never holds the API key or secret: they come from the environment or ``key_file`` (see ``credentials``)."""
    api_url: str | None = None                   # None: the real Flickr REST endpoint
    classes: list[str] = field(default_factory=list)   # names or label ids; empty: the whole catalogue
    classes_file: str | None = None              # None: the built-in 42-class catalogue
    min_upload_date: str | None = None           # ISO date; None: 2004-01-01 or the class's watermark
    max_upload_date: str | None = None           # ISO date; None: now
    rate: float = 3600.0                         # API calls per hour for this key
    timeout: float = 20.0                        # seconds per API call before a retry
    key_file: str | None = None                  # a file path; the key itself never enters the settings
    workers: int = 4                             # classes crawled at once (they share the rate limit)

    def chosen_classes(self) -> list[MammalClass]:
        """The classes to crawl; an unknown name is a UserError before anything is written."""
        return select_classes(load_classes(self.classes_file), self.classes)
