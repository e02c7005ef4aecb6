-- A download shard is named by its first photo id; real Flickr ids (~5e10) overflow INTEGER.
ALTER TABLE downloads ALTER COLUMN shard TYPE BIGINT;
