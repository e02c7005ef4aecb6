"""Fault injection for the offline service: transient per request, persistent per photo."""
from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, fields

# spec name -> field; `flickr-mammal sim serve --faults "5xx=0.1,429=0.05"` uses the names on the left
FAULT_NAMES = {
    "5xx": "http_5xx", "429": "http_429", "malformed": "malformed_json", "timeout": "timeout",
    "api105": "api_105", "api10": "api_10",
    "img5xx": "img_5xx", "img429": "img_429", "truncated": "img_truncated",
    "html": "img_html", "notimage": "img_notimage", "bomb": "img_bomb", "missing": "img_missing",
}
PERSISTENT_IMAGE_FAULTS = ("img_html", "img_notimage", "img_bomb", "img_missing")


@dataclass
class Faults:
    # API answers (per request: a retry can succeed)
    http_5xx: float = 0.0
    http_429: float = 0.0
    malformed_json: float = 0.0
    timeout: float = 0.0
    api_105: float = 0.0
    api_10: float = 0.0
    # image answers, per request
    img_5xx: float = 0.0
    img_429: float = 0.0
    img_truncated: float = 0.0
    # image faults per photo (the same photo fails every time)
    img_html: float = 0.0
    img_notimage: float = 0.0
    img_bomb: float = 0.0
    img_missing: float = 0.0
    retry_after_s: float = 1.0
    timeout_s: float = 3.0
    seed: int = 0

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name not in ("retry_after_s", "timeout_s", "seed") and not 0.0 <= v <= 1.0:
                raise ValueError(f"fault rate {f.name}={v} must be in [0, 1]")

    @classmethod
    def parse(cls, spec: str | None, **kw) -> Faults:
        """``"5xx=0.1,429=0.05,malformed=0.02"``; names as in FAULT_NAMES or the field names."""
        vals = dict(kw)
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            name, _, value = part.partition("=")
            key = FAULT_NAMES.get(name.strip(), name.strip())
            if key not in {f.name for f in fields(cls)}:
                raise ValueError(f"unknown fault {name!r} in {spec!r}; known: {', '.join(FAULT_NAMES)}")
            try:
                vals[key] = int(value) if key == "seed" else float(value)
            except ValueError:
                raise ValueError(f"fault {name!r} needs a number, got {value!r}") from None
        return cls(**vals)

    def draw(self, *names: str) -> str | None:
        """Pick at most one transient fault among ``names`` for this request."""
        with self._lock:
            u = self._rng.random()
        acc = 0.0
        for n in names:
            acc += getattr(self, n)
            if u < acc:
                return n
        return None

    def persistent_image_fault(self, photo_id: int) -> str | None:
        """The photo's permanent image fault, a pure function of (seed, photo id)."""
        h = hashlib.blake2b(f"{self.seed}:{photo_id}".encode(), digest_size=8).digest()
        u = int.from_bytes(h, "big") / 2**64
        acc = 0.0
        for n in PERSISTENT_IMAGE_FAULTS:
            acc += getattr(self, n)
            if u < acc:
                return n
        return None
