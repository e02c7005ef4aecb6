"""Text tables for the terminal, shared by `stats` and the demo's summary."""
from __future__ import annotations


def label_table(out: dict, width: int = 11) -> str:
    """Classes as rows, regions as columns: fits a terminal for continents and sub-regions."""
    regions = out["regions"]
    head = f"{'class':<14}" + "".join(f"{r[:width - 1]:>{width}}" for r in regions)
    lines = [head]
    for j, lab in enumerate(out["labels"]):
        lines.append(f"{lab[:13]:<14}" + "".join(f"{out['counts'][i][j]:>{width}}" for i in range(len(regions))))
    lines.append(f"{'total':<14}" + "".join(f"{out['totals'][r]:>{width}}" for r in regions))
    return "\n".join(lines)
