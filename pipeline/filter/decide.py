"""Keep or drop each (photo, class) from stored scores: a new rule or threshold never runs the model."""
from __future__ import annotations

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


def evaluate(con) -> dict:
    """Precision and recall of the keep decisions against the offline world's ground truth."""
    row = con.execute("""
        SELECT count(*) FILTER (WHERE f.keep AND t.true_label_id = t.label_id),
               count(*) FILTER (WHERE f.keep),
               count(*) FILTER (WHERE t.true_label_id = t.label_id),
               count(*)
        FROM filter_decisions f JOIN sim_truth t USING (photo_id, label_id)""").fetchall()[0]
    tp, kept, positives, n = row
    if not n:
        raise UserError("no ground truth for these decisions: only the offline world has it (`sim_truth`)")
    return {"precision": round(tp / kept, 4) if kept else 0.0, "recall": round(tp / positives, 4) if positives else 0.0,
            "kept": kept, "decisions": n, "true_photos": positives}
