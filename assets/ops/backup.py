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

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib
import json
import os
import shutil
import tempfile
import time
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.sql import InsertQuery
from django.utils.duration import duration_iso_string

from assets.lib import copy_insert

FORMAT = "sipanah-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 2000
CHUNK = 1 << 20
# Files under MEDIA_ROOT that belong to the running processes, not to the data: neither saved nor replaced.
TRANSIENT_PREFIXES = ("worker.heartbeat", ".restore-", ".replaced-")


class BackupError(Exception):
    """A problem with an archive or with the target database, said in words for the user."""


# Tables the database fills itself from other tables (triggers): not saved; emptied by a restore and recounted at its
# end by the module's ``install(using=..., fill=True)``.
DERIVED = {"assets.assetcell": "assets.maps.tile_cells", "assets.registerversion": "assets.maps.tile_version"}


def _managed_models() -> list[type[models.Model]]:
    found = [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    return sorted(found, key=lambda m: m._meta.label_lower)


def backed_up_models() -> list[type[models.Model]]:
    """Every table Django manages (the auto-created many-to-many tables included) but the derived ones."""
    return [m for m in _managed_models() if m._meta.label_lower not in DERIVED]


def _derived_models() -> list[type[models.Model]]:
    return [m for m in _managed_models() if m._meta.label_lower in DERIVED]


def _app_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


# --- values ------------------------------------------------------------------------------------------------------


def _encoder(f: models.Field) -> Callable[[Any], Any] | None:
    """How a column's Python value becomes a JSON value (None: it already is one)."""
    if isinstance(f, GeometryField):
        return lambda v: v.hexewkb.decode("ascii")
    if isinstance(f, models.DateField | models.TimeField):  # DateTimeField too
        return lambda v: v.isoformat()
    if isinstance(f, models.DecimalField):
        return str
    if isinstance(f, models.JSONField):
        return lambda v: json.dumps(v, cls=f.encoder, ensure_ascii=False)
    if isinstance(f, models.BinaryField):
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(f, models.DurationField):
        return duration_iso_string
    if isinstance(f, models.UUIDField):
        return str
    return None


def _decoder(f: models.Field) -> Callable[[Any], Any] | None:
    """The inverse of :func:`_encoder` (None: the JSON value is the Python value)."""
    if isinstance(f, GeometryField):
        return GEOSGeometry
    if isinstance(f, models.DateTimeField):
        return dt.datetime.fromisoformat
    if isinstance(f, models.DateField):
        return dt.date.fromisoformat
    if isinstance(f, models.TimeField):
        return dt.time.fromisoformat
    if isinstance(f, models.DecimalField):
        return Decimal
    if isinstance(f, models.JSONField):
        return lambda v: json.loads(v, cls=f.decoder)
    if isinstance(f, models.BinaryField):
        return base64.b64decode
    if isinstance(f, models.DurationField | models.UUIDField):
        return f.to_python
    return None


# Column types whose archived text PostgreSQL's COPY takes as it is (the decoded value is only checked in Python).
_COPY_AS_TEXT = (
    GeometryField,
    models.DateField,
    models.TimeField,
    models.DecimalField,
    models.JSONField,
    models.UUIDField,
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.AutoField,
    models.BigAutoField,
    models.FileField,
    models.ForeignKey,
)


_ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _encode_row(encoders: list, values: tuple) -> list:
    return [v if e is None or v is None else e(v) for e, v in zip(encoders, values, strict=True)]


# --- backup ------------------------------------------------------------------------------------------------------


class _HashingWriter:
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.stream.write(data)

    def entry(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha.hexdigest()}


def _media_files(media_root: Path) -> Iterator[tuple[str, Path]]:
    if not media_root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(media_root):
        here = Path(dirpath)
        if here == media_root:
            dirnames[:] = [d for d in dirnames if not d.startswith(TRANSIENT_PREFIXES)]
            filenames = [f for f in filenames if not f.startswith(TRANSIENT_PREFIXES)]
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(media_root).as_posix(), path


def _member_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def _migration_state(connection: Any) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in MigrationRecorder(connection).applied_migrations():
        applied.setdefault(app_label, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _migration_leaves(connection: Any, state: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per app, the applied migrations that no other applied one of the app builds on: what ``migrate APP NAME``
    needs to reach the same state."""
    graph = MigrationLoader(connection, ignore_no_migrations=True).graph
    leaves = {}
    for app, names in state.items():
        applied = set(names)
        leaves[app] = sorted(
            name
            for name in names
            if (app, name) in graph.nodes
            and not any(c[0] == app and c[1] in applied for c in graph.node_map[(app, name)].children)
        )
    return leaves


def create_backup(
    path: Path, *, using: str = "default", media_root: Path | None = None, log: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Write the archive to ``path`` (through a temporary file, renamed at the end); returns the manifest."""
    connection = connections[using]
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    started = time.monotonic()
    members: dict[str, dict[str, Any]] = {}
    tables = []
    # The archive holds password hashes, API tokens and sessions: readable by its owner only.
    if not MigrationRecorder(connection).has_table():
        raise BackupError("The database has no Sipanah tables (was `manage.py migrate` run?): nothing to back up.")
    outermost = not connection.in_atomic_block  # else the caller's transaction already fixes what is seen
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
            transaction.atomic(using=using),
        ):
            if outermost and connection.vendor == "postgresql":  # one snapshot for every table, blocking no writer
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            state = _migration_state(connection)
            for model in backed_up_models():
                fields = model._meta.concrete_fields
                encoders = [_encoder(f) for f in fields]
                member = f"data/{model._meta.label_lower}.jsonl"
                rows = 0
                query = model._base_manager.using(using).order_by("pk").values_list(*[f.attname for f in fields])
                with zf.open(_member_info(member), "w", force_zip64=True) as out:
                    writer = _HashingWriter(out)
                    lines: list[str] = []
                    for values in query.iterator(chunk_size=BATCH):
                        lines.append(_ROW_JSON.encode(_encode_row(encoders, values)))
                        rows += 1
                        if len(lines) >= BATCH:
                            writer.write(("\n".join(lines) + "\n").encode("utf-8"))
                            lines.clear()
                    if lines:
                        writer.write(("\n".join(lines) + "\n").encode("utf-8"))
                members[member] = writer.entry()
                tables.append(
                    {
                        "model": model._meta.label_lower,
                        "table": model._meta.db_table,
                        "member": member,
                        "columns": [f.attname for f in fields],
                        "rows": rows,
                    }
                )
                if log and rows:
                    log(f"  {model._meta.label_lower}: {rows} rows")
            media_count = media_bytes = 0
            for relative, file_path in _media_files(media_root):
                member = f"media/{relative}"
                with file_path.open("rb") as src, zf.open(_member_info(member), "w", force_zip64=True) as out:
                    writer = _HashingWriter(out)
                    while chunk := src.read(CHUNK):
                        writer.write(chunk)
                members[member] = writer.entry()
                media_count += 1
                media_bytes += writer.size
            if log:
                log(f"  media: {media_count} files, {media_bytes} bytes")
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "app_version": _app_version(),
                "django_version": django.get_version(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "database": {"vendor": connection.vendor, "engine": connection.settings_dict["ENGINE"]},
                "migrations": state,
                "migration_leaves": _migration_leaves(connection, state),
                "tables": tables,
                "media": {"files": media_count, "bytes": media_bytes},
                "members": members,
                "seconds": round(time.monotonic() - started, 1),
            }
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


# --- reading and checking an archive -----------------------------------------------------------------------------


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and parts[0] in ("data", "media")
        and len(parts) >= 2
        and not name.startswith("/")
        and "\\" not in name
        and not any(p in ("..", ".", "") for p in parts)
        and not (parts[0] == "media" and parts[1].startswith(TRANSIENT_PREFIXES))
    )


def _check_manifest(manifest: Any, where: str) -> None:
    def bad(problem: str) -> BackupError:
        return BackupError(f"{where}: manifest.json {problem}.")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bad("is not a Sipanah backup manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise bad(f"has format version {version!r}; this Sipanah reads version {FORMAT_VERSION}")
    if not isinstance(manifest.get("members"), dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int)
        for v in manifest["members"].values()
    ):
        raise bad("has no valid list of members (size and SHA-256 of each)")
    state = manifest.get("migrations")
    if not isinstance(state, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in state.values()
    ):
        raise bad("has no valid migration state")
    tables = manifest.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict)
        and isinstance(t.get("model"), str)
        and isinstance(t.get("member"), str)
        and isinstance(t.get("rows"), int)
        and isinstance(t.get("columns"), list)
        for t in tables
    ):
        raise bad("has no valid list of tables")
    for table in tables:
        if table["member"] not in manifest["members"]:
            raise bad(f"names {table['member']} for {table['model']} but lists no such member")


@dataclass
class Archive:
    path: Path
    zf: zipfile.ZipFile
    manifest: dict[str, Any]
    staged_media: Path | None = None
    media_files: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.zf.close()
        if self.staged_media is not None and self.staged_media.exists():
            shutil.rmtree(self.staged_media, ignore_errors=True)


def open_archive(path: Path) -> Archive:
    """Open and read the manifest; nothing else is checked yet (see :func:`verify_archive`)."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path} does not exist.")
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BackupError(
            f"{path} is not a Sipanah backup: not a zip archive, or a truncated one (its table of contents, at the "
            f"end, is missing): {exc}."
        ) from exc
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    try:
        try:
            raw = zf.read(MANIFEST)
        except KeyError as exc:
            raise BackupError(f"{path} is not a Sipanah backup: it has no {MANIFEST}.") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BackupError(f"{path}: {MANIFEST} is damaged ({exc}).") from exc
        try:
            manifest = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BackupError(f"{path}: {MANIFEST} is not valid JSON ({exc}).") from exc
        _check_manifest(manifest, str(path))
    except BaseException:
        zf.close()
        raise
    return Archive(path=path, zf=zf, manifest=manifest)


def verify_archive(archive: Archive, *, stage_media_in: Path | None = None) -> None:
    """Check that the members are exactly the manifest's, with its sizes and SHA-256. With ``stage_media_in`` the
    media files are extracted on the way into a new staging folder there (``archive.staged_media``)."""
    where = archive.path
    expected = archive.manifest["members"]
    present = [i for i in archive.zf.infolist() if i.filename != MANIFEST and not i.is_dir()]
    names = [i.filename for i in present]
    if len(set(names)) != len(names):
        raise BackupError(f"{where}: a member appears twice in the archive.")
    for name in sorted(set(names) - set(expected)):
        raise BackupError(f"{where}: {name} is in the archive but not in its manifest (was the archive altered?).")
    for name in sorted(set(expected) - set(names)):
        raise BackupError(f"{where}: {name}, listed in the manifest, is missing from the archive.")
    for name in names:
        if not _safe_member(name):
            raise BackupError(f"{where}: the member name {name!r} is not allowed (absolute, '..', or unknown folder).")
    if stage_media_in is not None:
        stage_media_in.mkdir(parents=True, exist_ok=True)
        archive.staged_media = Path(tempfile.mkdtemp(prefix=".restore-", dir=stage_media_in))
    for info in present:
        entry = expected[info.filename]
        if info.file_size != entry["size"]:
            raise BackupError(
                f"{where}: {info.filename} holds {info.file_size} bytes, the manifest says {entry['size']} "
                "(was the archive altered?)."
            )
        sha = hashlib.sha256()
        target = None
        if archive.staged_media is not None and info.filename.startswith("media/"):
            target = archive.staged_media.joinpath(*PurePosixPath(info.filename).parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.zf.open(info) as src, target.open("wb") if target else _NullWriter() as out:
                while chunk := src.read(CHUNK):
                    sha.update(chunk)
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BackupError(f"{where}: {info.filename} is damaged ({exc}).") from exc
        except OSError as exc:
            raise BackupError(f"{where}: {info.filename} cannot be read or staged ({exc}).") from exc
        if sha.hexdigest() != entry["sha256"]:
            raise BackupError(
                f"{where}: the SHA-256 of {info.filename} differs from the manifest's (the archive was altered or "
                "damaged)."
            )
        if target is not None:
            archive.media_files.append(info.filename)


class _NullWriter:
    def __enter__(self) -> _NullWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> None:
        return None


# --- checking the target database --------------------------------------------------------------------------------


def check_compatible(manifest: dict[str, Any], *, using: str = "default") -> None:
    """The database must have the archive's migration state, hence its tables and columns."""
    connection = connections[using]
    if not MigrationRecorder(connection).has_table():
        raise BackupError(
            "The database has no tables yet: run `manage.py migrate` first"
            + _migrate_hint(manifest)
            + ", then restore."
        )
    here = _migration_state(connection)
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
    models_here = {m._meta.label_lower: m for m in backed_up_models()}
    in_archive = {t["model"]: t for t in manifest["tables"]}
    for label in sorted(set(models_here) - set(in_archive)):
        raise BackupError(f"The archive has no data for the table of {label}, which this database has.")
    for label, table in in_archive.items():
        model = models_here.get(label)
        if model is None:
            raise BackupError(f"The archive holds {label}, which this Sipanah does not know.")
        columns = [f.attname for f in model._meta.concrete_fields]
        if table["columns"] != columns:
            raise BackupError(
                f"The columns of {label} differ: the archive has {', '.join(map(str, table['columns']))}; "
                f"this database has {', '.join(columns)}."
            )


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
    (content types, permissions, the role groups and their permissions) does not count."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    roles = _role_group_names()
    found = []
    for model in backed_up_models():
        manager = model._base_manager.using(using)
        if model in (ContentType, Permission):
            continue
        if model is Group:
            count = manager.exclude(name__in=roles).count()
        elif model is Group.permissions.through:
            count = manager.exclude(group__name__in=roles).count()
        else:
            count = manager.count()
        if count:
            found.append((model._meta.label_lower, count))
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    files = sum(1 for _ in _media_files(media_root))
    if files:
        found.append(("media files", files))
    return found


# --- restore -----------------------------------------------------------------------------------------------------


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


def _decode_row(model: type[models.Model], decoders: list, values: list, where: str) -> models.Model:
    decoded = _decode_values(decoders, values, where)
    try:
        return model(*decoded)
    except (ValueError, TypeError, ValidationError) as exc:
        raise BackupError(f"{where}: a value cannot be read ({exc}).") from exc


def _insert_rows(archive: Archive, table: dict[str, Any], model: type[models.Model], using: str) -> int:
    connection = connections[using]
    fields = list(model._meta.concrete_fields)
    decoders = [_decoder(f) for f in fields]
    member = table["member"]
    count = 0
    if connection.vendor == "postgresql":
        # COPY, the archived text as it is where PostgreSQL parses it the same way (geometry as hex EWKB); every
        # value is still decoded once in Python so that a bad one is named with its line.
        as_text = [isinstance(f, _COPY_AS_TEXT) and not isinstance(f, models.BinaryField) for f in fields]

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
            obj = _decode_row(model, decoders, values, where)
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
    log: Callable[[str], None] | None = None,
) -> RestoreResult:
    started = time.monotonic()
    connection = connections[using]
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    archive = open_archive(path)
    try:
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
        models_by_label = {m._meta.label_lower: m for m in backed_up_models()}
        rows: dict[str, int] = {}
        swap = None
        try:
            with transaction.atomic(using=using):
                existing = set(connection.introspection.table_names())
                derived = [m for m in _derived_models() if m._meta.db_table in existing]
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
                for model in derived:  # recounted from the restored rows (whatever their triggers did meanwhile)
                    importlib.import_module(DERIVED[model._meta.label_lower]).install(using=using, fill=True)
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


def check_backup(path: Path, *, using: str = "default") -> str:
    """``restore --check``: the archive is whole and untampered, and this database has its migration state and
    columns; nothing is written. Returns a summary."""
    archive = open_archive(path)
    try:
        verify_archive(archive)
        manifest = archive.manifest
        check_compatible(manifest, using=using)
    finally:
        archive.close()
    rows = sum(t["rows"] for t in manifest["tables"])
    media = sum(1 for name in manifest["members"] if name.startswith("media/"))
    source = manifest.get("database", {}).get("vendor", "?") if isinstance(manifest.get("database"), dict) else "?"
    return (
        f"{path}: a whole Sipanah backup of {manifest.get('created_at', '?')} from {source}, {rows} rows in "
        f"{len(manifest['tables'])} tables and {media} media files, every checksum right; this database can take it."
    )


def default_backup_path() -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BASE_DIR) / "var" / "backups" / f"sipanah-{stamp}.zip"
