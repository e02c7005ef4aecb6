"""Near-duplicates: a perceptual hash per downloaded image, groups of near-copies, one representative kept."""
from pipeline.dedup.evaluate import burst_truth, pair_scores
from pipeline.dedup.grouping import all_pairs, bands, candidate_pairs, group
from pipeline.dedup.hashing import METHOD, hamming, phash, phash_pixels
from pipeline.dedup.settings import DEFAULT_THRESHOLD, DedupSettings
from pipeline.dedup.stage import dedup_catalog, group_hashes, hash_images

__all__ = ["DEFAULT_THRESHOLD", "METHOD", "DedupSettings", "all_pairs", "bands", "burst_truth", "candidate_pairs",
           "dedup_catalog", "group", "group_hashes", "hamming", "hash_images", "pair_scores", "phash", "phash_pixels"]
