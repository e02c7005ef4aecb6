"""Keep or drop each (photo, class) from stored scores: a new rule or threshold never runs the model."""
from __future__ import annotations

import numpy as np

from catalog.db import transaction
from catalog.errors import UserError

# rule -> SQL condition over filter_scores s (and c.imagenet_synsets for classes without ImageNet synsets)
RULES = {
    "mass": "s.class_prob >= $t",
    "mass-or-mammal": "CASE WHEN len(c.imagenet_synsets) = 0 AND s.mammal_prob IS NOT NULL "
                      "THEN s.mammal_prob >= $t ELSE s.class_prob >= $t END",
    "top5": "s.class_in_top5",
    "mass-or-top5": "(CASE WHEN len(c.imagenet_synsets) = 0 AND s.mammal_prob IS NOT NULL "
                    "THEN s.mammal_prob >= $t ELSE s.class_prob >= $t END) OR s.class_in_top5",
}


def decide(con, model: str, weights_sha256: str, rule: str = "mass", threshold: float = 0.2) -> dict:
    if rule not in RULES:
        raise UserError(f"unknown rule {rule!r}; rules are {', '.join(RULES)}")
    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"--threshold {threshold} must be in [0, 1]")
    n = con.execute("SELECT count(*) FROM filter_scores WHERE model = $m AND weights_sha256 = $w",
                    {"m": model, "w": weights_sha256}).fetchall()[0][0]
    if not n:
        raise UserError(f"no scores for model {model!r} with these weights: run `flickr-mammal filter score` first")
    with transaction(con):
        con.execute(f"""
            INSERT OR REPLACE INTO filter_decisions
            SELECT s.photo_id, s.label_id, {RULES[rule]}, s.model, s.weights_sha256, $rule, $t
            FROM filter_scores s JOIN classes c USING (label_id)
            WHERE s.model = $m AND s.weights_sha256 = $w""",
                    {"t": threshold, "rule": rule, "m": model, "w": weights_sha256})
    kept = con.execute("SELECT count(*) FILTER (WHERE keep), count(*) FROM filter_decisions WHERE model = $m AND "
                       "weights_sha256 = $w", {"m": model, "w": weights_sha256}).fetchall()[0]
    return {"kept": kept[0], "dropped": kept[1] - kept[0], "rule": rule, "threshold": threshold}


def latest_scores(con) -> tuple[str, str]:
    """The model and weights whose scores were written most recently (for `filter decide` without --model)."""
    rows = con.execute("SELECT model, weights_sha256 FROM filter_scores GROUP BY ALL ORDER BY count(*) DESC").fetchall()
    if not rows:
        raise UserError("no filter scores in the catalog: run `flickr-mammal filter score` first")
    return rows[0]


def _pr(tp: int, kept: int, positives: int) -> dict:
    return {"precision": round(tp / kept, 4) if kept else 0.0, "recall": round(tp / positives, 4) if positives else 0.0}


def evaluate(con) -> dict:
    """Precision and recall of the keep decisions against the offline world's ground truth, on the photos the
    classifier never trained on (``filter_truth``'s out-of-sample rows; every photo for ImageNet weights), beside
    the in-sample figures, per-class recall (out of sample) and the classes the filter drops entirely."""
    rows = con.execute("""
        SELECT t.sample, coalesce(c.name, t.label_id::VARCHAR), count(*) FILTER (WHERE t.keep AND t.is_true),
               count(*) FILTER (WHERE t.keep), count(*) FILTER (WHERE t.is_true), count(*)
        FROM filter_truth t LEFT JOIN classes c USING (label_id) GROUP BY ALL ORDER BY min(t.label_id), 1""").fetchall()
    if not rows:
        raise UserError("no ground truth for these decisions: only the offline world has it (`sim_truth`)")
    tot = {s: np.zeros(4, dtype=np.int64) for s in ("out_of_sample", "in_sample")}
    per_class: dict[str, float] = {}
    for sample, name, *counts in rows:
        tot[sample] += counts
        if sample == "out_of_sample" and counts[2]:
            per_class[name] = _pr(*counts[:3])["recall"]
    tp, kept, positives, n = (int(x) for x in tot["out_of_sample"])
    dropped = [r[0] for r in con.execute("""SELECT coalesce(c.name, f.label_id::VARCHAR) FROM filter_decisions f
                                            LEFT JOIN classes c USING (label_id) GROUP BY f.label_id, c.name
                                            HAVING NOT bool_or(f.keep)
                                            ORDER BY f.label_id""").fetchall()]
    out = _pr(tp, kept, positives) | {"kept": kept, "decisions": n, "true_photos": positives,
                                      "sample": "held-out" if tot["in_sample"][3] else "all (never trained on)"}
    if tot["in_sample"][3]:
        out["in_sample"] = _pr(*(int(x) for x in tot["in_sample"][:3])) | {"decisions": int(tot["in_sample"][3])}
    return out | {"recall_by_class": per_class, "dropped_classes": dropped}
