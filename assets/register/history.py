"""The register as of a date, rebuilt from the change history (django-simple-history). Reads only.

As-of rule (docs/register.md, "The as-of rule and the read path"):

- The register "as of D" is the register as it was *recorded* at the end of day D (Asia/Makassar): for each
  asset and certificate, the latest django-simple-history record dated before D+1 00:00; a deletion record
  drops it. A removal (penghapusan) recorded by then takes the asset out of the register.
- The derived certificate status of an asset is recomputed from its certificates as of D
  (rules.derive_certificate_status), never read from LandAsset.status_sertifikat, because that field is
  written with a queryset update that leaves no history row.
- Rows written with a plain bulk_create have no history. Such a row is taken to have existed in its
  current state since its created_at: this costs nothing at 1M rows and holds for any bulk loader. Once it
  is changed through the services it has history rows but no "created" one; before its first change its
  earliest recorded state stands in (its state before that change was never recorded).
  (The demo generator writes its own "created" rows with bulk_create_with_history, dated when it ran.)

The rule is read in SQL: each history row carries its validity interval and the live rows without history are
listed, both kept by triggers (assets.register.history_validity), so the sources are one WHERE clause each
(valid_at, unrecorded). as_of_sources() derives the certificate status as of the date in SQL for pages, totals
and tiles; snapshot() builds the whole register in memory for the audit findings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.gis.db.models.functions import AsWKB
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.register import rules
from assets.register.filters import AssetFilter
from assets.register.models import (
    AdministrativeArea,
    Agency,
    Certificate,
    CertificateStatus,
    CertificateStatusSpan,
    LandAsset,
    PlottingStatus,
    Stage,
    UnrecordedRow,
)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def first_recorded() -> dt.date | None:
    """The first day the register holds an asset by the as-of rule: its earliest history row (an opening balance
    dates creation rows back), or the creation time of an asset written without history. None: nothing yet."""
    earliest = [
        LandAsset.history.model.objects.aggregate(first=Min("history_date"))["first"],
        LandAsset.objects.aggregate(first=Min("created_at"))["first"],
    ]
    found = [timezone.localtime(moment).date() for moment in earliest if moment is not None]
    return min(found) if found else None


def recorded_by(day: dt.date) -> bool:
    """Whether some asset history row is dated by the end of ``day``: then first_recorded() is ``day`` or earlier
    (one probe of the history_date index, where first_recorded() also reads the creation time of every live asset)."""
    return LandAsset.history.model.objects.filter(history_date__lt=end_of_day(day)).exists()


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
    asal_usul: str = ""
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
    "asal_usul",
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


def valid_at(before: dt.datetime) -> Q:
    """The history rows that are their object's recorded state at ``before``, from the interval each row carries
    (HistoryValidity, kept by the triggers of assets.register.history_validity): dated before it (or, for the
    earliest recorded state of a row bulk-created without history, the object created before it), not followed
    by another row before it, and not a deletion."""
    return (
        (Q(history_date__lt=before) | Q(history_valid_from__lt=before))
        & (Q(history_valid_until__isnull=True) | Q(history_valid_until__gte=before))
        & ~Q(history_type="-")
    )


def recorded(model: Any, before: dt.datetime) -> QuerySet:
    """The history rows of ``model`` standing for the register at ``before``."""
    return model.history.model.objects.filter(valid_at(before))


def unrecorded(model: Any, before: dt.datetime) -> QuerySet:
    """The live rows of ``model`` without any history row (plain bulk_create) created before ``before``."""
    listed = UnrecordedRow.objects.filter(table=model._meta.db_table).values("row_id")
    return model.objects.filter(created_at__lt=before, id__in=listed)


_READ: ContextVar[dict[str, bool] | None] = ContextVar("as_of_read", default=None)


@contextmanager
def one_read(flags: tuple[bool, bool] | None = None) -> Iterator[None]:
    """One as-of read (a request's page, totals, features): within it, whether assets or certificates have rows
    without history is asked once, in one query (or given: ``flags``, unrecorded_models()), rather than by every
    queryset built (a round trip each)."""
    assets, certificates = flags if flags is not None else unrecorded_models()
    token = _READ.set({LandAsset._meta.db_table: assets, Certificate._meta.db_table: certificates})
    try:
        yield
    finally:
        _READ.reset(token)


def has_unrecorded(model: Any) -> bool:
    memo = _READ.get()
    if memo is not None and model._meta.db_table in memo:
        return memo[model._meta.db_table]
    return UnrecordedRow.objects.filter(table=model._meta.db_table).exists()


def unrecorded_models() -> tuple[bool, bool]:
    """(some asset, some certificate) has no history row: has_unrecorded of both, in one query."""
    table = UnrecordedRow._meta.db_table
    exists = f'EXISTS (SELECT 1 FROM {table} WHERE "table" = %s)'  # noqa: S608 - the model's table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {exists}, {exists}", [LandAsset._meta.db_table, Certificate._meta.db_table])  # noqa: S608
        assets, certificates = cursor.fetchone()
    return bool(assets), bool(certificates)


def _as_of_sources(model: Any, as_of: dt.date) -> list[QuerySet]:
    """The history rows valid at the end of ``as_of``, and the live rows without history (when there are any)."""
    before = end_of_day(as_of)
    sources = [recorded(model, before)]
    if has_unrecorded(model):
        sources.append(unrecorded(model, before))
    return sources


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


# Up to this many assets, their certificates are selected in SQL (asset_id IN ...); above, all are read and sorted out.
CERT_IDS_IN_SQL = 2000


def certificate_rows(as_of: dt.date | None, asset_ids: set[int] | None = None) -> Iterator[dict[str, Any]]:
    for qs in certificate_querysets(as_of):
        if asset_ids is not None and len(asset_ids) <= CERT_IDS_IN_SQL:
            yield from qs.filter(asset_id__in=sorted(asset_ids)).order_by().values(*CERT_VALUES)
            continue
        for row in qs.order_by().values(*CERT_VALUES).iterator(chunk_size=5000):
            if asset_ids is None or row["asset_id"] in asset_ids:
                yield row


def open_case_asset_ids(as_of: dt.date | None, among: set[int] | None = None) -> set[int]:
    """The assets with a dispute or occupation case open at ``as_of`` (now when None), which the dispute flag counts
    as services.asset_refresh_certificate_status does. The cases are assets.encumbrance's, reached through the app
    registry so that the register does not import the room above it. As of a date, as recorded by the end of that
    day: a case opened by then and recorded by then, not closed by a stage event dated and recorded by then.
    ``among``: only these assets are asked about (a page's: up to CERT_IDS_IN_SQL are selected in SQL)."""
    through = getattr(apps.get_model("assets", "DisputeCase"), "assets").through  # noqa: B009 - typed as Model
    links = through.objects.all()
    if among is not None and len(among) <= CERT_IDS_IN_SQL:
        links = links.filter(landasset_id__in=sorted(among))
    if as_of is None:
        return set(links.filter(disputecase__closed_on__isnull=True).values_list("landasset_id", flat=True))
    recorded = end_of_day(as_of)
    pairs = links.filter(disputecase__opened_on__lte=as_of, disputecase__created_at__lt=recorded)
    closed = set(
        apps.get_model("assets", "CaseStageEvent")
        .objects.filter(to_stage__in=("SELESAI", "DIHENTIKAN"), date__lte=as_of, created_at__lt=recorded)
        .values_list("case_id", flat=True)
    )
    return {asset for asset, case in pairs.values_list("landasset_id", "disputecase_id") if case not in closed}


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


class AssetStates(list[AssetState]):
    """A snapshot's states in register order, with an index by asset id built on first use and kept with the list
    (the audit findings look their rows' assets up in it: one index per snapshot, not one per finding)."""

    _index: dict[int, AssetState] | None = None

    def by_id(self) -> dict[int, AssetState]:
        if self._index is None or len(self._index) != len(self):
            self._index = {a.id: a for a in self}
        return self._index


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
    _derive(as_of, assets)
    result = AssetStates()
    for asset in assets.values():
        if statuses and asset.status not in statuses:
            continue
        if stages and asset.tahap not in stages:
            continue
        result.append(asset)
    result.sort(key=lambda a: (a.kode_barang, a.nomor_register))
    return result


def _derive(as_of: dt.date | None, assets: dict[int, AssetState]) -> None:
    """Attach each asset's certificates at ``as_of`` and derive its certificate status, stage and dispute flag."""
    for row in certificate_rows(as_of, set(assets)):
        assets[row["asset_id"]].certificates.append(CertState(**row))
    cased = open_case_asset_ids(as_of, set(assets))
    for asset in assets.values():
        asset.status, asset.tahap, asset.bermasalah = rules.derive_certificate_status(
            (c.stage, bool(c.nomor)) for c in asset.certificates
        )
        asset.bermasalah = asset.bermasalah or asset.id in cased


def states_of_rows(as_of: dt.date, rows: Iterable[Mapping[str, Any]]) -> list[AssetState]:
    """AssetStates of ``rows`` (ASSET_VALUES of the as-of querysets, e.g. one page), in their order, with their
    certificates and the status derived as of the date: the snapshot's states of these rows only."""
    assets: dict[int, AssetState] = {}
    for row in rows:
        values = {name: row[name] for name in ASSET_VALUES}
        wkb = row.get("wkb")
        assets[row["id"]] = AssetState(wkb=bytes(wkb) if wkb is not None else None, **values)
    _derive(as_of, assets)
    return list(assets.values())


# --- The as-of register in SQL ------------------------------------------------------------------------------------
#
# The same rule as snapshot(), as querysets that the database filters, counts, sums and pages: each source (the
# history rows valid at the date; the live rows without history, when there are any) annotated with the certificate
# status (and, when asked, the stage and dispute flag) of the asset's certificate status span at the date
# (CertificateStatusSpan, kept by the triggers of assets.register.history_validity with the numbers of
# rules.derive_certificate_status: rules.STATUS_CODE, rules.STAGE_RANK).

STATUS = "asof_status"
ISSUED = "asof_issued"  # some certificate issued (status terbit)
IN_PROCESS = "asof_in_process"  # some certificate past BELUM (status terbit or proses)
STAGE = "asof_tahap"
DISPUTED = "asof_bermasalah"
STATUS_CODE = "asof_status_code"
RANK = "asof_rank"
CASED = "asof_cased"  # a dispute or occupation case open at the date
# The asset's span at the date read once for both numbers (few=True): status code * SPAN_BASE + stage rank. A
# tile's or an export's rows select it (and CASED) in a fenced subquery and name them outside (derived_sql): one
# index probe per row instead of one for each number.
SPAN = "asof_span"
SPAN_BASE = 1000  # above every stage rank (rules.STAGE_RANK)


def derived_sql(span: str, cased: str) -> dict[str, str]:
    """SQL of the asset's derived columns as of the date, by the live column's name, from the SQL of its SPAN and
    CASED values."""
    code = f"({span} / {SPAN_BASE})"
    rank = f"({span} - {span} / {SPAN_BASE} * {SPAN_BASE})"  # (no %: the statements carry %s parameters)
    return {
        "status_sertifikat": status_sql(code),
        "tahap_sertifikat": stage_sql(rank),
        "bermasalah": disputed_sql(rank, cased),
    }


def sql_case(column: str, codes: Mapping[str, int], default: str) -> str:
    """SQL mapping a code or rank column back to its name, for a caller that selects the numbers (constants only)."""
    whens = " ".join(f"WHEN {code} THEN '{name}'" for name, code in codes.items())
    return f"CASE {column} {whens} ELSE '{default}' END"


def status_sql(column: str) -> str:
    return sql_case(column, rules.STATUS_CODE, CertificateStatus.BELUM)


def stage_sql(column: str) -> str:
    return sql_case(column, rules.STAGE_RANK, Stage.BELUM)


def disputed_sql(rank: str, cased: str) -> str:
    return f"({rank} >= {rules.DISPUTE_RANK} OR {cased})"


def spans_at(as_of: dt.date) -> QuerySet[CertificateStatusSpan]:
    """The certificate status spans in force at the end of ``as_of``: one per asset with a certificate then."""
    before = end_of_day(as_of)
    return CertificateStatusSpan.objects.filter(
        Q(valid_from__lt=before) & (Q(valid_until__isnull=True) | Q(valid_until__gte=before))
    )


def _span_value(spans: QuerySet[CertificateStatusSpan], column: str) -> Coalesce:
    """The asset's span's ``column`` at the date (0 without a span): a correlated subquery, an index probe per asset
    (for reads of few assets, such as a tile or a page)."""
    return Coalesce(Subquery(spans.filter(asset_id=OuterRef("id")).values(column)[:1]), Value(0))


def _ranked(annotation: str, ranks: Mapping[str, int], default: str) -> Case:
    """The name whose rank the annotation holds."""
    return Case(
        *(When(**{annotation: rank}, then=Value(str(name))) for name, rank in ranks.items()),
        default=Value(str(default)),
        output_field=CharField(),
    )


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def open_cases(as_of: dt.date, *, asset: OuterRef | None = None) -> QuerySet:
    """open_case_asset_ids(as_of) as a subquery (the asset ids). ``asset``: only that (outer) asset's, each case's
    closing looked up by its own case (index probes): for a correlated EXISTS over a few assets (a tile), where
    the set of all open cases would be built anew for every tile."""
    through = getattr(apps.get_model("assets", "DisputeCase"), "assets").through  # noqa: B009 - typed as Model
    recorded = end_of_day(as_of)
    closed = apps.get_model("assets", "CaseStageEvent").objects.filter(
        to_stage__in=("SELESAI", "DIHENTIKAN"), date__lte=as_of, created_at__lt=recorded
    )
    links = through.objects.filter(disputecase__opened_on__lte=as_of, disputecase__created_at__lt=recorded)
    if asset is not None:
        links = links.filter(landasset_id=asset).exclude(Exists(closed.filter(case_id=OuterRef("disputecase_id"))))
    else:
        links = links.exclude(disputecase_id__in=closed.values("case_id"))
    return links.values("landasset_id")


def as_of_sources(
    *,
    as_of: dt.date,
    params: Mapping[str, Any] | None = None,
    filterset_class: type[AssetFilter] = AssetFilter,
    refine: Callable[[QuerySet], QuerySet] | None = None,
    stage: bool = False,
    disputed: bool = False,
    few: bool = False,
) -> list[QuerySet]:
    """The register at ``as_of`` filtered like snapshot(), as querysets (usually one: the history rows) annotated with
    STATUS (and STAGE, DISPUTED when asked); together their rows are snapshot()'s, unordered.

    Many rows (pages, totals): STATUS from the flags ISSUED and IN_PROCESS, each ``id IN`` a hashed set of the spans
    at the date. ``few`` (a tile, a page's rows): STATUS_CODE from the asset's span, one correlated subquery. The
    stage rank (RANK) is always the correlated subquery."""
    data, statuses, stages = _filter_params(params)
    spans = spans_at(as_of)
    terbit, proses = rules.STATUS_CODE[CertificateStatus.TERBIT], rules.STATUS_CODE[CertificateStatus.PROSES]
    sources = []
    for base in asset_querysets(as_of):
        asset_filter = filterset_class(data, queryset=refine(base) if refine else base)
        if not asset_filter.is_valid():
            raise FilterError("; ".join(f"{k}: {' '.join(v)}" for k, v in asset_filter.errors.items()))
        qs = asset_filter.qs.order_by()
        if few:
            both = spans.filter(asset_id=OuterRef("id")).annotate(v=F("status_code") * SPAN_BASE + F("stage_rank"))
            qs = qs.annotate(**{SPAN: Coalesce(Subquery(both.values("v")[:1]), Value(0))})
            qs = qs.annotate(**{STATUS_CODE: _span_value(spans, "status_code")})
            qs = qs.annotate(**{STATUS: _ranked(STATUS_CODE, rules.STATUS_CODE, CertificateStatus.BELUM)})
        else:
            issued = _flag(Q(id__in=spans.filter(status_code=terbit).values("asset_id")))
            in_process = _flag(Q(id__in=spans.filter(status_code__gte=proses).values("asset_id")))
            qs = qs.annotate(**{ISSUED: issued, IN_PROCESS: in_process})
            status = Case(
                When(**{ISSUED: True}, then=Value(CertificateStatus.TERBIT.value)),
                When(**{IN_PROCESS: True}, then=Value(CertificateStatus.PROSES.value)),
                default=Value(CertificateStatus.BELUM.value),
                output_field=CharField(),
            )
            qs = qs.annotate(**{STATUS: status})
        if stage or stages or disputed:
            qs = qs.annotate(**{RANK: _span_value(spans, "stage_rank")})
            qs = qs.annotate(**{STAGE: _ranked(RANK, rules.STAGE_RANK, Stage.BELUM)})
        if disputed and few:  # a tile derives the flag from RANK and CASED (each subquery once per row)
            # LIMIT 1: a probe per row; as EXISTS, PostgreSQL hashed every open case of the register for each tile
            one = open_cases(as_of, asset=OuterRef("id")).annotate(cased=Value(True)).values("cased")[:1]
            qs = qs.annotate(**{CASED: Coalesce(Subquery(one), Value(False))})
            qs = qs.annotate(**{DISPUTED: _flag(Q(**{f"{RANK}__gte": rules.DISPUTE_RANK}) | Q(**{CASED: True}))})
        elif disputed:
            dispute = Q(**{f"{RANK}__gte": rules.DISPUTE_RANK}) | Q(id__in=open_cases(as_of))
            qs = qs.annotate(**{DISPUTED: _flag(dispute)})
        if statuses:
            qs = qs.filter(**{f"{STATUS}__in": sorted(statuses)})
        if stages:
            qs = qs.filter(**{f"{STAGE}__in": sorted(stages)})
        sources.append(qs)
    return sources


_TOTAL_COLUMNS = ("id", "agency_id", "luas_kib_m2", "luas_gis_m2", "nilai_perolehan", "plotting_status")


def grouped_totals(as_of: dt.date, sources: list[QuerySet], *, by_agency: bool = False) -> list[dict[str, Any]]:
    """Count, areas, value, located and the count per derived status of the as-of sources, in one statement: the
    sources' rows LEFT JOIN the status spans at the date that count (issued or in process), hashed. One row, or one
    per agency_id."""
    assets: list[str] = []
    params: list[Any] = []
    for qs in sources:
        sql, part = qs.values(*_TOTAL_COLUMNS).query.sql_with_params()
        assets.append(sql)
        params += part
    terbit, proses = rules.STATUS_CODE[CertificateStatus.TERBIT], rules.STATUS_CODE[CertificateStatus.PROSES]
    codes, code_params = (
        spans_at(as_of).filter(status_code__gte=proses).values("asset_id", "status_code").query.sql_with_params()
    )
    located = f"a.plotting_status <> '{PlottingStatus.UNKNOWN}'"
    code = f"c.{connection.ops.quote_name('status_code')}"
    sql = f"""
        SELECT {"a.agency_id" if by_agency else "NULL"} AS agency_id, count(*), sum(a.luas_kib_m2),
               sum(a.luas_gis_m2), sum(a.nilai_perolehan), sum(CASE WHEN {located} THEN 1 ELSE 0 END),
               sum(CASE WHEN {code} = {terbit} THEN 1 ELSE 0 END), sum(CASE WHEN {code} = {proses} THEN 1 ELSE 0 END)
        FROM ({" UNION ALL ".join(assets)}) a LEFT JOIN ({codes}) c ON c.{connection.ops.quote_name("asset_id")} = a.id
        {"GROUP BY a.agency_id" if by_agency else ""}"""  # noqa: S608 - constants and the ORM's SQL; values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, params + list(code_params))
        rows = cursor.fetchall()
    keys = ("agency_id", "count", "luas_kib", "luas_gis", "nilai", "located", "terbit", "proses")
    return [dict(zip(keys, row, strict=True)) for row in rows if row[1]]


def _decimal(value: Any, places: str) -> Decimal:
    """A sum as the column's Decimal (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal(places))


def sources_totals(
    as_of: dt.date, sources: list[QuerySet], *, rows: list[dict[str, Any]] | None = None
) -> tuple[Any, dict[str, int]]:
    """(RegisterTotals, count per certificate status) of the as-of sources (grouped_totals); ``rows``: their
    grouped_totals by agency already read, summed here rather than read again."""
    from assets.register.selectors import RegisterTotals

    if rows is None:
        rows = grouped_totals(as_of, sources)
    row: dict[str, Any] = defaultdict(int)
    for part in rows:  # exact: PostgreSQL's numeric sums are Decimals; SQLite's float sums go through their text
        for name, value in part.items():
            if name != "agency_id" and value is not None:
                row[name] += Decimal(str(value)) if isinstance(value, float) else value
    counts = {
        str(CertificateStatus.BELUM): (row["count"] or 0) - (row["terbit"] or 0) - (row["proses"] or 0),
        str(CertificateStatus.PROSES): row["proses"] or 0,
        str(CertificateStatus.TERBIT): row["terbit"] or 0,
    }
    return (
        RegisterTotals(
            count=row["count"] or 0,
            luas_kib_m2=_decimal(row["luas_kib"], "0.01"),
            luas_gis_m2=_decimal(row["luas_gis"], "0.01"),
            nilai_perolehan=_decimal(row["nilai"], "1"),
            certified=counts[CertificateStatus.TERBIT],
            located=row["located"] or 0,
        ),
        counts,
    )


def ordered_rows(sources: list[QuerySet], order: tuple[str, ...], *fields: str) -> QuerySet:
    """The rows of the sources as ``values(*fields)`` in ``order``: one queryset (a UNION when there are several),
    which the paginator can count and slice."""
    parts = [qs.values(*fields) for qs in sources]
    if len(parts) == 1:
        return parts[0].order_by(*order)
    return parts[0].union(*parts[1:], all=True).order_by(*order)


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
    areas: dict[int | None, AdministrativeArea] = {a.id: a for a in AdministrativeArea.objects.defer("geom")}
    for asset in assets:
        asset.agency = agencies.get(asset.agency_id)
        asset.kelurahan = areas.get(asset.kelurahan_id)
        asset.kecamatan = areas.get(asset.kecamatan_id)


def snapshot_totals(assets: list[AssetState]) -> Any:
    from assets.register.selectors import RegisterTotals

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
