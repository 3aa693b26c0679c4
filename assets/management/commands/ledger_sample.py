"""Write an official KIB A export (CSV, SIMDA BMD column names) made from the live register with realistic
differences: the demo's sample for a reconciliation run, and the bench's input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from assets.ledger.sample import official_export


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("out", type=Path)
        parser.add_argument("--differences", type=float, default=0.05)
        parser.add_argument("--missing", type=float, default=0.01)
        parser.add_argument("--extra", type=float, default=0.01)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = official_export(
            options["out"],
            differences=options["differences"],
            missing=options["missing"],
            extra=options["extra"],
            seed=options["seed"],
        )
        self.stdout.write(f"{options['out']}: {counts}")
