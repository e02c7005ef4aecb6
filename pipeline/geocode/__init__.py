"""Reverse-geocode photos to country (ISO alpha-2), UN M49 sub-region and continent."""
from pipeline.geocode.audit import audit
from pipeline.geocode.geocoder import FLAGS, geocode, valid_mask
from pipeline.geocode.settings import GeocodeSettings
from pipeline.geocode.stage import geocode_catalog

__all__ = ["FLAGS", "GeocodeSettings", "audit", "geocode", "geocode_catalog", "valid_mask"]
