-- The dataset users query: one row per kept photo and class, with geography and image path.
-- Crawled photos are kept by the filter's decision, or (no decision yet) when they downloaded fine;
-- release photos were already cleaned by the authors.
CREATE OR REPLACE VIEW dataset AS
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

-- The authors' own geography of imported release rows, named like ours.
CREATE OR REPLACE VIEW release_geography AS
SELECT r.photo_id, r.label_id, c.name AS label, r.author_country AS country, r.author_region1 AS subregion_code,
       sr.name AS subregion, r.author_region2 AS continent_code, ct.name AS continent
FROM release_labels r JOIN classes c USING (label_id)
LEFT JOIN m49_regions sr ON sr.code = r.author_region1
LEFT JOIN m49_regions ct ON ct.code = r.author_region2;
