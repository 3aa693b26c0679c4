"""``manage.py restore PATH [--force]``: put back what ``manage.py backup`` saved (format: :mod:`assets.backup`).
Everything is checked before anything is written; the database is written in one transaction."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from assets.ops.backup.archive import BackupError
from assets.ops.backup.restore import check_backup, restore_backup


class Command(BaseCommand):
    help = "Restore a backup archive made by `manage.py backup` into an empty database (or, with --force, replace it)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="the archive (.zip) written by manage.py backup")
        parser.add_argument(
            "--force", action="store_true", help="replace the data of a database that is not empty (says what)"
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only check the archive (members, checksums) and that this database could take it; write nothing",
        )
        parser.add_argument(
            "--accept-unsigned",
            action="store_true",
            help="accept an archive without a signature (made before Sipanah signed its backups); "
            "a signed archive is always checked against SIPANAH_BACKUP_KEY",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args: Any, **options: Any) -> None:
        log = self.stdout.write if options["verbosity"] >= 1 else None
        if options["check"]:
            try:
                summary = check_backup(
                    options["path"], using=options["database"], accept_unsigned=options["accept_unsigned"]
                )
            except BackupError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(summary)
            return
        try:
            result = restore_backup(
                options["path"],
                using=options["database"],
                force=options["force"],
                accept_unsigned=options["accept_unsigned"],
                log=log,
            )
        except BackupError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        except DatabaseError as exc:
            raise CommandError(f"The restore failed and was rolled back: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"The restore failed: {exc}. Nothing was changed.") from exc
        self.stdout.write(
            f"Restored {sum(result.rows.values())} rows in {sum(1 for n in result.rows.values() if n)} tables and "
            f"{result.media_files} media files from {options['path']} ({result.seconds:.1f} s)."
        )
