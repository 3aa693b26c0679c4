from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assets"
    verbose_name = _("Land assets")

    def ready(self) -> None:
        from assets.register.permissions import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
        from assets.lib.spatialite import ensure_spatial_indexes, restore_busy_timeout

        post_migrate.connect(ensure_spatial_indexes, sender=self, dispatch_uid="assets-spatial-indexes")
        connection_created.connect(restore_busy_timeout, dispatch_uid="assets-sqlite-busy-timeout")
        from assets.maps.tile_cells import ensure_triggers

        post_migrate.connect(ensure_triggers, sender=self, dispatch_uid="assets-tile-cell-triggers")
        from assets.register import aggregates

        post_migrate.connect(aggregates.ensure_triggers, sender=self, dispatch_uid="assets-register-total-triggers")
        from assets.maps import tile_version

        post_migrate.connect(tile_version.ensure_triggers, sender=self, dispatch_uid="assets-version-triggers")
        from assets.register import history_validity

        post_migrate.connect(history_validity.ensure_triggers, sender=self, dispatch_uid="assets-history-validity")
        # Each room that owns work for the queues registers its sources in its own work.py (assets.work), and what
        # it prints in the background in its printers.py (assets.transfer.print_jobs).
        import importlib
        import pkgutil
        from pathlib import Path

        for room in pkgutil.iter_modules([str(Path(__file__).parent)]):
            for hook in ("work", "printers"):
                if room.ispkg and (Path(__file__).parent / room.name / f"{hook}.py").exists():
                    importlib.import_module(f"assets.{room.name}.{hook}")
