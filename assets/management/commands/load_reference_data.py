from django.core.management.base import BaseCommand

from assets.register.reference import load_agencies, load_boundaries


class Command(BaseCommand):
    help = "Load (or update) Balikpapan's kota, kecamatan and kelurahan boundaries and the agencies (OPD)."

    def handle(self, *args, **options) -> None:
        areas = load_boundaries()
        agencies = load_agencies()
        self.stdout.write(self.style.SUCCESS(f"Reference data ready: {areas} areas and {agencies} agencies written."))
