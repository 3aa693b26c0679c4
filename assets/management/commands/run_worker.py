"""Run queued import jobs (web uploads): ``manage.py run_worker [--once]``. ``make run`` starts it beside runserver."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from assets.ops import worker


class Command(BaseCommand):
    help = "Claim and run queued import jobs; a job whose worker died is queued again or marked failed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run the queued jobs, then stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = worker.work(once=options["once"])
        except KeyboardInterrupt:
            return
        self.stdout.write(f"{count} job(s) run.")
