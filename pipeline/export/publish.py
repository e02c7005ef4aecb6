"""What makes an export usable outside this project: the Hugging Face data files and dataset card (README.md), the
Croissant description (metadata.json) and, on request, WebDataset shards. One function, called by the exporter
after the manifest, so every format reads the same per-photo records."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template

import pyarrow as pa
import pyarrow.compute as pc

from catalog.licenses import load_licenses
from pipeline.export.croissant import write_croissant
from pipeline.export.hf_card import SPLITS, class_label_names, write_card, write_hf_data
from pipeline.export.webdataset import write_shards


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows])


def _release_text(lic: dict) -> str:
    if lic["release"] == "urls":
        return ("**URL-and-attribution release.** " + lic["why"][0].upper() + lic["why"][1:] + ". Fetch the images "
                "from the `photo_url` pages under their owners' terms.")
    if lic["release"] == "private":
        return "**Private export, not to be shared.** " + lic["why"] + "."
    return "**Image release.** " + lic["why"][0].upper() + lic["why"][1:] + "."


def publish(out: Path, records: pa.Table, summary: dict, settings) -> dict:
    """Writes the formats; returns where they are (relative to ``out``)."""
    names = class_label_names({int(k): v for k, v in summary["class_names"].items()}, summary["num_classes"])
    with_image = summary["licenses"]["images"] and any(p is not None for p in records["image_path"].to_pylist())
    files = write_hf_data(out, records, names, with_image)
    shards = write_shards(out, records.filter(pc.is_valid(records["image_path"])), names) \
        if settings.webdataset and with_image else {}
    lic = summary["licenses"]
    by = {x.short: x for x in load_licenses()}
    title = f"Flickr-Mammal ({summary['partitioner']}{', ' + summary['level'] if summary['level'] else ''})"
    splits = records["split"].to_pylist()
    present = sorted(set(records["label"].to_pylist()))
    description = (f"Geotagged Flickr photos of {len(present)} mammal classes (of {len(summary['class_names'])} in "
                   f"the catalogue), {summary['num_partitions']} {summary['partitioner']} partitions and an "
                   f"owner-grouped test split, for decentralized learning under non-IID data.")
    write_croissant(out, title=title, description=description, names=names, with_image=with_image,
                    license_urls=[by[s].url or f"{s}: no license URL" for s in lic["photos"] if s in by])
    counts = sorted(summary["photo_counts"].items(), key=lambda kv: (kv[0] == "test", kv[0]))
    body = Template(resources.files("pipeline.export").joinpath("card_template.md").read_text()).substitute(
        title=title, description=description, release=_release_text(lic),
        photos=records.num_rows, train=splits.count("train"), test=splits.count("test"),
        partition_table=_table(["partition_name", "split", "photos"],
                               [[n, "test" if n == "test" else "train", c] for n, c in counts]),
        license_table=_table(["license", "photos", "included"],
                             [[s, n, "yes"] for s, n in lic["photos"].items()]
                             + [[s, n, "no (left out)"] for s, n in lic["left_out"].items()]),
        requested=lic["requested"], image_note="" if with_image else (
            "\nThis release has no `image` column: each row's `photo_url` is the photo's Flickr page.\n"),
        webdataset=("`webdataset/<split>/<partition>-NNNNN.tar` (" + ", ".join(f"{len(v)} {k}" for k, v in
                                                                        shards.items()) + " shards)")
        if shards else "not written (`--webdataset` writes them for an image release)",
        data_files=", ".join(f"`{files[s]}`" for s in SPLITS))
    write_card(out, records, names, files, with_image, summary, body)
    return {"hf_data_files": files, "webdataset": shards}
