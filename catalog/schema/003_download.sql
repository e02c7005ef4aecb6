-- One row per photo the downloader has tried: the file it wrote, or why it could not.
CREATE TABLE IF NOT EXISTS downloads (
    photo_id    BIGINT PRIMARY KEY,
    status      VARCHAR NOT NULL,      -- ok | failed
    url         VARCHAR,               -- the URL that answered (or the last one tried)
    path        VARCHAR,               -- relative to the data home
    bytes       BIGINT,
    width       INTEGER,
    height      INTEGER,
    sha256      VARCHAR,
    error       VARCHAR,
    attempts    INTEGER,
    shard       INTEGER
);
