"""``metadata.json``: the export described in Croissant 1.0 (MLCommons), so dataset search engines and loaders that
read Croissant find its files, fields, classes and licenses; tests validate it with `mlcroissant`.

Record sets: ``classes`` (label id → name, inline), ``photos`` (manifest.parquet's columns, ``label`` referencing
``classes``) and, for an image release, ``images`` (each JPEG under ``images/`` with its path)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/", "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform",
}
CITATION = ("Hsieh, K., Phanishayee, A., Mutlu, O., Gibbons, P. B. The Non-IID Data Quagmire of Decentralized "
            "Machine Learning. ICML 2020.")
MANIFEST_FIELDS = (("photo_id", "sc:Integer", "Flickr photo id"),
                   ("label", "sc:Integer", "catalogue label id (see the classes record set)"),
                   ("partition", "sc:Integer", "partition index; -1 for the test split"),
                   ("partition_name", "sc:Text", "partition name (a region for geographic exports); 'test' for the "
                                                 "test split"),
                   ("split", "sc:Text", "'train' or 'test'"),
                   ("image_path", "sc:Text", "image file relative to this folder; empty in a URL release"),
                   ("group_id", "sc:Integer", "owner + near-duplicate group: never on both sides of the split"))


def _field(rs: str, name: str, dtype: str, desc: str, source: dict, **extra) -> dict:
    return {"@type": "cr:Field", "@id": f"{rs}/{name}", "name": name, "description": desc, "dataType": dtype,
            "source": source} | extra


def croissant(out: Path, title: str, description: str, names: list[str], license_urls: list[str],
              with_image: bool) -> dict:
    """The JSON-LD document (sha256 of manifest.parquet read from ``out``)."""
    sha = hashlib.sha256((out / "manifest.parquet").read_bytes()).hexdigest()
    dist = [{"@type": "cr:FileObject", "@id": "manifest.parquet", "name": "manifest.parquet",
             "description": "one row per exported (photo, class)", "contentUrl": "manifest.parquet",
             "encodingFormat": "application/x-parquet", "sha256": sha}]
    photos = [_field("photos", n, t, d, {"fileObject": {"@id": "manifest.parquet"}, "extract": {"column": n}})
              for n, t, d in MANIFEST_FIELDS]
    photos[1]["references"] = {"field": {"@id": "classes/label"}}
    record_sets = [
        {"@type": "cr:RecordSet", "@id": "classes", "name": "classes", "description": "the catalogue's classes",
         "key": {"@id": "classes/label"},
         "field": [{"@type": "cr:Field", "@id": "classes/label", "name": "label", "dataType": "sc:Integer"},
                   {"@type": "cr:Field", "@id": "classes/name", "name": "name", "dataType": "sc:Text"}],
         "data": [{"classes/label": i, "classes/name": n} for i, n in enumerate(names)]},
        {"@type": "cr:RecordSet", "@id": "photos", "name": "photos",
         "description": "manifest.parquet: partitions and the owner-grouped test split", "field": photos}]
    if with_image:
        dist.append({"@type": "cr:FileSet", "@id": "image-files", "name": "image-files",
                     "description": "JPEG images, images/<split>/<partition>/<photo id>.jpg",
                     "encodingFormat": "image/jpeg", "includes": "images/**/*.jpg"})
        src = {"fileSet": {"@id": "image-files"}}
        record_sets.append({"@type": "cr:RecordSet", "@id": "images", "name": "images",
                            "description": "every image file with its path (photos/image_path)", "field": [
                                _field("images", "image", "sc:ImageObject", "the image",
                                       src | {"extract": {"fileProperty": "content"}}),
                                _field("images", "image_path", "sc:Text", "path relative to this folder",
                                       src | {"extract": {"fileProperty": "filepath"}})]})
    return {"@context": CONTEXT, "@type": "sc:Dataset", "name": title, "description": description,
            "conformsTo": "http://mlcommons.org/croissant/1.0", "citeAs": CITATION,
            "url": "https://www.flickr.com/", "license": license_urls, "version": "1.0.0",
            "distribution": dist, "recordSet": record_sets}


def write_croissant(out: Path, **kw) -> Path:
    path = out / "metadata.json"
    path.write_text(json.dumps(croissant(out, **kw), indent=2, ensure_ascii=False) + "\n")
    return path
