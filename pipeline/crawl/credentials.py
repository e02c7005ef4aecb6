"""Where the API key and secret come from: environment or a key file, never the command line."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from catalog.errors import UserError


@dataclass(frozen=True)
class Credentials:
    key: str = field(repr=False)
    secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """A short non-reversible id for logs and rate-limit buckets."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"Credentials(key=<{self.fingerprint}>, secret=<hidden>)"


def load_credentials(key_file: str | os.PathLike | None = None) -> Credentials:
    """``FLICKR_API_KEY``/``FLICKR_API_SECRET``, or a key file with the key on line 1 and the secret on line 2."""
    if key_file:
        p = Path(key_file)
        if not p.is_file():
            raise UserError(f"key file {p} not found: put the API key on line 1 and the secret on line 2")
        lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
        if len(lines) < 2:
            raise UserError(f"key file {p} must hold the API key on line 1 and the secret on line 2")
        return Credentials(lines[0], lines[1])
    key, secret = os.environ.get("FLICKR_API_KEY"), os.environ.get("FLICKR_API_SECRET")
    if not key or not secret:
        raise UserError("no Flickr API key: set FLICKR_API_KEY and FLICKR_API_SECRET, or pass --key-file FILE "
                        "(or run `flickr-mammal demo` for the offline service)")
    return Credentials(key, secret)
