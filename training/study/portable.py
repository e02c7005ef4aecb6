"""Reproduce commands and notes that run on any machine: a folder of this machine becomes a named placeholder
(``--runs RUNS_DIR``, ``--manifest MANIFEST``) or stays a path relative to the repository, so that REPORT.md and
summary.json carry no absolute path."""
from __future__ import annotations

import re

PLACEHOLDERS = {"--runs": "RUNS_DIR", "--manifest": "MANIFEST", "--mnist": "MNIST_DIR", "--f4-mnist": "MNIST_DIR",
                "--home": "HOME_DIR", "--out": "OUT_DIR"}
KEEP_RELATIVE = ("--out",)        # a folder inside the repository (docs/study) reads the same on every clone
ABSOLUTE = re.compile(r"(?<![\w\])>.~-])/(?:[\w.+@-]+/)*[\w.+@-]+")      # /a/b/c, not 1/120 or train/test


def _placeholder(flag: str, value: str) -> str:
    if flag in KEEP_RELATIVE and not value.startswith(("/", "~", "..")):
        return value
    return PLACEHOLDERS[flag]


def portable(text: str) -> str:
    """``text`` with each known flag's folder replaced by its placeholder and any other absolute path by PATH."""
    flags = "|".join(re.escape(f) for f in sorted(PLACEHOLDERS, key=len, reverse=True))

    def swap(m: re.Match) -> str:
        core = m[3].rstrip("`'\"),;")
        return m[1] + m[2] + _placeholder(m[1], core) + m[3][len(core):]
    return ABSOLUTE.sub("PATH", re.sub(rf"({flags})([ =])(\S+)", swap, text))
