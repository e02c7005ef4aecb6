-- Crawl state: enough to resume after kill -9 without refetching a finished window.
CREATE SEQUENCE IF NOT EXISTS crawl_run_ids START 1;

CREATE TABLE IF NOT EXISTS crawl_runs (
    run_id      INTEGER PRIMARY KEY,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    api_url     VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,         -- running | done | failed
    api_calls   INTEGER,
    new_photos  INTEGER,
    classes     INTEGER[]
);

-- Upload-date windows per class: split until a window's total is under Flickr's 4,000 cap,
-- then paged. Each page lands in the same transaction as next_page.
CREATE TABLE IF NOT EXISTS crawl_windows (
    label_id    INTEGER NOT NULL,
    min_upload  BIGINT NOT NULL,          -- unix seconds, inclusive
    max_upload  BIGINT NOT NULL,          -- unix seconds, inclusive
    status      VARCHAR NOT NULL,         -- pending | split | paging | done
    total       INTEGER,
    pages       INTEGER,
    next_page   INTEGER NOT NULL DEFAULT 1,
    run_id      INTEGER,
    PRIMARY KEY (label_id, min_upload, max_upload)
);

-- Per class: everything uploaded up to `watermark` is in; [target_lo, target_hi] is in progress.
CREATE TABLE IF NOT EXISTS crawl_watermarks (
    label_id   INTEGER PRIMARY KEY,
    watermark  BIGINT,
    target_lo  BIGINT,
    target_hi  BIGINT
);
