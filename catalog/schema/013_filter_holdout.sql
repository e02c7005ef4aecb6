-- Owned by pipeline/filter (`filter train`): which downloaded photos trained a catalogue classifier and which were
-- held out (seeded, grouped by owner), per weights, so precision/recall (`filter eval`, the demo, DATASHEET.md) are
-- measured on photos the classifier never saw. A classifier without rows here (ImageNet weights) never trained on
-- the catalog: every photo is out of sample.
CREATE TABLE IF NOT EXISTS filter_training (
    photo_id        BIGINT NOT NULL,
    weights_sha256  VARCHAR NOT NULL,
    split           VARCHAR NOT NULL,     -- train | holdout
    PRIMARY KEY (photo_id, weights_sha256)
);

-- The filter's keep decisions beside the offline world's truth, each marked in or out of the classifier's training
-- sample: precision/recall are aggregates of this (pipeline/filter `evaluate`, the export's DATASHEET.md).
CREATE OR REPLACE VIEW filter_truth AS
SELECT f.photo_id, f.label_id, f.keep, t.true_label_id = t.label_id AS is_true, f.model, f.weights_sha256,
       CASE WHEN ft.photo_id IS NULL THEN 'out_of_sample' ELSE 'in_sample' END AS sample
FROM filter_decisions f
JOIN sim_truth t ON t.photo_id = f.photo_id AND t.label_id = f.label_id
LEFT JOIN filter_training ft ON ft.photo_id = f.photo_id AND ft.weights_sha256 = f.weights_sha256
     AND ft.split = 'train';
