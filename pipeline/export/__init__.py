"""Export partitions of the catalog's `dataset` view as a manifest the training package reads."""
from pipeline.export.datasheet import DATASHEET
from pipeline.export.exporter import export
from pipeline.export.settings import LEVELS, PARTITIONERS, ExportSettings

__all__ = ["DATASHEET", "ExportSettings", "LEVELS", "PARTITIONERS", "export"]
