"""The filter stage, with or without Prefect: (train,) score, decide, and measure against the offline world's truth."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline.filter.decide import decide, evaluate
from pipeline.filter.score import score
from pipeline.filter.settings import FilterSettings
from pipeline.filter.train import train_classifier


def filter_photos(con, home, settings: FilterSettings | None = None, *, map_shards=None,
                  show_progress: bool = True) -> dict:
    """``settings.train``: first train a classifier on the catalogue's classes (``HOME/classifier``) and score with it.
    ``map_shards`` as in ``score``."""
    settings = settings or FilterSettings()
    out: dict = {}
    if settings.train:
        weights = str(Path(home) / "classifier" / "classifier.pth")
        out["train"] = train_classifier(con, home, weights, holdout=settings.holdout, show_progress=show_progress)
        settings = replace(settings, weights=weights)
    s = score(con, home, settings, map_shards=map_shards, show_progress=show_progress)
    out |= {"model": s["model"], "weights_sha256": s["weights_sha256"][:12], "scored": s["scored"]}
    out |= decide(con, s["model"], s["weights_sha256"], settings.rule, settings.threshold)
    if con.execute("SELECT count(*) FROM sim_truth").fetchall()[0][0]:
        out["vs_ground_truth"] = evaluate(con)
    return out
