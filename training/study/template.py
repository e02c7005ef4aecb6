"""The report's prose as a template (report_template.md): ``@@ name`` blocks filled in with str.format, so every
sentence of REPORT.md lives in one file and render*.py only format numbers and tables."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from training.study.stats import Spread

TEMPLATE = Path(__file__).with_name("report_template.md")     # *.md: shipped as package data
NEVER_CONTINUED = ("|", "#", "![")            # table rows, headings and images stay whole lines
STARTS_A_LINE = NEVER_CONTINUED + ("- ",)


def parse_blocks(text: str) -> dict[str, str]:
    """``@@ name`` blocks of a template; wrapped prose lines are joined back into one line each."""
    blocks: dict[str, list[str]] = {}
    lines = None
    for raw in text.splitlines():
        if raw.startswith("@@ "):
            lines = blocks.setdefault(raw[3:].strip(), [])
        elif lines is not None:
            line = raw.rstrip()
            prev = lines[-1] if lines else ""
            if line and prev and not line.startswith(STARTS_A_LINE) and not prev.startswith(NEVER_CONTINUED):
                lines[-1] = f"{prev} {line}"
            else:
                lines.append(line)
    return {name: "\n".join(lines).strip("\n") for name, lines in blocks.items()}


@cache
def _blocks() -> dict[str, str]:
    return parse_blocks(TEMPLATE.read_text())


def fill(block: str, **values) -> str:
    return _blocks()[block].format(**values)


def pct(s: Spread | None) -> str:
    return "—" if s is None else f"{100 * s.mean:.1f} ± {100 * s.std:.1f}"


def points(v: float | None, sign: bool = False) -> str:
    return "—" if v is None else (f"{v:+.1f}" if sign else f"{v:.1f}")
