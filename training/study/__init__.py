"""`flickr-mammal study`: the paper's findings F1-F5, measured, with figures and the exact commands."""
from __future__ import annotations

__all__ = ["run_study"]


def __getattr__(name: str):
    """run_study loads on first use: `sweep` and the worker processes import only the run cache."""
    if name == "run_study":
        from training.study.report import run_study

        return run_study
    raise AttributeError(name)
