"""The findings an annual land-asset audit looks for, on a snapshot of the register (assets.register.history).

Each finder takes the snapshot's AssetStates and returns FindingRows; FINDINGS describes them for the pages,
exports and the PDF. Reads only."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKB
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.encumbrance import selectors as encumbrance
from assets.encumbrance.models import CaseKind, CaseStage, UtilisationForm
from assets.evidence import selectors as evidence
from assets.evidence.models import CustodyEvent, DocumentType
from assets.field import selectors as field_results
from assets.lib import formats
from assets.register import place
from assets.register.geo import geodesic_area_m2
from assets.register.history import ASSET_VALUES, AssetState, AssetStates, Names, snapshot
from assets.register.models import (
    DISPUTE_STAGES,
    AdministrativeArea,
    AsalUsul,
    CertificateStatus,
    LandAsset,
    PlottingStatus,
    Stage,
)

logger = logging.getLogger(__name__)

# Defaults; each finding page lets the user change them in the URL.
STUCK_DAYS_DEFAULT = 180
# The area tolerances come from settings (docs/audit.md, "Area tolerances"), read when asked:
# SIPANAH_AREA_TOLERANCE_PCT / _M2: certificate (or KIB) area against the GIS area, the larger of the two;
# SIPANAH_KIB_AREA_TOLERANCE_M2: the KIB area against the issued certificates' area (the KIB copies it).
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


# The encumbrance room's findings (assets.encumbrance: dispute/occupation cases and pemanfaatan).
ENCUMBRANCE_FINDINGS: tuple[FindingSpec, ...] = (
    FindingSpec(
        "open-cases",
        _("Open dispute and occupation cases"),
        _("Cases not yet settled or stopped, by kind and age (days since the case was opened)."),
        (("kind", _("Kind")), ("stage", _("Stage")), ("opened", _("Opened")), ("age_days", _("Age (days)"))),
    ),
    FindingSpec(
        "hearings",
        _("Court hearings within 14 days"),
        _("Open cases with a hearing date from the reference date to 14 days later."),
        (("hearing", _("Next hearing")), ("court_numbers", _("Court case numbers")),
         ("officer", _("Responsible officer"))),
    ),
    FindingSpec(
        "expired-in-use",
        _("Utilisation expired but land still marked as used"),
        _("Pemanfaatan agreements past their end date whose status is still active or extended."),
        (("agreement", _("Agreement")), ("partner", _("Partner")), ("end", _("End")), ("days", _("Days past"))),
    ),
    FindingSpec(
        "occupied-without-agreement",
        _("Occupied land without any pemanfaatan"),
        _("Assets with an open occupation case (dikuasai pihak lain) and no pemanfaatan agreement at all."),
        (("opened", _("Opened")), ("parties", _("Other parties"))),
    ),
    FindingSpec(
        "payments-overdue",
        _("Utilisation payments overdue"),
        _("Payment schedule rows due before the reference date and not paid in full, with the amount outstanding."),
        (("agreement", _("Agreement")), ("due_date", _("Due date")), ("amount_due", _("Amount due (Rp)")),
         ("outstanding", _("Outstanding (Rp)")), ("days", _("Days overdue"))),
    ),
    FindingSpec(
        "utilised-over-parcel",
        _("Utilised area exceeding the parcel"),
        _("Assets whose agreements in use together cover more area than the parcel (GIS area, else KIB area), "
          "beyond the area tolerance."),
        (("used_m2", _("Used (m²)")), ("parcel_m2", _("Parcel (m²)")), ("excess_m2", _("Excess (m²)"))),
    ),
)  # fmt: skip

FINDINGS: dict[str, FindingSpec] = {
    spec.slug: spec
    for spec in (
        FindingSpec(
            "uncertified",
            _("Uncertified assets"),
            _("Assets with no issued certificate, by agency and kecamatan."),
            (("tahap", _("Stage")), ("luas_kib", _("KIB (m²)")), ("nilai", _("Acquisition value (Rp)"))),
        ),
        FindingSpec(
            "stuck",
            _("Certification cases stuck in a stage"),
            _("Certificates in a BPN pipeline stage for longer than the given number of days."),
            (("stage", _("Stage")), ("since", _("Since")), ("days", _("Days"))),
        ),
        FindingSpec(
            "area-mismatch",
            _("Area mismatch with the GIS"),
            _(
                "The certificate area (the KIB area when no certificate states one) differs from the parcel's "
                "geodesic GIS area by more than the tolerance: the larger of a percentage of that area and m²."
            ),
            (
                ("compared", _("Compared")),
                ("luas_sertifikat", _("Certificate (m²)")),
                ("luas_kib", _("KIB (m²)")),
                ("luas_gis", _("GIS (m²)")),
                ("diff_m2", _("Difference (m²)")),
                ("diff_pct", _("Difference (%)")),
            ),
        ),
        FindingSpec(
            "kib-area",
            _("KIB area differs from the certificate"),
            _(
                "The area in the KIB differs from the area of the issued certificates by more than the tolerance "
                "(the KIB copies the certificate: a correction of the register, not a field visit)."
            ),
            (
                ("certificate", _("Certificate")),
                ("luas_kib", _("KIB (m²)")),
                ("luas_sertifikat", _("Certificate (m²)")),
                ("diff_m2", _("Difference (m²)")),
            ),
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
            _("Assets whose geometry lies wholly or partly outside the city's boundary."),
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
            _("Certificates whose holder (atas nama) is not the city government."),
            (("certificate", _("Certificate")), ("atas_nama", _("In the name of"))),
        ),
        FindingSpec(
            "disputes",
            _("Assets in dispute"),
            _("Assets with a certificate in dispute (SENGKETA) or blocked (DIBLOKIR)."),
            (("stage", _("Stage")), ("since", _("Since"))),
        ),
        FindingSpec(
            "documents",
            _("Documents incomplete"),
            _(
                "Assets missing a document the checklist asks for an asset of their origin and certificate stage "
                "(the checklist is BPKAD's, in the admin)."
            ),
            (("origin", _("Origin")), ("missing", _("Missing")), ("present", _("Present"))),
        ),
        FindingSpec(
            "custody",
            _("Original certificate not in custody or overdue"),
            _(
                "Issued certificates whose original was never put in a storage place, or is out on a loan past its "
                "due date."
            ),
            (
                ("certificate", _("Certificate")),
                ("custody", _("Custody")),
                ("due", _("Due back")),
                ("days", _("Days overdue")),
            ),
        ),  # fmt: skip
        *ENCUMBRANCE_FINDINGS,
        FindingSpec(
            "not-inventoried",
            _("Not inventoried in 5 years"),
            _(
                "Assets acquired at least five years ago with no field inventory result in the last five years "
                "(Permendagri 19/2016 art. 476: an inventory at least once every five years)."
            ),
            (("last", _("Last inventoried")),),
        ),
    )
}
# The findings whose page also counts them by agency and kecamatan.
GROUPED_FINDINGS = frozenset({"uncertified", "documents", "custody", "not-inventoried"})
INVENTORY_YEARS = 5


def _setting_decimal(name: str, default: str) -> Decimal:
    return Decimal(str(getattr(settings, name, default)))


def default_tolerance_pct() -> Decimal:
    """``SIPANAH_AREA_TOLERANCE_PCT`` (5): certificate vs GIS area, percent of the certificate area."""
    return _setting_decimal("SIPANAH_AREA_TOLERANCE_PCT", "5")


def default_tolerance_m2() -> Decimal:
    """``SIPANAH_AREA_TOLERANCE_M2`` (10): certificate vs GIS area, the floor in m²."""
    return _setting_decimal("SIPANAH_AREA_TOLERANCE_M2", "10")


def default_kib_tolerance_m2() -> Decimal:
    """``SIPANAH_KIB_AREA_TOLERANCE_M2`` (1): KIB vs certificate area, in m² (rounding to whole m²)."""
    return _setting_decimal("SIPANAH_KIB_AREA_TOLERANCE_M2", "1")


@dataclass(frozen=True)
class FindingOptions:
    stuck_days: int = STUCK_DAYS_DEFAULT
    tolerance_pct: Decimal = field(default_factory=default_tolerance_pct)
    tolerance_m2: Decimal = field(default_factory=default_tolerance_m2)
    kib_tolerance_m2: Decimal = field(default_factory=default_kib_tolerance_m2)
    overlap_min_m2: float = field(default_factory=place.overlap_tolerance_m2)

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
            tolerance_pct=number("tol_pct", Decimal, default_tolerance_pct(), 0, 100),
            tolerance_m2=number("tol_m2", Decimal, default_tolerance_m2(), 0, 10**9),
            kib_tolerance_m2=number("kib_tol_m2", Decimal, default_kib_tolerance_m2(), 0, 10**9),
            # the register's overlap tolerance (SIPANAH_OVERLAP_TOLERANCE_M2), the same as the parcel form's rule
            overlap_min_m2=number("min_overlap", float, place.overlap_tolerance_m2(), 0, 10**9),
        )

    def parameters(self) -> list[Parameter]:
        """What each finding was run with, worded for a printed report (the values the finders read)."""
        return [
            Parameter(("stuck",), _("Stuck after"), _("%(days)s days in the same stage") % {"days": self.stuck_days}),
            Parameter(
                ("area-mismatch",),
                _("Area tolerance, certificate (or KIB) vs GIS"),
                _("the larger of %(pct)s of the certificate area and %(m2)s")
                % {"pct": formats.percent(self.tolerance_pct / 100), "m2": formats.m2(self.tolerance_m2)},
            ),
            Parameter(
                ("kib-area",),
                _("Area tolerance, KIB vs certificate"),
                _("more than %(m2)s") % {"m2": formats.m2(self.kib_tolerance_m2)},
            ),
            Parameter(
                ("overlaps",),
                _("Smallest overlap counted"),
                _("more than %(m2)s (geodesic)") % {"m2": formats.m2(self.overlap_min_m2)},
            ),
            Parameter(("holder",), _("Certificate holder expected"), place.city().government),
            Parameter(
                ("outside",),
                _("City boundary"),
                _("the kota boundary in Sipanah's reference data (%(name)s)") % {"name": place.city().name},
            ),  # fmt: skip
            Parameter(("documents",), _("Documents checklist"), _("BPKAD's checklist in the admin, as it stands now")),
        ]


@dataclass(frozen=True)
class Parameter:
    findings: tuple[str, ...]  # the slugs that read it
    label: Any  # str or a lazy translation
    value: Any


def find_uncertified(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    return [
        FindingRow(
            a,
            a.get_status_display(),
            {"tahap": a.get_tahap_display(), "luas_kib": a.luas_kib_m2, "nilai": a.nilai_perolehan},
        )
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


def area_tolerance(reference: Decimal, options: FindingOptions) -> Decimal:
    """The larger of tolerance_pct % of the reference area (the certificate's) and tolerance_m2."""
    return max(abs(reference) * options.tolerance_pct / 100, options.tolerance_m2)


def area_differs_from_gis(reference: Decimal, gis: Decimal, options: FindingOptions) -> bool:
    """Whether the GIS area is further from the reference (certificate or KIB) area than the tolerance."""
    return abs(gis - reference) > area_tolerance(reference, options)


def find_area_mismatch(
    assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None
) -> list[FindingRow]:
    """(a) The certificate area against the parcel's geodesic GIS area; the KIB area stands in for assets whose
    certificates state no area (uncertified, or not yet measured). KIB against certificate is find_kib_area."""
    rows = []
    for a in assets:
        if a.luas_gis_m2 is None:
            continue
        certificate = a.luas_sertifikat_m2
        reference = certificate if certificate is not None else a.luas_kib_m2
        if reference is None or not area_differs_from_gis(Decimal(reference), Decimal(a.luas_gis_m2), options):
            continue
        compared = _("certificate–GIS") if certificate is not None else _("KIB–GIS (no certificate area)")
        diff = Decimal(a.luas_gis_m2) - Decimal(reference)
        values = {
            "compared": str(compared),
            "luas_sertifikat": certificate,
            "luas_kib": a.luas_kib_m2,
            "luas_gis": a.luas_gis_m2,
            "diff_m2": diff.quantize(Decimal("0.01")),
            "diff_pct": (diff / reference * 100).quantize(Decimal("0.1")) if reference else None,
        }
        rows.append(FindingRow(a, f"{compared}: {formats.area_difference(a.luas_gis_m2, reference)}", values))
    rows.sort(key=lambda r: -abs(r.values["diff_pct"] or 0))
    return rows


def issued_area(asset: AssetState) -> tuple[Decimal | None, str]:
    """The area of the asset's issued certificates (those with a number) that state one, and their labels."""
    issued = [c for c in asset.certificates if c.nomor and c.luas_sertifikat_m2 is not None]
    if not issued:
        return None, ""
    total = sum((Decimal(c.luas_sertifikat_m2 or 0) for c in issued), Decimal(0))
    return total, ", ".join(f"{c.jenis_hak} {c.nomor}".strip() for c in issued)


def kib_differs_from_certificate(kib: Decimal, certificate: Decimal, options: FindingOptions) -> bool:
    return abs(kib - certificate) > options.kib_tolerance_m2


def find_kib_area(assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    """(b) The KIB area against the issued certificates' area: they should be equal, the KIB copies them."""
    rows = []
    for a in assets:
        certificate, labels = issued_area(a)
        if certificate is None or a.luas_kib_m2 is None:
            continue
        if not kib_differs_from_certificate(Decimal(a.luas_kib_m2), certificate, options):
            continue
        diff = (Decimal(a.luas_kib_m2) - certificate).quantize(Decimal("0.01"))
        values = {"certificate": labels, "luas_kib": a.luas_kib_m2, "luas_sertifikat": certificate, "diff_m2": diff}
        rows.append(
            FindingRow(
                a, "KIB–" + str(_("certificate")) + ": " + formats.area_difference(a.luas_kib_m2, certificate), values
            )
        )
    rows.sort(key=lambda r: -abs(r.values["diff_m2"]))
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
        rows.append(FindingRow(a, formats.m2(area), {"other": other, "overlap_m2": round(area, 2)}, other=b))
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
    """Whether a certificate's atas nama is the city government (place.city().government), as written in practice:
    "Pemerintah Kota Balikpapan", "Pemkot Balikpapan", "PEMERINTAH KOTAMADYA DAERAH TINGKAT II BALIKPAPAN",
    "Pemerintah Kota Balikpapan c.q. Dinas ..."."""
    return normalise_holder(place.city().government) in normalise_holder(name)


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


def find_documents(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    requirements = evidence.active_requirements()
    if not requirements or not assets:
        return []
    present = evidence.present_types([a.id for a in assets], as_of)
    rows = []
    for a in assets:
        wanted = evidence.required_types(a.asal_usul, a.tahap, requirements)
        have = present.get(a.id, set())
        missing = [t for t in wanted if t not in have]
        if missing:
            labels = ", ".join(str(DocumentType(t).label) for t in missing)
            values = {
                "origin": str(AsalUsul(a.asal_usul).label) if a.asal_usul in AsalUsul.values else a.asal_usul,
                "missing": labels,
                "present": f"{len(wanted) - len(missing)}/{len(wanted)}",
            }
            rows.append(FindingRow(a, labels, values))
    return rows


def find_custody(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    originals = [(a, c) for a in assets for c in a.certificates if c.stage == Stage.SERTIFIKAT_TERBIT and c.nomor]
    if not originals:
        return []
    latest = evidence.latest_custody([c.id for _a, c in originals], as_of)
    rows = []
    for a, c in originals:
        label = f"{c.jenis_hak} {c.nomor}".strip()
        event = latest.get(c.id)
        if event is None:
            detail = str(_("not in custody"))
            rows.append(FindingRow(a, detail, {"certificate": label, "custody": detail, "due": None, "days": None}))
        elif event.kind == CustodyEvent.Kind.LENT and event.due_date and event.due_date < today:
            days = (today - event.due_date).days
            detail = str(_("on loan to %(who)s, overdue")) % {"who": event.borrower}
            values = {"certificate": label, "custody": detail, "due": event.due_date, "days": days}
            rows.append(FindingRow(a, detail, values))
    rows.sort(key=lambda r: -(r.values["days"] or 0))
    return rows


def find_not_inventoried(
    assets: Iterable[AssetState], options: FindingOptions, as_of: dt.date | None
) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    cutoff = today - dt.timedelta(days=round(365.25 * INVENTORY_YEARS))
    last = field_results.last_inventoried(as_of)
    rows = []
    for a in assets:
        if a.tahun_perolehan and a.tahun_perolehan > today.year - INVENTORY_YEARS:
            continue  # acquired within the cycle: not due yet
        seen = last.get(a.id)
        if seen is None or seen < cutoff:
            detail = str(_("never inventoried")) if seen is None else str(_("last on %(date)s")) % {"date": seen}
            rows.append(FindingRow(a, detail, {"last": seen}))
    return rows


_FINDERS = {
    "uncertified": find_uncertified,
    "stuck": find_stuck,
    "area-mismatch": find_area_mismatch,
    "kib-area": find_kib_area,
    "overlaps": find_overlaps,
    "outside": find_outside,
    "location": find_location,
    "holder": find_holder,
    "disputes": find_disputes,
    "documents": find_documents,
    "custody": find_custody,
    "not-inventoried": find_not_inventoried,
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


# --- Encumbrances (assets.encumbrance): the reference date is ``as_of or today``; as of a past date, the cases as
# recorded by its end (their dates and stage events), the agreements and payments from their history ----------


def _by_id(assets: list[AssetState]) -> dict[int, AssetState]:
    """The assets by id: a snapshot's own index (history.AssetStates, built once for all its findings)."""
    return assets.by_id() if isinstance(assets, AssetStates) else {a.id: a for a in assets}


def _labels(choices: Any) -> dict[str, str]:
    """Each choice's label, translated once per finding rather than once per row."""
    return {value: str(label) for value, label in choices.choices}


def find_open_cases(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    by_id, kinds, stages = _by_id(assets), _labels(CaseKind), _labels(CaseStage)
    rows = []
    for r in encumbrance.open_case_rows(as_of):
        a = by_id.get(r.asset_id)
        if a is not None:
            label = f"#{r.case_id} {r.title}"
            values = {"case": label, "kind": kinds[r.kind], "stage": stages[r.stage], "opened": r.opened_on,
                      "age_days": (today - r.opened_on).days}  # fmt: skip
            rows.append(FindingRow(a, label, values))
    return rows  # by the kind's label, oldest first within (open_case_rows)


def find_hearings(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    last = today + dt.timedelta(days=encumbrance.HEARING_DAYS)
    by_id = _by_id(assets)
    rows = []
    for r in encumbrance.open_case_rows(as_of, hearing_between=(today, last), with_officer=True):
        a = by_id.get(r.asset_id)
        if a is not None:
            label = f"#{r.case_id} {r.title}"
            values = {"case": label, "hearing": r.next_hearing, "court_numbers": r.court_case_numbers or "—",
                      "officer": r.officer or "—"}  # fmt: skip
            rows.append(FindingRow(a, label, values))
    rows.sort(key=lambda r: r.values["hearing"])
    return rows


def find_expired_in_use(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    by_id, forms = _by_id(assets), _labels(UtilisationForm)
    rows = []
    for asset_id, _pk, form, number, partner, end in encumbrance.expired_in_use_rows(today, as_of):  # oldest end first
        a = by_id.get(asset_id)
        if a is not None:
            values = {"agreement": number, "partner": partner, "end": end, "days": (today - end).days}
            rows.append(FindingRow(a, f"{forms[form]} {number}: {partner}", values))
    return rows


def find_occupied_without_agreement(
    assets: list[AssetState], options: FindingOptions, as_of: dt.date | None
) -> list[FindingRow]:
    by_id = _by_id(assets)
    rows = []
    for r in encumbrance.open_case_rows(as_of, kind=CaseKind.OKUPASI, without_agreement=True):
        a = by_id.get(r.asset_id)
        if a is not None:
            label = f"#{r.case_id} {r.title}"
            rows.append(FindingRow(a, label, {"case": label, "opened": r.opened_on, "parties": r.parties or "—"}))
    return rows


def find_payments_overdue(assets: list[AssetState], options: FindingOptions, as_of: dt.date | None) -> list[FindingRow]:
    today = as_of or timezone.localdate()
    by_id, rupiah = _by_id(assets), formats.rupiah_many()
    rows = []
    for asset_id, number, partner, due_date, due, paid in encumbrance.overdue_payment_rows(today, as_of):
        a = by_id.get(asset_id)
        if a is not None:
            outstanding = due - paid  # paid < due: the query's condition
            values = {
                "agreement": f"{number} ({partner})", "due_date": due_date, "amount_due": int(due),
                "outstanding": int(outstanding), "days": (today - due_date).days,  # whole rupiah
            }  # fmt: skip
            rows.append(FindingRow(a, rupiah(outstanding), values))
    return rows  # oldest due date first: the most days overdue first


def find_utilised_over_parcel(
    assets: list[AssetState], options: FindingOptions, as_of: dt.date | None
) -> list[FindingRow]:
    by_id = _by_id(assets)
    if as_of is None:  # compared in SQL first: only the rows near or over the bound come back
        used_rows = encumbrance.used_over_parcel_rows(options.tolerance_pct, options.tolerance_m2)
    else:
        used_rows = encumbrance.used_area_rows(as_of)
    rows = []
    for asset_id, used in used_rows:
        a = by_id.get(asset_id)
        if a is None:
            continue
        parcel = a.luas_gis_m2 if a.luas_gis_m2 is not None else a.luas_kib_m2
        if parcel is None:
            continue
        used, parcel = Decimal(used), Decimal(parcel)
        if used - parcel > area_tolerance(parcel, options):
            values = {"used_m2": used, "parcel_m2": parcel, "excess_m2": used - parcel}
            rows.append(FindingRow(a, formats.m2(used - parcel), values))
    rows.sort(key=lambda r: (-r.values["excess_m2"], r.asset.id))
    return rows


_FINDERS.update({
    "open-cases": find_open_cases,
    "hearings": find_hearings,
    "expired-in-use": find_expired_in_use,
    "occupied-without-agreement": find_occupied_without_agreement,
    "payments-overdue": find_payments_overdue,
    "utilised-over-parcel": find_utilised_over_parcel,
})  # fmt: skip
