"""``manage.py backup [-o PATH]``: the whole database (geometry, history, users, tokens...) and MEDIA_ROOT in one
zip archive that ``manage.py restore`` reads on SpatiaLite or PostGIS (format: :mod:`assets.backup`)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from assets.ops.backup.archive import BackupError
from assets.ops.backup.dump import create_backup, default_backup_path


class Command(BaseCommand):
    help = "Back up the database (every table, with geometry and history) and the uploaded files into a zip archive."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "-o",
            "--output",
            type=Path,
            help="archive to write, or a folder for it (default: var/backups/sipanah-<UTC time>.zip)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["output"] or default_backup_path()
        if path.is_dir():
            path = path / default_backup_path().name
        if options["output"] is None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        started = time.monotonic()
        log = self.stdout.write if options["verbosity"] >= 2 else None
        try:
            manifest = create_backup(path, using=options["database"], log=log)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        except DatabaseError as exc:
            raise CommandError(f"Reading the database failed, no archive written: {exc}") from exc
        rows = sum(t["rows"] for t in manifest["tables"])
        size = path.stat().st_size
        self.stdout.write(
            f"Backed up {rows} rows in {sum(1 for t in manifest['tables'] if t['rows'])} tables and "
            f"{manifest['media']['files']} media files to {path} ({size / 1e6:.1f} MB, "
            f"{time.monotonic() - started:.1f} s)."
        )
