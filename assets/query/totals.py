"""Reads for planners' spatial queries: totals and the part of each asset inside a query shape.

Areas are geodesic (assets.geo.geodesic_area_m2), never planar degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Count, Q, QuerySet, Sum

from assets.register import geo, selectors
from assets.register.models import CertificateStatus, LandAsset


def _float(value: Any) -> float:
    return float(value or 0)


def query_totals(qs: QuerySet[LandAsset], *, shape: GEOSGeometry | None = None) -> dict[str, Any]:
    """Count, KIB and GIS area, value; split by certificate status and by agency; the area inside the shape."""
    totals, by_status = selectors.register_totals_by_status(qs)
    by_agency = (
        qs.order_by()
        .values("agency__code", "agency__name")
        .annotate(
            count=Count("id"),
            luas_kib_m2=Sum("luas_kib_m2"),
            nilai_perolehan=Sum("nilai_perolehan"),
            certified=Count("id", filter=Q(status_sertifikat=CertificateStatus.TERBIT)),
        )
        .order_by("agency__code")
    )
    result: dict[str, Any] = {
        "count": totals.count,
        "luas_kib_m2": _float(totals.luas_kib_m2),
        "luas_gis_m2": _float(totals.luas_gis_m2),
        "nilai_perolehan": _float(totals.nilai_perolehan),
        "by_status": by_status,
        "by_agency": [
            {
                "agency_code": row["agency__code"],
                "agency_name": row["agency__name"],
                "count": row["count"],
                "luas_kib_m2": _float(row["luas_kib_m2"]),
                "nilai_perolehan": _float(row["nilai_perolehan"]),
                "certified": row["certified"],
            }
            for row in by_agency
        ],
        "query_area_m2": None,
        "area_inside_m2": None,
    }
    if shape is not None:
        result["query_area_m2"] = geo.geodesic_area_m2(shape) if shape.dims == 2 else 0.0
        if totals.located <= geo.MAX_CLIPPED_ASSETS:
            geoms = qs.filter(geom__isnull=False).order_by().values_list("geom", flat=True)
            result["area_inside_m2"] = round(sum(area for _g, area in geo.clip_areas(geoms, shape)), 2)
    return result


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
