"""The rows of a planners' spatial query: each asset with the geodesic area of its part inside the query shape
(the totals come from the register's read path, assets.register.reads)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.db.models import QuerySet

from assets.register import geo
from assets.register.models import LandAsset


@dataclass(frozen=True)
class QueryRow:
    asset: LandAsset
    area_inside_m2: float


def rows_with_area_inside(qs: QuerySet[LandAsset], shape: GEOSGeometry | None, *, limit: int) -> list[QueryRow]:
    """The first ``limit`` assets of a query with the geodesic area of each that lies inside the shape."""
    assets = list(
        qs.select_related("agency", "kelurahan", "kecamatan").defer("kelurahan__geom", "kecamatan__geom")[:limit]
    )
    if shape is None:
        return [QueryRow(asset=a, area_inside_m2=float(a.luas_gis_m2 or 0)) for a in assets]
    areas = [area for _g, area in geo.clip_areas((a.geom for a in assets), shape)]
    return [QueryRow(asset=a, area_inside_m2=round(area, 2)) for a, area in zip(assets, areas, strict=True)]
