"""Partitioners (geographic, label-exclusive, degree-of-skew, Dirichlet, IID) and skew metrics."""
from training.partitions.metrics import label_skew_metrics

__all__ = ["label_skew_metrics"]
