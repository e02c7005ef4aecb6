"""Import the published release's metadata (photo ids, coordinates, the authors' geography)."""
from pipeline.release.importer import import_release

__all__ = ["import_release"]
