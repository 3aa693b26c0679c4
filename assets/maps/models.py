"""Models of the maps room, written only by database triggers (assets.maps.tile_cells, assets.maps.tile_version)."""

from __future__ import annotations

from django.db import models


class AssetCell(models.Model):
    """Asset counts per z17 Web Mercator tile, for the low-zoom vector tiles (assets.maps.tile_cells).

    Written only by the database triggers on the assets table, never by Django.
    """

    x17 = models.IntegerField()
    y17 = models.IntegerField()
    n = models.IntegerField(default=0)
    nb = models.IntegerField(default=0)
    np = models.IntegerField(default=0)
    nt = models.IntegerField(default=0)
    nd = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["x17", "y17"], name="assets_assetcell_xy")]

    def __str__(self) -> str:
        return f"{self.x17}/{self.y17}: {self.n}"


class RegisterVersion(models.Model):
    """One row: a value that changes with every transaction writing assets, in commit order (assets.maps.tile_version).

    Written only by the database triggers on the assets table, never by Django.
    """

    v = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.v)
