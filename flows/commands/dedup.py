"""`flickr-mammal dedup`."""
from __future__ import annotations

HELP = "perceptual-hash every downloaded image and group near-duplicates (bursts, re-uploads); rerun to resume"


def add_arguments(p) -> None:
    from flows.commands.common import add_catalog_argument
    from pipeline.dedup.settings import DedupSettings

    d = DedupSettings()
    add_catalog_argument(p)
    p.add_argument("--home", help="data home with images/ or shards/ (default: beside the catalog)")
    p.add_argument("--threshold", type=int,
                   help=f"join images whose 64-bit pHashes differ in at most this many bits (default {d.threshold}; "
                        "docs/dedup.md says why)")
    p.add_argument("--burst-seconds", type=float,
                   help=f"also join one owner's shots taken this close in time (default {d.burst_seconds}; 0: off) ...")
    p.add_argument("--burst-metres", type=float, help=f"... and in place (default {d.burst_metres}) ...")
    p.add_argument("--burst-threshold", type=int,
                   help=f"... whose pHashes differ in at most this many bits (default {d.burst_threshold})")
    p.add_argument("--batch-size", type=int, help=f"images hashed per batch and catalog write (default {d.batch_size})")
    p.add_argument("--threads", type=int, help="decoding threads (default: one per CPU core)")
    p.add_argument("--rehash", action="store_true", default=None,
                   help="hash every downloaded image again, not only those without a hash")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from catalog import connect
    from flows.commands.common import print_json, stage_settings
    from pipeline import dedup as stage

    home = args.home or str(Path(args.catalog).parent)
    settings = stage_settings(stage.DedupSettings, args)
    out = stage.dedup_catalog(connect(args.catalog), home, settings, show_progress=not args.json)
    if args.json:
        print_json(out)
        return 0
    print(f"hashed {out['hashed']} images ({out['hashes_per_s']}/s; {out['unreadable']} unreadable); "
          f"{out['images']} hashed in all: {out['groups']} near-duplicate groups of {out['photos_in_groups']} photos "
          f"at threshold {out['threshold']}, {out['duplicates_dropped']} left out of `dataset` "
          f"(grouped in {out['group_seconds']} s)")
    if "vs_sim_bursts" in out:
        s = out["vs_sim_bursts"]
        print(f"vs the offline world's bursts: precision {s['precision']:.3f}, recall {s['recall']:.3f} "
              f"({s['pairs_correct']} of {s['pairs_found']} pairs found, {s['pairs_true']} true)")
    return 0
