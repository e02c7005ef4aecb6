"""Export partitions of the catalog's `dataset` view as a manifest the training package reads."""
from pipeline.export.exporter import export

__all__ = ["export"]
