from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from assets.demo.campaign import create_demo_campaign


class Command(BaseCommand):
    help = "Open the demo inventory campaign (the demo officer's team). Needs SIPANAH_DEMO=1 and the demo data."

    def handle(self, *args, **options) -> None:
        try:
            campaign = create_demo_campaign()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if campaign is None:
            self.stdout.write("No demo campaign: create the demo users and assets first.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Demo campaign: {campaign.name}, {campaign.assignments.count()} parcels.")
        )
