"""Backups of everything Sipanah keeps: ``manage.py backup [-o PATH]`` and ``manage.py restore PATH [--force]``.

What is saved: every row of every table Django manages (the register with its geometry, certificates, stage events,
the django-simple-history tables, import jobs, users, groups, permissions, content types, API tokens, sessions,
django-axes' logs, admin log, reference data), keeping every primary key, plus every file under ``MEDIA_ROOT`` (the
uploaded import files). Not saved: ``django_migrations`` (recorded in the manifest and checked instead), the spatial
metadata tables of SpatiaLite/PostGIS (made by ``migrate``), tables the database derives itself (``DERIVED``: the
tile cell counts, recounted after a restore), the worker's heartbeat file.

**Format: one zip archive**, the same on SpatiaLite and PostGIS, so a backup of the embedded default restores into
PostGIS (moving a register to production) and back. Chosen over ``pg_dump -Fc`` plus SQLite's online backup API,
which would be two formats, neither restorable into the other engine. Zip rather than tar because it has a table of
contents: the manifest is read (and every member checked) before anything is written, members are read in any
order, and a truncated archive is recognised at once (the table of contents at its end is missing).

- ``manifest.json``: format and version, Sipanah and Django versions, created_at, the database it came from, the
  applied migrations per app (restore requires the same), per table its columns and row count, and the size and
  SHA-256 of every other member.
- ``data/<app>.<model>.jsonl``: one table, one JSON array per row, the columns in the order the manifest lists.
  Geometry is hex EWKB (SRID included: the stored doubles bit for bit, where WKT would round), datetimes ISO 8601
  with microseconds and offset, decimals as strings, JSON fields as their JSON text (keeps JSON null apart from
  SQL NULL), binary as base64; other values as JSON has them.
- ``media/<path>``: the files under ``MEDIA_ROOT``.

Why not Django's own serializers (``dumpdata``)? Their JSON encoder cuts datetimes to milliseconds (the history's
timestamps would not come back equal), geometry goes out as WKT, the object-per-row form repeats every field name,
and ``loaddata`` saves one object at a time. The rows here are read with ``values_list().iterator()`` and written as
they come, table by table, so memory stays flat whatever the size of the register.

**Consistency.** The dump runs in one read transaction: on PostgreSQL ``REPEATABLE READ READ ONLY``, a snapshot
that blocks nobody; on SQLite the read lock makes writers wait until the backup ends (the embedded database is for
small installations; schedule its backups off-hours).

**Restore** checks everything before it writes anything: the archive opens, the manifest is one of ours, the set of
members is the manifest's, every member's size and SHA-256 match (media files are extracted into a staging folder
on the way), the database has the same applied migrations and the same columns. A database with data in it is
refused unless ``--force``, which lists what will be replaced. Then in one transaction: every table emptied, the
rows inserted with their original keys (SQLite: Django's raw INSERT, which unlike ``bulk_create`` leaves
``auto_now`` fields alone, compiled once and run with ``executemany``; PostgreSQL: COPY), the row counts checked
against the manifest, the foreign keys checked, the sequences set past the highest key (``sequence_reset_sql``),
SpatiaLite's spatial indexes checked (:mod:`assets.spatialite`; its R*Tree triggers fill them while rows go in),
the derived tables recounted. Last, still inside the transaction, the staged media files take the place of the old
ones, one rename per top-level entry of ``MEDIA_ROOT`` (which may be a mount point, so it is not renamed itself);
if anything fails, the renames are undone and the transaction rolls back, so the database and the files are as before.
"""
