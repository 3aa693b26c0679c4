"""Mail each user the work waiting for them (assets.work.digest): ``manage.py send_work_digest``, once a day from
cron (docs/work.md, deploy/cron/sipanah-digest)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assets.work import digest


class Command(BaseCommand):
    help = (
        "E-mail every active user with an address (not opted out) the work waiting for them; nobody is mailed when "
        "nothing waits, and a user already mailed today is skipped unless --force."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say who would be mailed; send nothing.")
        parser.add_argument("--force", action="store_true", help="Mail also the users already mailed today.")
        parser.add_argument(
            "--user", action="append", default=[], metavar="USERNAME", help="Only this user (again for more)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run = digest.send_digests(force=options["force"], usernames=options["user"], dry_run=options["dry_run"])
        verb = "would be mailed" if options["dry_run"] else "mailed"
        self.stdout.write(f"{len(run.sent)} user(s) {verb}: {', '.join(run.sent) or '-'}")
        self.stdout.write(f"{len(run.nothing)} user(s) with nothing waiting (not mailed).")
        if run.failed:
            raise CommandError(f"{len(run.failed)} digest(s) failed (see the log): {', '.join(run.failed)}")
