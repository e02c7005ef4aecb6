"""Export partitions of the catalog's `dataset` view as a manifest the training package reads."""
from pipeline.export.exporter import export
from pipeline.export.settings import LEVELS, PARTITIONERS, ExportSettings

__all__ = ["ExportSettings", "LEVELS", "PARTITIONERS", "export"]
