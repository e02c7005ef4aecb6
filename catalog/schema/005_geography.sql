-- Geography: ours (geocodes) beside the authors' own labels of imported release rows (never overwritten).
CREATE TABLE IF NOT EXISTS m49_regions (code INTEGER PRIMARY KEY, name VARCHAR NOT NULL, level VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS m49_countries (country VARCHAR PRIMARY KEY, subregion_code INTEGER NOT NULL,
                                          continent_code INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS geocodes (
    photo_id        BIGINT PRIMARY KEY,
    country         VARCHAR,          -- ISO 3166 alpha-2; NULL when flagged sea/invalid
    subregion_code  INTEGER,          -- UN M49 (release level: Latin America, Sub-Saharan Africa undivided)
    continent_code  INTEGER,
    distance_km     DOUBLE,           -- to the nearest GeoNames place
    method          VARCHAR,          -- tz-boundary | nearest-place | antarctic-treaty | none
    flag            VARCHAR           -- NULL, or sea | antarctica | remote | invalid
);

CREATE TABLE IF NOT EXISTS release_labels (
    photo_id        BIGINT NOT NULL,
    label_id        INTEGER NOT NULL,
    author_country  VARCHAR,
    author_region1  INTEGER,          -- the authors' M49 sub-region
    author_region2  INTEGER,          -- the authors' continent
    lic             INTEGER,
    acc             INTEGER,
    url             VARCHAR,
    PRIMARY KEY (photo_id, label_id)
);
