"""`flickr-mammal study`: the paper's findings F1-F5, measured, with figures and the exact commands."""
from training.study.report import run_study

__all__ = ["run_study"]
