-- Classifier scores (kept so a new threshold or rule needs no model run) and keep decisions.
CREATE TABLE IF NOT EXISTS filter_scores (
    photo_id        BIGINT NOT NULL,
    label_id        INTEGER NOT NULL,
    model           VARCHAR NOT NULL,
    weights_sha256  VARCHAR NOT NULL,
    class_prob      DOUBLE,        -- probability mass on the class (its synsets, or its own output)
    mammal_prob     DOUBLE,        -- probability mass on all mammal classes of the model
    top5_idx        INTEGER[],
    top5_prob       DOUBLE[],
    class_in_top5   BOOLEAN,       -- one of the class's outputs is among the top 5
    PRIMARY KEY (photo_id, label_id, model, weights_sha256)
);

CREATE TABLE IF NOT EXISTS filter_decisions (
    photo_id        BIGINT NOT NULL,
    label_id        INTEGER NOT NULL,
    keep            BOOLEAN NOT NULL,
    model           VARCHAR NOT NULL,
    weights_sha256  VARCHAR NOT NULL,
    rule            VARCHAR NOT NULL,
    threshold       DOUBLE NOT NULL,
    PRIMARY KEY (photo_id, label_id)
);
