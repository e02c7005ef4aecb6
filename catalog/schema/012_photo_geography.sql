-- Metadata-only analytics (owned by pipeline/export): one row per (photo, class) of every geocoded photo, crawled or
-- imported, before any download or filter, with the class name and the country / M49 sub-region / continent names,
-- so a label distribution is one SELECT (README, "The catalog").
CREATE OR REPLACE VIEW photo_geography AS
SELECT pc.photo_id, pc.label_id, c.name AS label, p.source, g.country, g.subregion_code, sr.name AS subregion,
       g.continent_code, ct.name AS continent
FROM photo_classes pc
JOIN photos p ON p.photo_id = pc.photo_id
JOIN classes c ON c.label_id = pc.label_id
JOIN geocodes g ON g.photo_id = pc.photo_id
LEFT JOIN m49_regions sr ON sr.code = g.subregion_code
LEFT JOIN m49_regions ct ON ct.code = g.continent_code;
