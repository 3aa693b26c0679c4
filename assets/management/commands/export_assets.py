"""Export the register (or a filtered part): ``manage.py export_assets --format F -o PATH [filters]``."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from assets.register import place
from assets.register.filters import AssetFilter
from assets.register.reads import RegisterSelection, SelectionError, parse_as_of
from assets.transfer import exports

# The register's own filters, so a selection means the same here as on the web.
FILTERS = tuple(AssetFilter.base_filters)


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # nothing here depends on them (they cost 0.5 s of CPU at start)
    help = "Export land assets as GeoJSON, GeoPackage, Shapefile (zip), KML, CSV (WKT) or XLSX (KIB A layout)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--format", required=True, choices=sorted(exports.FORMATS))
        parser.add_argument("-o", "--output", required=True, type=Path)
        parser.add_argument("--srid", type=int, default=4326, choices=place.city().export_srids)
        parser.add_argument(
            "--as-of", dest="as_of", help="YYYY-MM-DD: the register as of the end of that day, from the history"
        )
        for name in FILTERS:
            parser.add_argument(
                f"--{name.replace('_', '-')}", dest=name, action="append", help=f"register filter {name}"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        query = QueryDict(mutable=True)
        for name in FILTERS:
            for value in options[name] or []:
                query.appendlist(name, value)
        path: Path = options["output"]
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            as_of = parse_as_of(options["as_of"])
        except SelectionError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        try:
            selection = RegisterSelection.from_params(query, as_of=as_of)
        except SelectionError as exc:
            raise CommandError(str(exc)) from exc
        partial = path.with_name(f".{path.stem}.partial{path.suffix}")  # drivers pick the format by suffix
        started = time.monotonic()
        try:
            count = exports.write_export(selection, fmt=options["format"], path=partial, srid=options["srid"])
            partial.replace(path)
        except exports.ExportError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            f"{count:,} assets written to {path} ({exports.FORMATS[options['format']].label}, EPSG:{options['srid']}) "
            f"in {time.monotonic() - started:.2f} s."
        )
