-- Owned by the offline Flickr world (pipeline/sim): its ground truth, written by `World.write_truth` (demo, tests),
-- never by a real crawl; the filter's `evaluate` reads it. Catalogs created before this migration already have the
-- table from 001_core, hence IF NOT EXISTS. true_label_id = -1 means "no mammal".
CREATE TABLE IF NOT EXISTS sim_truth (
    photo_id       BIGINT NOT NULL,
    label_id       INTEGER NOT NULL,   -- the class query that returns it
    true_label_id  INTEGER NOT NULL,
    PRIMARY KEY (photo_id, label_id)
);
