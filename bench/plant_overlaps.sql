-- Plant overlaps in a WRITABLE COPY of a bench database (never in sipanah_bench_*):
-- every 100th asset's successor is moved east by half its width, so it covers half of it.
WITH pairs AS (
  SELECT a.id AS a_id, b.id AS b_id, a.geom AS ageom
  FROM assets_landasset a JOIN assets_landasset b ON b.id = a.id + 1
  WHERE a.id % 100 = 0 AND a.geom IS NOT NULL AND b.geom IS NOT NULL
)
UPDATE assets_landasset t
SET geom = ST_Multi(ST_Translate(p.ageom, (ST_XMax(p.ageom) - ST_XMin(p.ageom)) / 2, 0))
FROM pairs p WHERE t.id = p.b_id;
ANALYZE assets_landasset;
