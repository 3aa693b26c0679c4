"""Start a reconciliation run from an official KIB A export (as BPKAD would upload it) and print its counts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assets.ledger import selectors, services
from assets.transfer.importing.report import ImportFileError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--system", default="SIMDA BMD")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            run = services.start_run(options["file"], user=None, system=options["system"])
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        total = time.monotonic() - started
        self.stdout.write(
            f"run #{run.pk}: {run.official_rows} official rows, {run.register_rows} assets; "
            f"matching {run.match_seconds} s, whole run {total:.2f} s"
        )
        for count in selectors.counts(run):
            self.stdout.write(f"  {count.label}: {count.count}")
        if run.read_report.get("error_count"):
            self.stdout.write(f"  rows not read: {run.read_report['error_count']}")
