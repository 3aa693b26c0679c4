"""Restoring a backup: the target database checked (same migrations and columns, empty unless forced), then in one
transaction every table replaced from the archive, the derived tables recounted and the media files swapped in."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSException
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.sql import InsertQuery

from assets.lib import copy_insert
from assets.ops.backup.archive import (
    BATCH,
    COPY_AS_TEXT,
    DERIVED,
    TRANSIENT_PREFIXES,
    Archive,
    BackupError,
    authenticate,
    backed_up_models,
    decoder,
    derived_models,
    media_files,
    migration_state,
    open_archive,
    verify_archive,
)


def _tables_here(using: str) -> list[Any]:
    """The backed-up models whose tables this database has: a database migrated back to an older archive's state
    (to restore it, then migrate forward) lacks the tables of later migrations, which the archive cannot hold."""
    existing = set(connections[using].introspection.table_names())
    return [m for m in backed_up_models() if m._meta.db_table in existing]


def check_compatible(manifest: dict[str, Any], *, using: str = "default") -> None:
    """The database must have the archive's migration state, hence its tables and columns."""
    connection = connections[using]
    if not MigrationRecorder(connection).has_table():
        raise BackupError(
            "The database has no tables yet: run `manage.py migrate` first"
            + _migrate_hint(manifest)
            + ", then restore."
        )
    here = migration_state(connection)
    there = manifest["migrations"]
    differences = []
    for app in sorted(set(here) | set(there)):
        mine, theirs = set(here.get(app, [])), set(there.get(app, []))
        if mine != theirs:
            parts = []
            if theirs - mine:
                parts.append(f"the archive has {', '.join(sorted(theirs - mine))} applied, this database not")
            if mine - theirs:
                parts.append(f"this database has {', '.join(sorted(mine - theirs))} applied, the archive not")
            differences.append(f"{app}: {'; '.join(parts)}")
    if differences:
        raise BackupError(
            "The archive was made at another migration state than this database's ("
            + " | ".join(differences)
            + "). Restore into a database migrated to the archive's state"
            + _migrate_hint(manifest, only=[d.split(":")[0] for d in differences])
            + ", then run `manage.py migrate` to bring it up to date."
        )
    models_here = {m._meta.label_lower: m for m in _tables_here(using)}
    in_archive = {t["model"]: t for t in manifest["tables"]}
    for label in sorted(set(models_here) - set(in_archive)):
        raise BackupError(f"The archive has no data for the table of {label}, which this database has.")
    for label, table in in_archive.items():
        model = models_here.get(label)
        if model is None:
            raise BackupError(f"The archive holds {label}, which this Sipanah does not know.")
        # The table as it is in this database (migrated to the archive's state, it may lack the columns of later
        # migrations the model has): the archive's columns must be exactly its columns.
        # Columns the database computes itself (PostGIS: the parcels' EPSG:3857 copy, assets.maps.tile_geometry) are
        # no data of the archive: PostgreSQL fills them as the rows go in.
        by_name = {f.attname: f.column for f in model._meta.concrete_fields}
        with connections[using].cursor() as cursor:
            description = connections[using].introspection.get_table_description(cursor, model._meta.db_table)
        generated = _generated_columns(using, model._meta.db_table)
        columns = sorted(c.name for c in description if c.name not in generated)
        if sorted(by_name.get(str(c), f"?{c}") for c in table["columns"]) != columns:
            raise BackupError(
                f"The columns of {label} differ: the archive has {', '.join(map(str, table['columns']))}; "
                f"this database has {', '.join(columns)}."
            )


def _generated_columns(using: str, table: str) -> set[str]:
    """The columns of ``table`` that PostgreSQL generates (GENERATED ALWAYS ... STORED); none on SQLite."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND is_generated = 'ALWAYS'",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def _migrate_hint(manifest: dict[str, Any], only: list[str] | None = None) -> str:
    leaves = manifest.get("migration_leaves")
    if not isinstance(leaves, dict):
        return ""
    commands = [
        f"`manage.py migrate {app} {name}`"
        for app, names in sorted(leaves.items())
        if (only is None or app in only) and isinstance(names, list)
        for name in names
    ]
    return f" (for this archive: {', '.join(commands)})" if commands else ""


def _role_group_names() -> set[str]:
    from assets.register.permissions import ROLES

    return set(ROLES)


def existing_data(*, using: str = "default", media_root: Path | None = None) -> list[tuple[str, int]]:
    """What a restore would replace: tables with rows, and the media files. What ``migrate`` itself creates
    (content types, permissions, the role groups and their permissions, the default document checklist) does not
    count."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from assets.evidence import checklist
    from assets.evidence.models import DocumentRequirement

    roles = _role_group_names()
    found = []
    for model in _tables_here(using):
        manager = model._base_manager.using(using)
        if model in (ContentType, Permission):
            continue
        if model is Group:
            count = manager.exclude(name__in=roles).count()
        elif model is Group.permissions.through:
            count = manager.exclude(group__name__in=roles).count()
        elif model is DocumentRequirement:
            rows = list(manager.values_list("asal_usul", "from_stage", "doc_type", "active", "note"))
            count = 0 if checklist.is_default(rows) else len(rows)
        else:
            count = manager.count()
        if count:
            found.append((model._meta.label_lower, count))
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    files = sum(1 for _ in media_files(media_root))
    if files:
        found.append(("media files", files))
    return found


def _rows(archive: Archive, member: str, width: int) -> Iterator[tuple[int, list]]:
    with archive.zf.open(member) as src:
        for lineno, line in enumerate(src, 1):
            try:
                values = json.loads(line)
            except ValueError as exc:
                raise BackupError(f"{member}, line {lineno}: not a JSON row ({exc}).") from exc
            if not isinstance(values, list) or len(values) != width:
                raise BackupError(f"{member}, line {lineno}: expected a list of {width} values.")
            yield lineno, values


def _decode_values(decoders: list, values: list, where: str) -> list:
    try:
        return [v if d is None or v is None else d(v) for d, v in zip(decoders, values, strict=True)]
    except (ValueError, TypeError, GEOSException, InvalidOperation, ValidationError) as exc:
        raise BackupError(f"{where}: a value cannot be read ({exc}).") from exc


def _decode_row(
    model: type[models.Model], fields: list[models.Field], decoders: list, values: list, where: str
) -> models.Model:
    decoded = _decode_values(decoders, values, where)
    try:
        return model(**{f.attname: value for f, value in zip(fields, decoded, strict=True)})
    except (ValueError, TypeError, ValidationError) as exc:
        raise BackupError(f"{where}: a value cannot be read ({exc}).") from exc


def _insert_rows(archive: Archive, table: dict[str, Any], model: type[models.Model], using: str) -> int:
    connection = connections[using]
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_name[c] for c in table["columns"]]  # the archive's columns (checked against the table's)
    decoders = [decoder(f) for f in fields]
    member = table["member"]
    count = 0
    if connection.vendor == "postgresql":
        # COPY, the archived text as it is where PostgreSQL parses it the same way (geometry as hex EWKB); every
        # value is still decoded once in Python so that a bad one is named with its line.
        as_text = [isinstance(f, COPY_AS_TEXT) and not isinstance(f, models.BinaryField) for f in fields]

        def copied() -> Iterator[list[Any]]:
            nonlocal count
            for lineno, values in _rows(archive, member, len(fields)):
                decoded = _decode_values(decoders, values, f"{member}, line {lineno}")
                yield [
                    v if text or v is None else f.get_db_prep_save(d, connection)
                    for f, text, v, d in zip(fields, as_text, values, decoded, strict=True)
                ]
                count += 1

        copy_insert.copy_rows(model, [f.column for f in fields], copied(), using=using)
        return count
    # SQLite: Django's own INSERT for one row, compiled once with raw=True (the values as they are, as loaddata
    # saves them; bulk_create would renew auto_now fields), run with executemany over batches of rows. Each value
    # goes through the compiler's prepare_value (the field's get_db_prep_save), as a save would send it; the
    # geometry placeholder (GeomFromWKB(%s, srid)) is the same for every row since every geometry has the column's
    # SRID (checked).
    geometry = [i for i, f in enumerate(fields) if isinstance(f, GeometryField)]
    insert_sql = None
    compiler = None
    batch: list[list] = []
    with connection.cursor() as cursor:
        for lineno, values in _rows(archive, member, len(fields)):
            where = f"{member}, line {lineno}"
            obj = _decode_row(model, fields, decoders, values, where)
            for i in geometry:
                value = getattr(obj, fields[i].attname)
                if value is not None and value.srid != fields[i].srid:
                    raise BackupError(f"{where}: geometry in SRID {value.srid}, the column is SRID {fields[i].srid}.")
            if compiler is None:
                query = InsertQuery(model)
                query.insert_values(fields, [obj], raw=True)
                compiler = query.get_compiler(using=using)
                [(insert_sql, _params)] = compiler.as_sql()
            batch.append([compiler.prepare_value(f, getattr(obj, f.attname)) for f in fields])
            if len(batch) >= BATCH:
                cursor.executemany(insert_sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(insert_sql, batch)
            count += len(batch)
    return count


def _swap_media(media_root: Path, staged: Path) -> tuple[Path, list[str], list[str]]:
    """Move the current top-level entries of MEDIA_ROOT aside and the staged ones in; undone on any error."""
    replaced = Path(tempfile.mkdtemp(prefix=".replaced-", dir=media_root))
    moved_out: list[str] = []
    moved_in: list[str] = []
    try:
        for entry in sorted(media_root.iterdir()):
            if entry.name.startswith(TRANSIENT_PREFIXES):
                continue
            os.replace(entry, replaced / entry.name)
            moved_out.append(entry.name)
        for entry in sorted(staged.iterdir()):
            os.replace(entry, media_root / entry.name)
            moved_in.append(entry.name)
    except OSError:
        _unswap_media(media_root, staged, replaced, moved_out, moved_in)
        raise
    return replaced, moved_out, moved_in


def _unswap_media(media_root: Path, staged: Path, replaced: Path, moved_out: list[str], moved_in: list[str]) -> None:
    for name in moved_in:
        os.replace(media_root / name, staged / name)
    for name in moved_out:
        os.replace(replaced / name, media_root / name)
    shutil.rmtree(replaced, ignore_errors=True)


@dataclass
class RestoreResult:
    rows: dict[str, int]
    media_files: int
    replaced: list[tuple[str, int]]
    seconds: float


def restore_backup(
    path: Path,
    *,
    using: str = "default",
    media_root: Path | None = None,
    force: bool = False,
    accept_unsigned: bool = False,
    log: Callable[[str], None] | None = None,
) -> RestoreResult:
    started = time.monotonic()
    connection = connections[using]
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    archive = open_archive(path)
    try:
        authenticate(archive, accept_unsigned=accept_unsigned)
        manifest = archive.manifest
        check_compatible(manifest, using=using)
        replaced = existing_data(using=using, media_root=media_root)
        if replaced and not force:
            listing = ", ".join(f"{label} ({count})" for label, count in replaced)
            raise BackupError(
                f"The database is not empty: {listing}. Restore into an empty database, or add --force to "
                "replace all of it with the archive."
            )
        if replaced and log:
            log("Replacing: " + ", ".join(f"{label} ({count})" for label, count in replaced))
        if log:
            log(f"Checking {len(manifest['members'])} members of {archive.path} ...")
        verify_archive(archive, stage_media_in=media_root)
        models_by_label = {m._meta.label_lower: m for m in _tables_here(using)}
        rows: dict[str, int] = {}
        swap = None
        try:
            with transaction.atomic(using=using):
                existing = set(connection.introspection.table_names())
                derived = [m for m in derived_models() if m._meta.db_table in existing]
                tables = [m._meta.db_table for m in [*models_by_label.values(), *derived]]
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":  # TRUNCATE refuses tables with pending deferred checks
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    for sql in connection.ops.sql_flush(no_style(), tables):
                        cursor.execute(sql)
                    if connection.vendor == "postgresql":
                        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                for table in manifest["tables"]:
                    model = models_by_label[table["model"]]
                    count = _insert_rows(archive, table, model, using)
                    if count != table["rows"]:
                        raise BackupError(f"{table['member']} has {count} rows, the manifest says {table['rows']}.")
                    rows[table["model"]] = count
                    if log and count:
                        log(f"  {table['model']}: {count} rows")
                try:
                    connection.check_constraints(table_names=tables)
                except DatabaseError as exc:
                    raise BackupError(f"The archive's rows break a constraint of the database: {exc}") from exc
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        for sql in connection.ops.sequence_reset_sql(no_style(), list(models_by_label.values())):
                            cursor.execute(sql)
                else:
                    from assets.lib.spatialite import ensure_spatial_indexes

                    ensure_spatial_indexes(using=using)
                # recounted from the restored rows (whatever their triggers did meanwhile), once per module
                for install in dict.fromkeys(DERIVED[model._meta.label_lower] for model in derived):
                    install(using=using, fill=True)
                swap = _swap_media(media_root, archive.staged_media)
        except DatabaseError as exc:
            if swap:
                _unswap_media(media_root, archive.staged_media, *swap)
            raise BackupError(f"The restore failed and was rolled back: {exc}") from exc
        except BaseException:
            if swap:
                _unswap_media(media_root, archive.staged_media, *swap)
            raise
        shutil.rmtree(swap[0], ignore_errors=True)
    finally:
        archive.close()
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    if connection.vendor == "postgresql":  # fresh planner statistics for the bulk-loaded tables
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return RestoreResult(
        rows=rows, media_files=len(archive.media_files), replaced=replaced, seconds=time.monotonic() - started
    )


def check_backup(path: Path, *, using: str = "default", accept_unsigned: bool = False) -> str:
    """``restore --check``: the archive is signed with this server's key, whole and untampered, and this database has
    its migration state and columns; nothing is written. Returns a summary."""
    archive = open_archive(path)
    try:
        authenticate(archive, accept_unsigned=accept_unsigned)
        verify_archive(archive)
        manifest = archive.manifest
        check_compatible(manifest, using=using)
    finally:
        archive.close()
    rows = sum(t["rows"] for t in manifest["tables"])
    media = sum(1 for name in manifest["members"] if name.startswith("media/"))
    source = manifest.get("database", {}).get("vendor", "?") if isinstance(manifest.get("database"), dict) else "?"
    signed = "signed with this server's key" if archive.signature else "NOT SIGNED (accepted as asked)"
    return (
        f"{path}: a whole Sipanah backup of {manifest.get('created_at', '?')} from {source}, {rows} rows in "
        f"{len(manifest['tables'])} tables and {media} media files, {signed}, every checksum right; this database "
        "can take it."
    )
