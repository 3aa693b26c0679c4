"""Audit reads: the register as of a date, the findings an annual land-asset audit looks for, the dashboard
numbers and the activity log. Reads only; removal and restore are in assets.services.

As-of rule (documented in the README, section "Audit"):

- The register "as of D" is the register as it was *recorded* at the end of day D (Asia/Makassar): for each
  asset and certificate, the latest django-simple-history record dated before D+1 00:00; a deletion record
  drops it. A removal (penghapusan) recorded by then takes the asset out of the register.
- The derived certificate status of an asset is recomputed from its certificates as of D
  (services.derive_certificate_status), never read from LandAsset.status_sertifikat, because that field is
  written with a queryset update that leaves no history row.
- Rows written with a plain bulk_create have no history. Such a row is taken to have existed in its
  current state since its created_at: this costs nothing at 1M rows and holds for any bulk loader. Once it
  is changed through the services it has history rows but no "created" one; before its first change its
  earliest recorded state stands in (its state before that change was never recorded).
  (The demo generator writes its own "created" rows with bulk_create_with_history, dated when it ran.)
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.filters import AssetFilter
from assets.geo import geodesic_area_m2
from assets.models import (
    DISPUTE_STAGES,
    AdministrativeArea,
    Agency,
    Certificate,
    CertificateStageEvent,
    CertificateStatus,
    LandAsset,
    PlottingStatus,
    Stage,
)
from assets.services import derive_certificate_status

logger = logging.getLogger(__name__)

# Defaults; each finding page lets the user change them in the URL.
STUCK_DAYS_DEFAULT = 180
AREA_TOLERANCE_PCT_DEFAULT = Decimal("1")
AREA_TOLERANCE_M2_DEFAULT = Decimal("5")
# Parcels sharing an edge "intersect"; only an overlap larger than this counts.
OVERLAP_MIN_M2_DEFAULT = 1.0
# Stages of a certification case still moving through BPN (disputes are their own finding).
PIPELINE_STAGES: tuple[str, ...] = (
    Stage.PERSIAPAN_BERKAS,
    Stage.DIAJUKAN_KE_BPN,
    Stage.PENGUKURAN,
    Stage.PETA_BIDANG_TERBIT,
    Stage.SK_HAK_TERBIT,
)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def parse_as_of(value: str | None) -> dt.date | None:
    """``as_of=YYYY-MM-DD`` from a URL; raises ValueError with a readable message."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(_("as_of must be a date written YYYY-MM-DD, got “%(value)s”.") % {"value": value}) from exc
    if day > timezone.localdate():
        raise ValueError(_("as_of %(date)s is in the future.") % {"date": day.isoformat()})
    return day


# --- Snapshots -------------------------------------------------------------------------------------------


@dataclass
class CertState:
    id: int
    asset_id: int
    jenis_hak: str
    nomor: str
    tanggal: dt.date | None
    atas_nama: str
    luas_sertifikat_m2: Decimal | None
    stage: str
    stage_since: dt.date | None


@dataclass
class AssetState:
    """An asset as it stood at the snapshot time, with its certificates then."""

    id: int
    kode_barang: str
    nomor_register: str
    nama_barang: str
    agency_id: int
    kecamatan_id: int | None
    kelurahan_id: int | None
    tahun_perolehan: int
    nilai_perolehan: Decimal
    luas_kib_m2: Decimal
    luas_gis_m2: Decimal | None
    plotting_status: str
    removed_at: dt.date | None
    removal_sk_nomor: str
    wkb: bytes | None
    certificates: list[CertState] = field(default_factory=list)
    status: str = CertificateStatus.BELUM
    tahap: str = Stage.BELUM
    bermasalah: bool = False
    # Filled by attach_related() so register templates can show a snapshot like a LandAsset.
    agency: Any = None
    kelurahan: Any = None
    kecamatan: Any = None

    @property
    def pk(self) -> int:
        return self.id

    @property
    def status_sertifikat(self) -> str:
        return self.status

    @property
    def tahap_sertifikat(self) -> str:
        return self.tahap

    def get_status_sertifikat_display(self) -> str:
        return self.get_status_display()

    def get_tahap_sertifikat_display(self) -> str:
        return self.get_tahap_display()

    @property
    def luas_sertifikat_m2(self) -> Decimal | None:
        areas = [c.luas_sertifikat_m2 for c in self.certificates if c.luas_sertifikat_m2 is not None]
        return sum(areas, Decimal(0)) if areas else None

    def get_status_display(self) -> str:
        return str(CertificateStatus(self.status).label)

    def get_tahap_display(self) -> str:
        return str(Stage(self.tahap).label)


ASSET_VALUES = (
    "id",
    "kode_barang",
    "nomor_register",
    "nama_barang",
    "agency_id",
    "kecamatan_id",
    "kelurahan_id",
    "tahun_perolehan",
    "nilai_perolehan",
    "luas_kib_m2",
    "luas_gis_m2",
    "plotting_status",
    "removed_at",
    "removal_sk_nomor",
)
CERT_VALUES = (
    "id",
    "asset_id",
    "jenis_hak",
    "nomor",
    "tanggal",
    "atas_nama",
    "luas_sertifikat_m2",
    "stage",
    "stage_since",
)


def _latest_history(model: Any, before: dt.datetime) -> QuerySet:
    """The latest history row of each object dated before ``before``, deletions dropped."""
    history = model.history.model
    later = history.objects.filter(
        id=OuterRef("id"), history_date__lt=before, history_date__gt=OuterRef("history_date")
    )
    return history.objects.filter(history_date__lt=before).filter(~Exists(later)).exclude(history_type="-")


def _without_history(model: Any, before: dt.datetime) -> QuerySet:
    history = model.history.model
    return model.objects.filter(created_at__lt=before).filter(~Exists(history.objects.filter(id=OuterRef("id"))))


def _first_history_after(model: Any, before: dt.datetime) -> QuerySet:
    """Rows bulk-created without history and changed only after ``before``: their earliest recorded state
    stands in for the unrecorded state at ``before`` (the closest one known)."""
    history = model.history.model
    earlier = history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
    created = history.objects.filter(id=OuterRef("id"), history_type="+")
    return (
        history.objects.filter(history_date__gte=before, created_at__lt=before)
        .filter(~Exists(earlier), ~Exists(created))
        .exclude(history_type="-")
    )


def _as_of_sources(model: Any, as_of: dt.date) -> list[QuerySet]:
    before = end_of_day(as_of)
    return [_latest_history(model, before), _without_history(model, before), _first_history_after(model, before)]


def asset_querysets(as_of: dt.date | None) -> list[QuerySet]:
    """The querysets whose rows together are the register at ``as_of`` (now when None)."""
    if as_of is None:
        return [LandAsset.objects.all()]
    return _as_of_sources(LandAsset, as_of)


def certificate_querysets(as_of: dt.date | None) -> list[QuerySet]:
    """The querysets whose rows together are the certificates at ``as_of`` (now when None)."""
    if as_of is None:
        return [Certificate.objects.all()]
    return _as_of_sources(Certificate, as_of)


def certificate_rows(as_of: dt.date | None, asset_ids: set[int] | None = None) -> Iterator[dict[str, Any]]:
    for qs in certificate_querysets(as_of):
        for row in qs.order_by().values(*CERT_VALUES).iterator(chunk_size=5000):
            if asset_ids is None or row["asset_id"] in asset_ids:
                yield row


class FilterError(ValueError):
    """The register filter in the URL is not valid; the message names the fields."""


def _filter_params(params: Mapping[str, Any] | None) -> tuple[QueryDict, set[str], set[str]]:
    """Split the AssetFilter parameters: status and stage are applied after the as-of status is derived."""
    data = QueryDict(mutable=True)
    statuses: set[str] = set()
    stages: set[str] = set()
    if params is None:
        return data, statuses, stages
    for key in params:
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        if key == "status":
            statuses.update(v for v in values if v)
        elif key == "tahap":
            stages.update(v for v in values if v)
        elif key not in ("as_of", "page", "format"):
            data.setlist(key, values)
    unknown = sorted((statuses - set(CertificateStatus.values)) | (stages - set(Stage.values)))
    if unknown:
        raise FilterError(_("Unknown certificate status or stage: %(values)s.") % {"values": ", ".join(unknown)})
    return data, statuses, stages


def snapshot(
    *,
    as_of: dt.date | None = None,
    params: Mapping[str, Any] | None = None,
    with_geom: bool = False,
    filterset_class: type[AssetFilter] = AssetFilter,
    refine: Callable[[QuerySet], QuerySet] | None = None,
) -> list[AssetState]:
    """The register at ``as_of`` (now when None), filtered by the register's AssetFilter parameters (or those
    of a subclass such as the API's SpatialAssetFilter); ``refine`` adds a caller's own filters (OGC's bbox
    and datetime) to each source queryset."""
    data, statuses, stages = _filter_params(params)
    assets: dict[int, AssetState] = {}
    values = ASSET_VALUES + (("wkb",) if with_geom else ())
    for base in asset_querysets(as_of):
        asset_filter = filterset_class(data, queryset=refine(base) if refine else base)
        if not asset_filter.is_valid():
            raise FilterError("; ".join(f"{k}: {' '.join(v)}" for k, v in asset_filter.errors.items()))
        qs = asset_filter.qs.order_by()
        if with_geom:
            qs = qs.annotate(wkb=AsWKB("geom"))
        for row in qs.values(*values).iterator(chunk_size=5000):
            wkb = row.pop("wkb", None)
            assets[row["id"]] = AssetState(wkb=bytes(wkb) if wkb is not None else None, **row)
    for row in certificate_rows(as_of, set(assets)):
        assets[row["asset_id"]].certificates.append(CertState(**row))
    result = []
    for asset in assets.values():
        asset.status, asset.tahap, asset.bermasalah = derive_certificate_status(
            (c.stage, bool(c.nomor)) for c in asset.certificates
        )
        if statuses and asset.status not in statuses:
            continue
        if stages and asset.tahap not in stages:
            continue
        result.append(asset)
    result.sort(key=lambda a: (a.kode_barang, a.nomor_register))
    return result


class AsOfRecord:
    """One asset of the register as of a date with every column (history rows carry them all): reads like a
    LandAsset, so the exports write it unchanged. The certificate status is the one derived as of the date."""

    def __init__(self, row: Any, state: AssetState, certificates: list[Any]) -> None:
        self._row = row
        self.status_sertifikat = state.status
        self.tahap_sertifikat = state.tahap
        self.bermasalah = state.bermasalah
        self._certificates = certificates

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)

    @property
    def certificates(self) -> AsOfRecord:
        return self

    def all(self) -> list[Any]:  # asset.certificates.all(), as on a LandAsset
        return self._certificates


def as_of_records(
    *,
    as_of: dt.date,
    params: Mapping[str, Any] | None = None,
    chunk: int = 500,
    states: list[AssetState] | None = None,
    annotate: Mapping[str, Any] | None = None,
) -> Iterator[AsOfRecord]:
    """The register as of ``as_of`` (filtered like snapshot()), every column and the geometry, in register
    order. Built on snapshot() and the same as-of querysets, fetched again in chunks for the full rows. The
    snapshot is taken at once, so a bad filter raises FilterError here rather than halfway through a file.
    ``states`` (a snapshot already taken, e.g. one page of it) replaces the snapshot; ``annotate`` is added to
    the row querysets (the API's GeoJSON text)."""
    if states is None:
        states = snapshot(as_of=as_of, params=params)
    return _as_of_full_rows(as_of, states, chunk, dict(annotate or {}))


def _as_of_full_rows(
    as_of: dt.date, states: list[AssetState], chunk: int, annotate: dict[str, Any]
) -> Iterator[AsOfRecord]:
    for start in range(0, len(states), chunk):
        part = {s.id: s for s in states[start : start + chunk]}
        rows: dict[int, Any] = {}
        for base in asset_querysets(as_of):
            qs = base.filter(id__in=list(part)).select_related("agency", "kelurahan", "kecamatan")
            for row in qs.annotate(**annotate) if annotate else qs:
                rows[row.id] = row
        certificates: dict[int, list[Any]] = defaultdict(list)
        for base in certificate_querysets(as_of):
            for cert in base.filter(asset_id__in=list(part)):
                certificates[cert.asset_id].append(cert)
        for pk, state in part.items():
            yield AsOfRecord(rows[pk], state, sorted(certificates[pk], key=lambda c: c.id))


@dataclass(frozen=True)
class Names:
    agencies: dict[int, str]
    areas: dict[int, str]

    def agency(self, pk: int | None) -> str:
        return self.agencies.get(pk, "—") if pk else "—"

    def area(self, pk: int | None) -> str:
        return self.areas.get(pk, "—") if pk else "—"


def attach_related(assets: Iterable[AssetState]) -> None:
    agencies = {a.id: a for a in Agency.objects.all()}
    areas = {a.id: a for a in AdministrativeArea.objects.defer("geom")}
    for asset in assets:
        asset.agency = agencies.get(asset.agency_id)
        asset.kelurahan = areas.get(asset.kelurahan_id)
        asset.kecamatan = areas.get(asset.kecamatan_id)


def snapshot_totals(assets: list[AssetState]) -> Any:
    from assets.selectors import RegisterTotals

    return RegisterTotals(
        count=len(assets),
        luas_kib_m2=sum((a.luas_kib_m2 for a in assets), Decimal(0)),
        luas_gis_m2=sum((a.luas_gis_m2 or Decimal(0) for a in assets), Decimal(0)),
        nilai_perolehan=sum((a.nilai_perolehan for a in assets), Decimal(0)),
        certified=sum(1 for a in assets if a.status == CertificateStatus.TERBIT),
        located=sum(1 for a in assets if a.plotting_status != PlottingStatus.UNKNOWN),
    )


def names() -> Names:
    return Names(
        agencies=dict(Agency.objects.values_list("id", "name")),
        areas=dict(AdministrativeArea.objects.values_list("id", "name")),
    )


# --- Findings --------------------------------------------------------------------------------------------


@dataclass
class FindingRow:
    asset: AssetState
    detail: str
    values: dict[str, Any] = field(default_factory=dict)
    other: AssetState | None = None  # the second asset of an overlap


@dataclass(frozen=True)
class FindingSpec:
    slug: str
    title: Any
    description: Any
    columns: tuple[tuple[str, Any], ...]  # extra value columns: (key, label)


FINDINGS: dict[str, FindingSpec] = {
    spec.slug: spec
    for spec in (
        FindingSpec(
            "uncertified",
            _("Uncertified assets"),
            _("Assets with no issued certificate, by agency and kecamatan."),
            (("tahap", _("Stage")),),
        ),
        FindingSpec(
            "stuck",
            _("Certification cases stuck in a stage"),
            _("Certificates in a BPN pipeline stage for longer than the given number of days."),
            (("stage", _("Stage")), ("since", _("Since")), ("days", _("Days"))),
        ),
        FindingSpec(
            "area-mismatch",
            _("Area mismatch"),
            _(
                "KIB, certificate and GIS areas differing by more than the tolerance "
                "(the larger of a percentage and m²)."
            ),
            (("luas_kib", _("KIB (m²)")), ("luas_sertifikat", _("Certificate (m²)")), ("luas_gis", _("GIS (m²)"))),
        ),
        FindingSpec(
            "overlaps",
            _("Overlapping assets"),
            _("Pairs of assets whose geometries overlap, with the overlap area (geodesic)."),
            (("other", _("Overlaps with")), ("overlap_m2", _("Overlap (m²)"))),
        ),
        FindingSpec(
            "outside",
            _("Outside the city boundary"),
            _("Assets whose geometry lies wholly or partly outside the boundary of Kota Balikpapan."),
            (("outside_m2", _("Area outside (m²)")),),
        ),
        FindingSpec(
            "location",
            _("Without location or approximate"),
            _("Assets without a geometry, or with an approximately plotted one."),
            (("plotting", _("Plotting status")),),
        ),
        FindingSpec(
            "holder",
            _("Certificates not in the name of the city"),
            _("Certificates whose holder (atas nama) is not the Pemerintah Kota Balikpapan."),
            (("certificate", _("Certificate")), ("atas_nama", _("In the name of"))),
        ),
        FindingSpec(
            "disputes",
            _("Assets in dispute"),
            _("Assets with a certificate in dispute (SENGKETA) or blocked (DIBLOKIR)."),
            (("stage", _("Stage")), ("since", _("Since"))),
        ),
    )
}


@dataclass(frozen=True)
class FindingOptions:
    stuck_days: int = STUCK_DAYS_DEFAULT
    tolerance_pct: Decimal = AREA_TOLERANCE_PCT_DEFAULT
    tolerance_m2: Decimal = AREA_TOLERANCE_M2_DEFAULT
    overlap_min_m2: float = OVERLAP_MIN_M2_DEFAULT

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> FindingOptions:
        def number(key: str, kind: type, default: Any, minimum: Any, maximum: Any) -> Any:
            raw = params.get(key)
            if raw in (None, ""):
                return default
            try:
                value = kind(str(raw).strip())
                if not math.isfinite(value):  # NaN and Infinity: comparing or printing them fails
                    raise ValueError(raw)
            except (ValueError, ArithmeticError) as exc:
                raise ValueError(_("%(key)s must be a number, got “%(value)s”.") % {"key": key, "value": raw}) from exc
            if value < minimum:
                raise ValueError(_("%(key)s must be at least %(min)s.") % {"key": key, "min": minimum})
            if value > maximum:  # beyond these the date and area arithmetic overflows (found by fuzzing)
                raise ValueError(_("%(key)s must be at most %(max)s.") % {"key": key, "max": maximum})
            return value

        return cls(
            stuck_days=number("days", int, STUCK_DAYS_DEFAULT, 0, 36500),
            tolerance_pct=number("tol_pct", Decimal, AREA_TOLERANCE_PCT_DEFAULT, 0, 100),
            tolerance_m2=number("tol_m2", Decimal, AREA_TOLERANCE_M2_DEFAULT, 0, 10**9),
            overlap_min_m2=number("min_overlap", float, OVERLAP_MIN_M2_DEFAULT, 0, 10**9),
        )


def _fmt_m2(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def find_uncertified(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    return [
        FindingRow(a, a.get_status_display(), {"tahap": a.get_tahap_display()})
        for a in assets
        if a.status == CertificateStatus.BELUM
    ]


def find_stuck(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    rows = []
    for a in assets:
        for c in a.certificates:
            if c.stage in PIPELINE_STAGES and c.stage_since and (today - c.stage_since).days > options.stuck_days:
                days = (today - c.stage_since).days
                rows.append(
                    FindingRow(
                        a,
                        str(Stage(c.stage).label),
                        {"stage": str(Stage(c.stage).label), "since": c.stage_since, "days": days},
                    )
                )
    rows.sort(key=lambda r: -r.values["days"])
    return rows


def area_tolerance(a: Decimal, b: Decimal, options: FindingOptions) -> Decimal:
    """The larger of tolerance_pct % of the larger area and tolerance_m2."""
    return max(max(a, b) * options.tolerance_pct / 100, options.tolerance_m2)


def find_area_mismatch(
    assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None
) -> list[FindingRow]:
    rows = []
    for a in assets:
        areas = {"KIB": a.luas_kib_m2, _("certificate"): a.luas_sertifikat_m2, "GIS": a.luas_gis_m2}
        present = [(k, Decimal(v)) for k, v in areas.items() if v is not None]
        problems = []
        for i, (name_a, va) in enumerate(present):
            for name_b, vb in present[i + 1 :]:
                diff = abs(va - vb)
                if diff > area_tolerance(va, vb, options):
                    problems.append(f"{name_a}–{name_b}: {_fmt_m2(diff)} m²")
        if problems:
            values = {"luas_kib": a.luas_kib_m2, "luas_sertifikat": a.luas_sertifikat_m2, "luas_gis": a.luas_gis_m2}
            rows.append(FindingRow(a, "; ".join(problems), values))
    return rows


# Overlaps: a spatial join through the spatial index on both databases. GeoDjango's SpatiaLite lookups never
# use the R*Tree, so the SQL is written by hand for each backend (tech notes §4.2).
_OVERLAP_SQL_POSTGIS = """
SELECT a.id, b.id, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area
FROM assets_landasset a JOIN assets_landasset b ON a.geom && b.geom AND a.id < b.id AND ST_Intersects(a.geom, b.geom)
WHERE a.removed_at IS NULL AND b.removed_at IS NULL AND NOT ST_Touches(a.geom, b.geom)
"""
_OVERLAP_SQL_SPATIALITE = """
SELECT a.id, b.id, AsBinary(ST_Intersection(a.geom, b.geom))
FROM assets_landasset a JOIN assets_landasset b ON b.id IN (
    SELECT pkid FROM idx_assets_landasset_geom
    WHERE xmin <= MbrMaxX(a.geom) AND xmax >= MbrMinX(a.geom) AND ymin <= MbrMaxY(a.geom) AND ymax >= MbrMinY(a.geom)
) AND a.id < b.id
WHERE a.geom IS NOT NULL AND a.removed_at IS NULL AND b.removed_at IS NULL
  AND ST_Intersects(a.geom, b.geom) = 1 AND ST_Touches(a.geom, b.geom) = 0
"""


def spatialite_index_ready(conn: Any = connection) -> bool:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT spatial_index_enabled FROM geometry_columns "
            "WHERE f_table_name = 'assets_landasset' AND f_geometry_column = 'geom'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def overlap_pairs_sql(min_m2: float = OVERLAP_MIN_M2_DEFAULT) -> list[tuple[int, int, float]]:
    """(id_a, id_b, overlap m²) of the current register, a.id < b.id, through the spatial index."""
    if connection.vendor != "postgresql" and not spatialite_index_ready():
        # A table rebuild left the R*Tree disabled and assets.spatialite.ensure_spatial_indexes (post_migrate)
        # has not run since: stay correct, in memory.
        logger.warning("SpatiaLite spatial index of assets_landasset.geom is disabled; overlaps computed in memory")
        return overlap_pairs_snapshot(snapshot(with_geom=True), min_m2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_OVERLAP_SQL_POSTGIS)
            pairs = [(a, b, float(area)) for a, b, area in cursor.fetchall()]
        else:
            cursor.execute(_OVERLAP_SQL_SPATIALITE)
            pairs = []
            for a, b, wkb in cursor.fetchall():
                area = _wkb_area(wkb)
                pairs.append((a, b, area))
    return [p for p in pairs if p[2] > min_m2]


def _wkb_area(wkb: bytes | None) -> float:
    if not wkb:
        return 0.0
    geom = shapely.from_wkb(bytes(wkb))
    polygons = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        return 0.0
    from django.contrib.gis.geos import GEOSGeometry

    return sum(geodesic_area_m2(GEOSGeometry(memoryview(shapely.to_wkb(p)), srid=4326)) for p in polygons)


def overlap_pairs_snapshot(assets: list[AssetState], min_m2: float) -> list[tuple[int, int, float]]:
    """The same join on a past snapshot, in memory through shapely's STRtree (history has no spatial index)."""
    located = [a for a in assets if a.wkb]
    if not located:
        return []
    geoms = shapely.from_wkb([a.wkb for a in located])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        a, b = located[i], located[j]
        if a.id >= b.id or shapely.touches(geoms[i], geoms[j]):
            continue
        area = _wkb_area(shapely.to_wkb(shapely.intersection(geoms[i], geoms[j])))
        if area > min_m2:
            pairs.append((a.id, b.id, area))
    return pairs


def find_overlaps(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    by_id = {a.id: a for a in assets}
    if as_of is None:
        pairs = [p for p in overlap_pairs_sql(options.overlap_min_m2) if p[0] in by_id or p[1] in by_id]
        missing = {i for p in pairs for i in p[:2] if i not in by_id}
        if missing:  # the partner of a filtered-in asset, outside the filter: show it anyway
            qs = LandAsset.objects.filter(id__in=missing).annotate(wkb=AsWKB("geom")).order_by()
            for row in qs.values(*ASSET_VALUES, "wkb"):
                wkb = row.pop("wkb")
                by_id[row["id"]] = AssetState(wkb=bytes(wkb) if wkb is not None else None, **row)
    else:
        pairs = overlap_pairs_snapshot(assets, options.overlap_min_m2)
    rows = []
    for id_a, id_b, area in sorted(pairs, key=lambda p: -p[2]):
        a, b = by_id[id_a], by_id[id_b]
        other = f"{b.kode_barang}/{b.nomor_register} {b.nama_barang}"
        rows.append(FindingRow(a, f"{_fmt_m2(area)} m²", {"other": other, "overlap_m2": round(area, 2)}, other=b))
    return rows


def city_boundary() -> shapely.Geometry | None:
    kota = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KOTA).annotate(wkb=AsWKB("geom"))
    geoms = [shapely.from_wkb(bytes(w)) for w in kota.values_list("wkb", flat=True)]
    if not geoms:
        return None
    return shapely.union_all(geoms)


def find_outside(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    boundary = city_boundary()
    located = [a for a in assets if a.wkb]
    if boundary is None or not located:
        return []
    shapely.prepare(boundary)
    geoms = shapely.from_wkb([a.wkb for a in located])
    inside = shapely.covers(boundary, geoms)
    rows = []
    for asset, geom, ok in zip(located, geoms, inside.tolist(), strict=True):
        if ok:
            continue
        outside_area = _wkb_area(shapely.to_wkb(shapely.difference(geom, boundary)))
        detail = _("wholly outside") if not shapely.intersects(boundary, geom) else _("partly outside")
        rows.append(FindingRow(asset, str(detail), {"outside_m2": round(outside_area, 2)}))
    return rows


def find_location(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    return [
        FindingRow(
            a, str(PlottingStatus(a.plotting_status).label), {"plotting": PlottingStatus(a.plotting_status).label}
        )
        for a in assets
        if a.plotting_status != PlottingStatus.LOCATED
    ]


_HOLDER_REWRITES = (
    (r"\bPEMKOT\b", "PEMERINTAH KOTA"),
    (r"\bPEMDA\b", "PEMERINTAH"),
    (r"\bPEMERINTAH DAERAH\b", "PEMERINTAH"),
    (r"\bKOTAMADYA\b", "KOTA"),
    (r"\bKODYA\b", "KOTA"),
    (r"\bDAERAH TINGKAT II\b|\bDATI II\b|\bDT II\b", " "),
)


def normalise_holder(name: str) -> str:
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().upper()
    text = re.sub(r"[^A-Z0-9 ]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    for pattern, replacement in _HOLDER_REWRITES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def is_city_holder(name: str) -> bool:
    """Whether a certificate's atas nama is the city: "Pemerintah Kota Balikpapan", "Pemkot Balikpapan",
    "PEMERINTAH KOTAMADYA DAERAH TINGKAT II BALIKPAPAN", "Pemerintah Kota Balikpapan c.q. Dinas ..."."""
    return "PEMERINTAH KOTA BALIKPAPAN" in normalise_holder(name)


def find_holder(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    rows = []
    for a in assets:
        for c in a.certificates:
            if not c.nomor or is_city_holder(c.atas_nama):
                continue
            label = f"{c.jenis_hak} {c.nomor}".strip()
            detail = c.atas_nama or str(_("holder not recorded"))
            rows.append(FindingRow(a, detail, {"certificate": label, "atas_nama": c.atas_nama or "—"}))
    return rows


def find_disputes(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    rows = []
    for a in assets:
        for c in a.certificates:
            if c.stage in DISPUTE_STAGES:
                label = str(Stage(c.stage).label)
                rows.append(FindingRow(a, label, {"stage": label, "since": c.stage_since}))
    return rows


_FINDERS = {
    "uncertified": find_uncertified,
    "stuck": find_stuck,
    "area-mismatch": find_area_mismatch,
    "overlaps": find_overlaps,
    "outside": find_outside,
    "location": find_location,
    "holder": find_holder,
    "disputes": find_disputes,
}


def run_finding(
    slug: str, assets: list[AssetState], *, options: FindingOptions | None = None, as_of: dt.date | None = None
) -> list[FindingRow]:
    return _FINDERS[slug](assets, options or FindingOptions(), as_of)


def run_all(
    assets: list[AssetState], *, options: FindingOptions | None = None, as_of: dt.date | None = None
) -> dict[str, list[FindingRow]]:
    return {slug: run_finding(slug, assets, options=options, as_of=as_of) for slug in FINDINGS}


def uncertified_by_agency_kecamatan(rows: list[FindingRow], n: Names) -> list[tuple[str, str, int, Decimal]]:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        key = (n.agency(row.asset.agency_id), n.area(row.asset.kecamatan_id))
        groups[key][0] += 1
        groups[key][1] += row.asset.luas_kib_m2
    return sorted(((a, k, c, m) for (a, k), (c, m) in groups.items()), key=lambda r: (-r[2], r[0], r[1]))


# --- Dashboard ------------------------------------------------------------------------------------------


@dataclass
class Cell:
    count: int = 0
    luas_m2: Decimal = Decimal(0)
    nilai: Decimal = Decimal(0)

    def add(self, asset: AssetState) -> None:
        self.count += 1
        self.luas_m2 += asset.luas_kib_m2
        self.nilai += asset.nilai_perolehan


def breakdown(assets: Iterable[AssetState], key: str, n: Names) -> list[tuple[str, dict[str, Cell], Cell]]:
    """Rows of (kecamatan or agency name, cells per certificate status, row total)."""
    table: dict[str, dict[str, Cell]] = defaultdict(lambda: {s: Cell() for s in CertificateStatus.values})
    for a in assets:
        label = n.area(a.kecamatan_id) if key == "kecamatan" else n.agency(a.agency_id)
        table[label][a.status].add(a)
    rows = []
    for label in sorted(table):
        total = Cell()
        for cell in table[label].values():
            total.count += cell.count
            total.luas_m2 += cell.luas_m2
            total.nilai += cell.nilai
        rows.append((label, table[label], total))
    return rows


def certification_progress(as_of: dt.date | None = None) -> list[tuple[int, int, int]]:
    """Per year: (year, cases started that year, certificates issued that year), from the stage events."""
    events = CertificateStageEvent.objects.all()
    if as_of:
        events = events.filter(tanggal__lte=as_of, created_at__lt=end_of_day(as_of))
    started: dict[int, int] = defaultdict(int)
    issued: dict[int, int] = defaultdict(int)
    for from_stage, to_stage, tanggal in events.values_list("from_stage", "to_stage", "tanggal").iterator():
        if to_stage == Stage.SERTIFIKAT_TERBIT:
            issued[tanggal.year] += 1
        elif from_stage in ("", Stage.BELUM) and to_stage != Stage.BELUM:
            started[tanggal.year] += 1
    years = sorted(set(started) | set(issued))
    return [(y, started[y], issued[y]) for y in years]


# --- Activity log ---------------------------------------------------------------------------------------


@dataclass
class Activity:
    when: dt.datetime
    kind: str  # asset, certificate, stage
    action: str
    asset_id: int | None
    object_label: str
    user: str
    changes: list[tuple[str, str, str]]  # (field, before, after)
    note: str = ""


_HISTORY_ACTIONS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}
_SKIP_FIELDS = {"version"}


def _field_label(model: Any, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a field gone from the model still shows by name
        return name


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "wkt"):
        return _("geometry (%(n)s points)") % {"n": value.num_points}
    return str(value)


def _chunks(qs: QuerySet, size: int = 500) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in qs.iterator(chunk_size=size):
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _history_activities(model: Any, qs: QuerySet, kind: str) -> Iterator[Activity]:
    history = model.history.model
    # The previous record of each row, fetched per chunk in two queries (record.prev_record is one query per row).
    previous_id = (
        history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    qs = qs.select_related("history_user").annotate(previous_id=Subquery(previous_id))
    for chunk in _chunks(qs):
        wanted = [r.previous_id for r in chunk if r.history_type == "~" and r.previous_id]
        previous_rows = history.objects.in_bulk(wanted) if wanted else {}
        yield from _history_chunk(model, chunk, previous_rows, kind)


def _history_chunk(model: Any, chunk: list[Any], previous_rows: dict[int, Any], kind: str) -> Iterator[Activity]:
    for record in chunk:
        changes: list[tuple[str, str, str]] = []
        if record.history_type == "~":
            previous = previous_rows.get(record.previous_id)
            if previous is not None:
                delta = record.diff_against(previous, excluded_fields=_SKIP_FIELDS)
                changes = [(_field_label(model, c.field), _show(c.old), _show(c.new)) for c in delta.changes]
        asset_id = record.id if kind == "asset" else record.asset_id
        user = record.history_user.get_username() if record.history_user else ""
        yield Activity(
            when=record.history_date,
            kind=kind,
            action=str(_HISTORY_ACTIONS.get(record.history_type, record.history_type)),
            asset_id=asset_id,
            object_label=str(record.instance) if kind == "asset" else f"{_('certificate')} #{record.id}",
            user=user,
            changes=changes,
            note=record.history_change_reason or "",
        )


def _event_activities(qs: QuerySet) -> Iterator[Activity]:
    for event in qs.select_related("user", "certificate").iterator(chunk_size=500):
        before = Stage(event.from_stage).label if event.from_stage else "—"
        note = " ".join(x for x in (event.nomor_dokumen, event.catatan) if x)
        yield Activity(
            when=event.created_at,
            kind="stage",
            action=str(_("stage changed")),
            asset_id=event.certificate.asset_id,
            object_label=f"{_('certificate')} #{event.certificate_id}",
            user=event.user.get_username() if event.user else "",
            changes=[(str(_("stage")), str(before), f"{Stage(event.to_stage).label} ({event.tanggal.isoformat()})")],
            note=note,
        )


@dataclass(frozen=True)
class LogFilter:
    asset_id: int | None = None
    user: str = ""
    kind: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LogFilter:
        def day(key: str) -> dt.date | None:
            raw = (params.get(key) or "").strip()
            if not raw:
                return None
            try:
                return dt.date.fromisoformat(raw)
            except ValueError as exc:
                raise ValueError(_("%(key)s must be a date written YYYY-MM-DD.") % {"key": key}) from exc

        raw_asset = (params.get("asset") or "").strip()
        if raw_asset and not raw_asset.isdigit():
            raise ValueError(_("asset must be an asset number."))
        kind = (params.get("kind") or "").strip()
        if kind and kind not in ("asset", "certificate", "stage"):
            raise ValueError(_("kind must be asset, certificate or stage."))
        return cls(
            asset_id=int(raw_asset) if raw_asset else None,
            user=(params.get("user") or "").strip(),
            kind=kind,
            date_from=day("from"),
            date_to=day("to"),
        )


def activity_log(flt: LogFilter, *, limit: int | None = None) -> list[Activity]:
    """Every recorded change, newest first: asset and certificate history and the stage events."""
    asset_qs = LandAsset.history.all()
    cert_qs = Certificate.history.all()
    event_qs = CertificateStageEvent.objects.all()
    if flt.asset_id is not None:
        asset_qs = asset_qs.filter(id=flt.asset_id)
        cert_qs = cert_qs.filter(asset_id=flt.asset_id)
        event_qs = event_qs.filter(certificate__asset_id=flt.asset_id)
    if flt.user:
        asset_qs = asset_qs.filter(history_user__username=flt.user)
        cert_qs = cert_qs.filter(history_user__username=flt.user)
        event_qs = event_qs.filter(user__username=flt.user)
    if flt.date_from:
        start = end_of_day(flt.date_from - dt.timedelta(days=1))
        asset_qs, cert_qs = asset_qs.filter(history_date__gte=start), cert_qs.filter(history_date__gte=start)
        event_qs = event_qs.filter(created_at__gte=start)
    if flt.date_to:
        end = end_of_day(flt.date_to)
        asset_qs, cert_qs = asset_qs.filter(history_date__lt=end), cert_qs.filter(history_date__lt=end)
        event_qs = event_qs.filter(created_at__lt=end)
    sources = []
    if flt.kind in ("", "asset"):
        sources.append(
            _history_activities(LandAsset, asset_qs.order_by("-history_date", "-history_id")[:limit], "asset")
        )
    if flt.kind in ("", "certificate"):
        sources.append(
            _history_activities(Certificate, cert_qs.order_by("-history_date", "-history_id")[:limit], "certificate")
        )
    if flt.kind in ("", "stage"):
        sources.append(_event_activities(event_qs.order_by("-created_at", "-id")[:limit]))
    merged = heapq.merge(*sources, key=lambda a: a.when, reverse=True)
    result = []
    for activity in merged:
        result.append(activity)
        if limit is not None and len(result) >= limit:
            break
    return result
