"""Export the register (or a filtered part): ``manage.py export_assets --format F -o PATH [filters]``."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from assets.register import history, selectors
from assets.register.filters import AssetFilter
from assets.transfer import exports

FILTERS = ("q", "removed", "status", "tahap", "agency", "kecamatan", "kelurahan", "jenis_hak", "plotting",
           "tahun_min", "tahun_max", "luas_min", "luas_max")  # fmt: skip


class Command(BaseCommand):
    help = "Export land assets as GeoJSON, GeoPackage, Shapefile (zip), KML, CSV (WKT) or XLSX (KIB A layout)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--format", required=True, choices=sorted(exports.FORMATS))
        parser.add_argument("-o", "--output", required=True, type=Path)
        parser.add_argument("--srid", type=int, default=4326, choices=exports.EXPORT_SRIDS)
        parser.add_argument(
            "--as-of", dest="as_of", help="YYYY-MM-DD: the register as of the end of that day, from the history"
        )
        for name in FILTERS:
            # The register's own filters (assets.filters.AssetFilter), so a selection means the same here as on the web.
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
            as_of = history.parse_as_of(options["as_of"])
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        selection: Any
        if as_of is not None:
            try:
                selection = history.as_of_records(as_of=as_of, params=query)
            except history.FilterError as exc:
                raise CommandError(f"Invalid filter: {exc}") from exc
        else:
            asset_filter = AssetFilter(query, queryset=selectors.asset_list())
            if not asset_filter.is_valid():
                problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in asset_filter.errors.items())
                raise CommandError(f"Invalid filter: {problems}")
            selection = asset_filter.qs
        partial = path.with_name(f".{path.stem}.partial{path.suffix}")  # drivers pick the format by suffix
        try:
            count = exports.write_export(selection, fmt=options["format"], path=partial, srid=options["srid"])
            partial.replace(path)
        except exports.ExportError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(
            f"{count:,} assets written to {path} ({exports.FORMATS[options['format']].label}, EPSG:{options['srid']})."
        )
