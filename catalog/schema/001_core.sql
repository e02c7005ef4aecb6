-- Core tables every stage meets in. One migration file per stage owner; files apply in name order.
CREATE TABLE IF NOT EXISTS classes (
    label_id         INTEGER PRIMARY KEY,
    name             VARCHAR NOT NULL UNIQUE,
    search_text      VARCHAR NOT NULL,
    oi_mid           VARCHAR,
    imagenet_synsets VARCHAR[] NOT NULL,   -- may be empty
    in_release       BOOLEAN NOT NULL
);

-- One row per Flickr photo, whichever class query or release file found it.
CREATE TABLE IF NOT EXISTS photos (
    photo_id     BIGINT PRIMARY KEY,
    owner        VARCHAR,
    secret       VARCHAR,
    server       VARCHAR,
    farm         INTEGER,
    title        VARCHAR,
    latitude     DOUBLE,
    longitude    DOUBLE,
    accuracy     INTEGER,      -- Flickr geo accuracy 0-16
    license      INTEGER,      -- Flickr license id
    date_upload  TIMESTAMP,    -- UTC
    date_taken   TIMESTAMP,
    owner_name   VARCHAR,
    tags         VARCHAR,
    url_z        VARCHAR, width_z INTEGER, height_z INTEGER,
    url_c        VARCHAR, width_c INTEGER, height_c INTEGER,
    source       VARCHAR NOT NULL   -- 'crawl' or 'release'
);

-- A photo found under several class queries keeps each class.
CREATE TABLE IF NOT EXISTS photo_classes (
    photo_id  BIGINT NOT NULL,
    label_id  INTEGER NOT NULL,
    PRIMARY KEY (photo_id, label_id)
);
