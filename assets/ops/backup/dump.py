"""Making a backup: every table Django manages and every media file, in one read transaction, into one archive."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from assets.ops.backup.archive import (
    BATCH,
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    ROW_JSON,
    SIGNATURE,
    BackupError,
    HashingWriter,
    app_version,
    backed_up_models,
    encode_row,
    encoder,
    media_files,
    member_info,
    migration_state,
    signature,
)


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
            state = migration_state(connection)
            for model in backed_up_models():
                fields = model._meta.concrete_fields
                encoders = [encoder(f) for f in fields]
                member = f"data/{model._meta.label_lower}.jsonl"
                rows = 0
                query = model._base_manager.using(using).order_by("pk").values_list(*[f.attname for f in fields])
                with zf.open(member_info(member), "w", force_zip64=True) as out:
                    writer = HashingWriter(out)
                    lines: list[str] = []
                    for values in query.iterator(chunk_size=BATCH):
                        lines.append(ROW_JSON.encode(encode_row(encoders, values)))
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
            for relative, file_path in media_files(media_root):
                member = f"media/{relative}"
                with file_path.open("rb") as src, zf.open(member_info(member), "w", force_zip64=True) as out:
                    writer = HashingWriter(out)
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
                "app_version": app_version(),
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
            manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
            zf.writestr(MANIFEST, manifest_bytes)
            zf.writestr(SIGNATURE, signature(manifest_bytes))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def default_backup_path() -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BASE_DIR) / "var" / "backups" / f"sipanah-{stamp}.zip"
