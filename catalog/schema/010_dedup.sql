-- Owned by pipeline/dedup (`flickr-mammal dedup`): a perceptual hash per downloaded image and the near-duplicate
-- groups built from them (bursts of one shot, re-uploads).
CREATE TABLE IF NOT EXISTS image_hashes (
    photo_id   BIGINT PRIMARY KEY,
    phash      UBIGINT NOT NULL,      -- 64-bit DCT pHash (pipeline/dedup/hashing.py); bit 63 = DCT coefficient (0, 0)
    method     VARCHAR NOT NULL,      -- hashes of different methods never compare
    hashed_at  TIMESTAMP DEFAULT current_timestamp
);

-- Only photos that have a near-duplicate appear (groups of 2 or more): a photo absent from this table is a group
-- of its own, so its group is COALESCE(group_id, photo_id). group_id is the smallest photo id of the group (the
-- earliest upload), which is also its representative. Rewritten whole by every dedup run.
CREATE TABLE IF NOT EXISTS duplicate_groups (
    photo_id           BIGINT PRIMARY KEY,
    group_id           BIGINT NOT NULL,
    is_representative  BOOLEAN NOT NULL,    -- photo_id = group_id
    group_size         INTEGER NOT NULL,
    distance           SMALLINT NOT NULL,   -- Hamming distance of its hash to the representative's
    threshold          SMALLINT NOT NULL,   -- pairs within this distance were joined (transitively)
    method             VARCHAR NOT NULL,
    grouped_at         TIMESTAMP DEFAULT current_timestamp
);

-- Owned by the offline Flickr world (pipeline/sim/bursts.py), written by `World.write_truth`, never by a real
-- crawl: every burst copy and the photo id of the original it copies; `dedup` measures itself against it.
CREATE TABLE IF NOT EXISTS sim_bursts (
    photo_id  BIGINT PRIMARY KEY,
    burst_of  BIGINT NOT NULL
);
