"""The register as of a date (``as_of=YYYY-MM-DD``) for the REST API, OGC API and the map: one page of
GeoJSON features and the totals, both computed from the audit snapshot (assets.audit, README "Audit"), so
every surface applies the same as-of rule. Reads only.

The snapshot is built in memory from the history tables (they have no spatial index worth using): correct
first, as the audit pages are; the live register keeps its fast database paths.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import QuerySet

from assets.lib.geojson_out import GEOJSON_PRECISION, Properties, json_value
from assets.register import geo, history
from assets.register.filters import AssetFilter
from assets.register.models import Agency, CertificateStatus


def _value(record: Any, path: str) -> Any:
    """``agency__code`` read from an as-of record (None through a missing relation)."""
    value = record
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def feature_page(
    *,
    as_of: dt.date,
    params: Mapping[str, Any] | None,
    properties: Properties,
    offset: int,
    limit: int,
    filterset_class: type[AssetFilter] = AssetFilter,
    refine: Callable[[QuerySet], QuerySet] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page (ordered by id) of the register as of ``as_of`` as GeoJSON feature dicts, and the number of
    all matches. Raises history.FilterError for a bad filter."""
    states = history.snapshot(as_of=as_of, params=params, filterset_class=filterset_class, refine=refine)
    states.sort(key=lambda s: s.id)
    page = states[offset : offset + limit]
    records = history.as_of_records(
        as_of=as_of, states=page, annotate={"geom_json": AsGeoJSON("geom", precision=GEOJSON_PRECISION)}
    )
    features = [
        {
            "type": "Feature",
            "id": record.id,
            "geometry": json.loads(record.geom_json) if record.geom_json else None,
            "properties": {name: json_value(_value(record, path)) for name, path in properties},
        }
        for record in records
    ]
    return features, len(states)


def totals(
    *,
    as_of: dt.date,
    params: Mapping[str, Any] | None,
    shape: GEOSGeometry | None = None,
    filterset_class: type[AssetFilter] = AssetFilter,
) -> dict[str, Any]:
    """The API's aggregate (assets.query.query_totals' shape) for the register as of ``as_of``."""
    states = history.snapshot(as_of=as_of, params=params, filterset_class=filterset_class, with_geom=shape is not None)
    agencies = {a.id: a for a in Agency.objects.all()}
    by_status = dict.fromkeys(CertificateStatus.values, 0)
    by_agency: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "luas_kib_m2": Decimal(0), "nilai_perolehan": Decimal(0), "certified": 0}
    )
    for state in states:
        by_status[state.status] += 1
        row = by_agency[state.agency_id]
        row["count"] += 1
        row["luas_kib_m2"] += state.luas_kib_m2
        row["nilai_perolehan"] += state.nilai_perolehan
        row["certified"] += state.status == CertificateStatus.TERBIT
    result: dict[str, Any] = {
        "count": len(states),
        "luas_kib_m2": float(sum((s.luas_kib_m2 for s in states), Decimal(0))),
        "luas_gis_m2": float(sum((s.luas_gis_m2 or Decimal(0) for s in states), Decimal(0))),
        "nilai_perolehan": float(sum((s.nilai_perolehan for s in states), Decimal(0))),
        "by_status": by_status,
        "by_agency": [
            {
                "agency_code": agencies[pk].code,
                "agency_name": agencies[pk].name,
                "count": row["count"],
                "luas_kib_m2": float(row["luas_kib_m2"]),
                "nilai_perolehan": float(row["nilai_perolehan"]),
                "certified": row["certified"],
            }
            for pk, row in sorted(by_agency.items(), key=lambda item: agencies[item[0]].code)
        ],
        "query_area_m2": None,
        "area_inside_m2": None,
    }
    if shape is not None:
        result["query_area_m2"] = geo.geodesic_area_m2(shape) if shape.dims == 2 else 0.0
        geoms = [GEOSGeometry(memoryview(s.wkb), srid=4326) for s in states if s.wkb is not None]
        if len(geoms) <= geo.MAX_CLIPPED_ASSETS:
            result["area_inside_m2"] = round(sum(area for _g, area in geo.clip_areas(geoms, shape)), 2)
    return result
