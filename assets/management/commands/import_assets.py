"""Import land assets from a file: ``manage.py import_assets PATH [--layer L] [--srid N] [--mapping FILE] ...``."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from assets.register.models import User
from assets.transfer import jobs
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportFileError, ImportReport, UpdateMode
from assets.transfer.importing.run import format_report, run_import


class Command(BaseCommand):
    help = (
        "Import KIB A land assets from a Shapefile (.zip or .shp), GeoPackage, GeoJSON/TopoJSON, KML/KMZ, DXF, CSV "
        "or XLSX. All or nothing: any error leaves the register unchanged. Exit status 0 only when it imported "
        "(or, with --dry-run, would import)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--layer", help="Layer to read (GeoPackage, KML, DXF with several layers).")
        parser.add_argument("--srid", help="Source CRS when the file declares none: EPSG code, WKT or a .prj file.")
        parser.add_argument("--mapping", type=Path, help="JSON mapping file: fields, constants, defaults.")
        parser.add_argument("--dry-run", action="store_true", help="Check everything and report; write nothing.")
        parser.add_argument("--repair", action="store_true", help="Repair invalid geometry with MakeValid.")
        parser.add_argument(
            "--strict", action="store_true", help="Overlaps (over the register, or within the file) are errors."
        )
        parser.add_argument(
            "--update",
            choices=UpdateMode.CHOICES,
            default=UpdateMode.ALL,
            help="What an update of an existing asset may overwrite: all (default), geometry only, attributes only.",
        )
        parser.add_argument("--report", type=Path, help="Also write the full report as JSON to this file.")
        parser.add_argument(
            "--max-bytes", type=int, help="Largest file accepted (default: settings.SIPANAH_IMPORT_LIMITS)."
        )
        parser.add_argument(
            "--user",
            help="Import as this user (their agency and permissions, named in the history) and keep the run in the "
            "import log (/imports/) with its file and report, as a web upload is.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mapping = FieldMapping.load(options["mapping"]) if options["mapping"] else None
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        logged: list[int] = []

        def log(report: ImportReport) -> None:
            """The run in the import log, as a web upload's (inside the write's transaction when rows were written:
            the rows and the log's entry commit together)."""
            job = jobs.record_command_import(
                user=user,
                path=options["path"],
                layer=options["layer"] or "",
                srid=options["srid"] or "",
                repair=options["repair"],
                report=report,
                mapping=mapping,
            )
            logged.append(job.pk)

        try:
            report = run_import(
                options["path"],
                user=user,
                layer=options["layer"],
                srid=options["srid"],
                mapping=mapping,
                dry_run=options["dry_run"],
                repair=options["repair"],
                strict=options["strict"],
                update=options["update"],
                progress=self._progress if sys.stderr.isatty() else None,
                limits=ImportLimits.from_settings(max_file_bytes=options["max_bytes"]),
                finish=log if user is not None and not options["dry_run"] else None,
            )
            if logged:
                self.stderr.write(f"Import log: /imports/{logged[0]}/")
        except DatabaseError as exc:
            # The import runs in one transaction, rolled back (or gone with the connection): nothing was written.
            raise CommandError(jobs.database_failure_message(exc), returncode=2) from exc
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        if options["report"]:
            options["report"].write_text(json.dumps(report.as_dict(), indent=1, default=str), encoding="utf-8")
        self.stdout.write(format_report(report))
        if not report.ok:
            raise CommandError(f"{report.error_count} error(s); nothing was written.", returncode=1)

    def _progress(self, done: int, total: int) -> None:
        width = 30
        share = done / total if total > 0 else 0
        bar = "#" * int(width * share)
        sys.stderr.write(f"\r[{bar:<{width}}] {done:,}/{max(total, done):,}")
        sys.stderr.flush()
