"""Generate a deterministic demo register of Balikpapan land assets, into the database or a GeoPackage."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assets.demo.encumbrances import populate_encumbrances
from assets.demo.records import DemoError, DemoSummary
from assets.demo.writers import DEFAULT_BATCH_SIZE, export_geopackage, populate_database


class Command(BaseCommand):
    help = (
        "Generate COUNT demo land assets (KIB A) with certificates, the same for the same SEED. They go to the "
        "register (needs SIPANAH_DEMO=1) or, with --out, to a new GeoPackage."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="Number of assets.")
        parser.add_argument("--seed", type=int, required=True, help="Random seed (zero or positive).")
        parser.add_argument("--out", type=Path, help="Write a new GeoPackage (layer land_assets) instead.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Assets per bulk insert (database only)."
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--append", action="store_true", help="Add to a register that holds assets (numbers continue)."
        )
        existing.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the register already holds assets."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count, seed, out = options["count"], options["seed"], options["out"]
        if out and (options["append"] or options["if_empty"]):
            raise CommandError("--append and --if-empty apply to the database; --out always writes a new file.")
        existing = "append" if options["append"] else "skip" if options["if_empty"] else "refuse"
        progress = self._progress if options["verbosity"] >= 1 else None
        started = time.perf_counter()
        try:
            if out:
                summary = export_geopackage(count=count, seed=seed, path=out, progress=progress)
            else:
                summary = populate_database(
                    count=count, seed=seed, existing=existing, batch_size=options["batch_size"], progress=progress
                )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        if summary is None:
            self.stdout.write("The register already holds assets: no demo assets generated (--if-empty).")
            return
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(f"{_describe(summary)} written to {out or 'the register'} in {seconds:.1f} s.")
        )
        if not out:
            cases, agreements, payments = populate_encumbrances(seed)
            self.stdout.write(f"{cases} demo cases, {agreements} pemanfaatan agreements, {payments} payment rows.")

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"{done:,} / {total:,} assets", style_func=str)


def _describe(s: DemoSummary) -> str:
    return (
        f"{s.assets:,} demo assets ({s.located:,} located, {s.approximate:,} approximate, "
        f"{s.without_geometry:,} without geometry; {s.certified:,} certified, {s.in_process:,} in process, "
        f"{s.disputed:,} disputed) with {s.certificates:,} certificates and {s.events:,} stage events"
    )
