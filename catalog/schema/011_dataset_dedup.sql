-- `dataset` keeps one photo per near-duplicate group (duplicate_groups, 010); `dataset_all` is the view of 006,
-- every kept photo, near-copies included. Within a group the kept photo is the smallest photo id among the group's
-- members that `dataset_all` keeps (the group's representative unless the filter dropped it), with all its class
-- rows. Same columns as before.
CREATE OR REPLACE VIEW dataset_all AS
SELECT pc.photo_id, pc.label_id, c.name AS label, d.path AS image_path, p.latitude, p.longitude,
       g.country, g.subregion_code, sr.name AS subregion, g.continent_code, ct.name AS continent, p.source
FROM photo_classes pc
JOIN photos p ON p.photo_id = pc.photo_id
JOIN classes c ON c.label_id = pc.label_id
LEFT JOIN downloads d ON d.photo_id = pc.photo_id AND d.status = 'ok'
LEFT JOIN filter_decisions f ON f.photo_id = pc.photo_id AND f.label_id = pc.label_id
LEFT JOIN geocodes g ON g.photo_id = pc.photo_id
LEFT JOIN m49_regions sr ON sr.code = g.subregion_code
LEFT JOIN m49_regions ct ON ct.code = g.continent_code
WHERE CASE WHEN p.source = 'release' THEN TRUE
           WHEN f.keep IS NOT NULL THEN f.keep
           ELSE d.photo_id IS NOT NULL END;

CREATE OR REPLACE VIEW dataset AS
SELECT photo_id, label_id, label, image_path, latitude, longitude, country, subregion_code, subregion,
       continent_code, continent, source
FROM (
    SELECT a.*, min(a.photo_id) OVER (PARTITION BY coalesce(dg.group_id, a.photo_id)) AS kept_id
    FROM dataset_all a LEFT JOIN duplicate_groups dg ON dg.photo_id = a.photo_id
)
WHERE photo_id = kept_id;
