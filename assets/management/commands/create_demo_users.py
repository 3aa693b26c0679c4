from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from assets.demo.users import DEMO_PASSWORD, create_demo_users


class Command(BaseCommand):
    help = "Create one demo user per role (officer, bpkad, auditor, planner, admin). Needs SIPANAH_DEMO=1."

    def handle(self, *args, **options) -> None:
        try:
            users = create_demo_users()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        names = ", ".join(u.username for u in users)
        self.stdout.write(self.style.SUCCESS(f"Demo users ready: {names} (password {DEMO_PASSWORD})."))
