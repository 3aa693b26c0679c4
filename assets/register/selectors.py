"""Reads from the register: querysets and the numbers built on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models import Count, Max, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from assets.register.models import (
    AdministrativeArea,
    Agency,
    Certificate,
    CertificateStageEvent,
    CertificateStatus,
    LandAsset,
)


def asset_list() -> QuerySet[LandAsset]:
    """Assets for lists and tables: related names joined, geometries left out (the asset's, and the kelurahan and
    kecamatan boundaries the join would otherwise read and parse for every row: two polygons of hundreds of points
    each, most of a list page's CPU)."""
    return LandAsset.objects.select_related("agency", "kelurahan", "kecamatan").defer(
        "geom", "kelurahan__geom", "kecamatan__geom"
    )


def asset_detail(*, pk: int) -> LandAsset:
    events = CertificateStageEvent.objects.select_related("user").order_by("tanggal", "id")
    certificates = Certificate.objects.prefetch_related(Prefetch("events", queryset=events))
    return (
        LandAsset.objects.select_related("agency", "kelurahan", "kecamatan")
        .prefetch_related(Prefetch("certificates", queryset=certificates))
        .get(pk=pk)
    )


# GeoDjango's SpatiaLite backend never consults the R*Tree that Django creates for a geometry column, so
# every spatial filter would scan the table; the parcels are pre-selected through the R*Tree explicitly
# (assets/lib/spatialite.py keeps it alive across migrations). Its float32 boxes are rounded outwards: no miss.
_RTREE_WHERE = (
    '"assets_landasset"."id" IN (SELECT pkid FROM "idx_assets_landasset_geom" '
    "WHERE xmax >= %s AND xmin <= %s AND ymax >= %s AND ymin <= %s)"
)


def intersecting(queryset: QuerySet, shape: GEOSGeometry) -> QuerySet:
    """Parcels of ``queryset`` whose geometry intersects ``shape`` (lon/lat), using the spatial index on both DBs."""
    queryset = queryset.filter(geom__intersects=shape)
    if connection.vendor == "sqlite" and queryset.model is LandAsset:
        xmin, ymin, xmax, ymax = shape.extent
        queryset = queryset.extra(where=[_RTREE_WHERE], params=[xmin, xmax, ymin, ymax])  # noqa: S610 - constant SQL
    return queryset


def live_parcels() -> QuerySet[LandAsset]:
    """The parcels of the live register: located and not removed."""
    return LandAsset.objects.filter(removed_at__isnull=True, geom__isnull=False)


@dataclass(frozen=True)
class RegisterTotals:
    count: int
    luas_kib_m2: Decimal
    luas_gis_m2: Decimal
    nilai_perolehan: Decimal
    certified: int
    located: int

    @property
    def certified_share(self) -> float:
        return self.certified / self.count if self.count else 0.0


_TOTALS = {
    "count": Count("id"),
    "luas_kib": Sum("luas_kib_m2"),
    "luas_gis": Sum("luas_gis_m2"),
    "nilai": Sum("nilai_perolehan"),
    "certified": Count("id", filter=Q(status_sertifikat=CertificateStatus.TERBIT)),
    "located": Count("id", filter=Q(geom__isnull=False)),
}


def register_totals(qs: QuerySet[LandAsset]) -> RegisterTotals:
    return _totals(qs.order_by().aggregate(**_TOTALS))


def register_totals_by_status(qs: QuerySet[LandAsset]) -> tuple[RegisterTotals, dict[str, int]]:
    """register_totals and the count per certificate status of the same rows, read in one pass."""
    by_status = {f"status_{s}": Count("id", filter=Q(status_sertifikat=s)) for s in CertificateStatus.values}
    row = qs.order_by().aggregate(**_TOTALS, **by_status)
    return _totals(row), {s: row[f"status_{s}"] for s in CertificateStatus.values}


def _totals(row: dict) -> RegisterTotals:
    return RegisterTotals(
        count=row["count"],
        luas_kib_m2=Decimal(row["luas_kib"] or 0),
        luas_gis_m2=Decimal(row["luas_gis"] or 0),
        nilai_perolehan=Decimal(row["nilai"] or 0),
        certified=row["certified"],
        located=row["located"],
    )


@dataclass(frozen=True)
class StageSpan:
    stage: str
    start: dt.date
    end: dt.date | None  # None: still in this stage
    event: CertificateStageEvent

    @property
    def days(self) -> int:
        return ((self.end or timezone.localdate()) - self.start).days


def stage_timeline(certificate: Certificate) -> list[StageSpan]:
    """Each stage the certificate went through, with how long it stayed there."""
    events = list(certificate.events.all())
    spans = []
    for i, event in enumerate(events):
        end = events[i + 1].tanggal if i + 1 < len(events) else None
        spans.append(StageSpan(stage=event.to_stage, start=event.tanggal, end=end, event=event))
    return spans


def kecamatan_list() -> QuerySet[AdministrativeArea]:
    return AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KECAMATAN).defer("geom")


def kelurahan_list() -> QuerySet[AdministrativeArea]:
    return AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN).defer("geom")


def agency_list() -> QuerySet[Agency]:
    return Agency.objects.all()


# --- Administrative boundaries: the one reader of their outlines -------------------------------------------------


@dataclass(frozen=True)
class AreaShape:
    id: int
    name: str
    code: str
    geom: shapely.Geometry  # lon/lat


_area_cache: dict[tuple, tuple[AreaShape, ...]] = {}


def area_version(level: str) -> tuple:
    """Changes whenever an area of ``level`` is added, removed or changed (count and last update)."""
    qs = AdministrativeArea.objects.filter(level=level)
    return (connection.alias, level, *qs.aggregate(n=Count("id"), last=Max("updated_at")).values())


def area_shapes(level: str) -> tuple[AreaShape, ...]:
    """Every administrative area of ``level`` (kota, kecamatan, kelurahan) with its outline, for the maps, the
    server-drawn SVGs and the import preview. Parsed once per process until an area changes (``area_version``):
    the kelurahan outlines are the heaviest rows Sipanah reads on a page."""
    key = area_version(level)
    if key not in _area_cache:
        if len(_area_cache) > 8:
            _area_cache.clear()
        qs = AdministrativeArea.objects.filter(level=level).order_by("code").annotate(wkb=AsWKB("geom"))
        _area_cache[key] = tuple(
            AreaShape(pk, name, code, shapely.from_wkb(bytes(wkb)))
            for pk, name, code, wkb in qs.values_list("id", "name", "code", "wkb")
        )
    return _area_cache[key]
