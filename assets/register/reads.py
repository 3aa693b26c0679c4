"""The one read path of the register: "the register, filtered, live or as of a date".

:class:`RegisterSelection` is built once per request from its parameters (``as_of`` is parsed here and nowhere
else; the filters are checked here) and answers every question a surface asks: a page of rows for the HTML list,
GeoJSON features for the REST and OGC APIs, totals for the home page, map and query, records for the exports, and
snapshot states for the audit findings and the as-of tiles. Views, the APIs, exports and tiles never branch on the
date themselves: the selection knows whether it reads the live tables or the history tables as of the date
(assets.register.history, whose as-of rule the docs describe: in SQL through each history row's validity interval,
so pages, totals and tiles as of a date cost about what the live ones do).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import QueryDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from assets.lib import geojson_out
from assets.register import aggregates, geo, history, selectors
from assets.register.filters import AssetFilter
from assets.register.models import Agency, AsOfTotal, Certificate, CertificateStatus, LandAsset

Refine = Callable[[QuerySet], QuerySet]
# Parameters of a request that are not register filters: the date, paging and output choices.
NOT_FILTERS = frozenset({"as_of", "page", "page_size", "format", "srid", "f", "limit", "offset", "basemap"})


class SelectionError(ValueError):
    """The request's date or filters are not valid; the message names the parameter and the problem."""


def parse_as_of(value: str | None) -> dt.date | None:
    """``as_of=YYYY-MM-DD`` from a request: the one parser of the date (None when absent or empty); a bad date
    raises SelectionError with a readable message."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise SelectionError(
            _("as_of must be a date written YYYY-MM-DD, got “%(value)s”.") % {"value": value}
        ) from None
    if day > timezone.localdate():
        raise SelectionError(_("as_of %(date)s is in the future.") % {"date": day.isoformat()})
    return day


# What a room above the register knows about an as-of date before its first record (the ledger: the opening
# balance): a function of (the date asked, the register's first day) giving one more sentence, or None.
AS_OF_NOTES: list[Callable[[dt.date, dt.date | None], str | None]] = []


def empty_before(as_of: dt.date | None) -> str | None:
    """Why the register as of ``as_of`` holds nothing, when the date is before anything was recorded (the one
    explanation the register, findings, dashboard, exports and API give); None when the date is not the reason."""
    if as_of is None or history.recorded_by(as_of):
        return None
    first = history.first_recorded()
    if first is not None and as_of >= first:
        return None
    if first is None:
        text = _("The register held nothing on %(date)s: no asset has been entered yet.") % {"date": _day(as_of)}
    else:
        text = _("The register holds nothing before %(first)s, the date of its earliest record; %(date)s is "
                 "before it.") % {"first": _day(first), "date": _day(as_of)}  # fmt: skip
    more = [note for note in (hook(as_of, first) for hook in AS_OF_NOTES) if note]
    return " ".join([text, *more])


def _day(day: dt.date) -> str:
    return date_format(day, "j F Y")


@dataclass(frozen=True)
class RegisterSelection:
    """The register (removed assets left out unless the filters ask), filtered, now or as of ``as_of``."""

    params: QueryDict  # the register filters only (NOT_FILTERS removed)
    as_of: dt.date | None = None
    filterset_class: type[AssetFilter] = AssetFilter
    refine: Refine | None = None  # a caller's own filters (OGC's bbox and datetime), applied to every source

    @classmethod
    def from_params(
        cls,
        params: Mapping[str, Any] | None,
        *,
        filterset_class: type[AssetFilter] = AssetFilter,
        refine: Refine | None = None,
        as_of: dt.date | None | Literal["param"] = "param",
    ) -> RegisterSelection:
        """Read ``as_of`` and the filters of a request's parameters; SelectionError names what is wrong.

        ``as_of`` given (a date or None) takes the place of the parameter (a command line's option)."""
        source: Mapping[str, Any] = params or {}
        data = QueryDict(mutable=True)
        for key in source:
            if key not in NOT_FILTERS:
                values = source.getlist(key) if hasattr(source, "getlist") else [source[key]]  # every value of the key
                data.setlist(key, values)
        day = parse_as_of(source.get("as_of")) if isinstance(as_of, str) else as_of  # "param": the parameter
        selection = cls(params=data, as_of=day, filterset_class=filterset_class, refine=refine)
        selection.cleaned_filters  # noqa: B018 - checked now (and kept), so that every read below can assume valid filters
        return selection

    @classmethod
    def everything(cls) -> RegisterSelection:
        """The whole live register, no filter."""
        return cls(params=QueryDict())

    # --- what the selection is --------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.as_of is None

    @property
    def unfiltered(self) -> bool:
        """The whole live register: no filter, no refinement, not as of a date (the tiles' fastest path)."""
        return self.live and not self.params and self.refine is None

    def filterset(self, queryset: QuerySet[LandAsset] | None = None) -> AssetFilter:
        filterset = self.filterset_class(self.params, queryset=queryset if queryset is not None else _none())
        if not filterset.is_valid():
            problems = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in filterset.errors.items())
            raise SelectionError(_("Some filters are not valid: %(problems)s") % {"problems": problems})
        return filterset

    def query_shape(self) -> GEOSGeometry | None:
        """The spatial query's shape when the filters describe one (query.params.SpatialAssetFilter)."""
        filterset = self.filterset()
        return filterset.query_shape() if hasattr(filterset, "query_shape") else None

    @cached_property
    def cleaned_filters(self) -> dict[str, Any]:
        """The filters' cleaned values (checked once per selection: a code filter reads its agency or area)."""
        return self.filterset().form.cleaned_data

    def groups(self) -> QuerySet | None:
        """The maintained totals' groups of this selection (assets.register.aggregates) when its filters are only
        their dimensions (status, stage, agency, kecamatan, kelurahan, plotting, removed): of the live register, or
        as of a date the day totals up to that day (assets.register.asof_totals); None when the totals must be summed
        from the matching assets."""
        if self.refine is not None:
            return None
        cleaned = self.cleaned_filters
        if not aggregates.answerable(cleaned):
            return None
        if self.live:
            return aggregates.groups(cleaned)
        return aggregates.groups(cleaned, AsOfTotal.objects.filter(day__lte=self.as_of))

    def empty_reason(self) -> str | None:
        """Why this selection as of its date finds nothing because of the date (:func:`empty_before`)."""
        return empty_before(self.as_of)

    def describe(self) -> str:
        """The filters and date as a query string (file names, links, cache keys)."""
        query = self.params.copy()
        if self.as_of:
            query["as_of"] = self.as_of.isoformat()
        return query.urlencode()

    # --- live rows ------------------------------------------------------------------------------------------------

    def queryset(self, base: QuerySet[LandAsset] | None = None) -> QuerySet[LandAsset]:
        """The live register's matching rows (``base``: the caller's select_related/annotations)."""
        if not self.live:
            raise ValueError("queryset() reads the live register; as of a date use states() or records()")
        qs = self.filterset(base if base is not None else LandAsset.objects.all()).qs
        return self.refine(qs) if self.refine else qs

    # --- snapshot states (findings, as-of tiles) ------------------------------------------------------------------

    def _refiner(self, refine: Refine | None) -> Refine | None:
        """The selection's own refinement and a caller's (a tile's envelope) as one, None when neither is given."""
        refiners = [r for r in (self.refine, refine) if r is not None]
        if not refiners:
            return None

        def both(qs: QuerySet) -> QuerySet:
            for r in refiners:
                qs = r(qs)
            return qs

        return both

    def states(self, *, with_geom: bool = False, refine: Refine | None = None) -> list[history.AssetState]:
        """The matching assets as snapshot states, each with its certificates and derived certificate status, in
        register order; ``refine`` narrows every source further (a tile's envelope)."""
        both = self._refiner(refine)
        try:
            return history.snapshot(
                as_of=self.as_of,
                params=self.params,
                with_geom=with_geom,
                filterset_class=self.filterset_class,
                refine=both,
            )
        except history.FilterError as exc:
            raise SelectionError(str(exc)) from None

    def as_of_sources(
        self, *, stage: bool = False, disputed: bool = False, few: bool = False, refine: Refine | None = None
    ) -> list[QuerySet]:
        """As of a date: the matching assets as querysets on the history (history.as_of_sources), annotated with the
        certificate status derived as of the date (and the stage and dispute flag when asked); ``refine`` narrows
        every source further (a tile's envelope)."""
        if self.live:
            raise ValueError("as_of_sources() reads the register as of a date; live use queryset()")
        both = self._refiner(refine)
        try:
            return history.as_of_sources(
                as_of=self.as_of,  # type: ignore[arg-type]  # not live: a date
                params=self.params,
                filterset_class=self.filterset_class,
                refine=both,
                stage=stage,
                disputed=disputed,
                few=few,
            )
        except history.FilterError as exc:
            raise SelectionError(str(exc)) from None

    # --- what the surfaces ask ------------------------------------------------------------------------------------

    def page(self, number: Any, *, per_page: int = 50) -> tuple[Page, selectors.RegisterTotals]:
        """One page of the HTML register and the totals of every matching asset."""
        if self.live:
            qs = self.queryset(selectors.asset_list())
            groups = self.groups()
            # from the maintained groups when they answer, else summed from these very rows (no second COUNT(*)):
            # either way the page itself reads only its rows
            totals = aggregates.totals_by_status(groups)[0] if groups is not None else selectors.register_totals(qs)
            paginator = Paginator(qs, per_page)
            paginator.count = totals.count
            return paginator.get_page(number), totals
        with history.one_read():
            sources = self.as_of_sources()
            groups = self.groups()
            if groups is not None:
                totals = aggregates.totals_by_status(groups)[0]
            else:
                totals, _by_status = history.sources_totals(self.as_of, sources)  # type: ignore[arg-type]
            rows = history.ordered_rows(sources, REGISTER_ORDER, *history.ASSET_VALUES)
            paginator = Paginator(rows, per_page)
            paginator.count = totals.count
            page = paginator.get_page(number)
            page.object_list = history.states_of_rows(self.as_of, page.object_list)  # type: ignore[arg-type,assignment]
        history.attach_related(page.object_list)
        return page, totals

    def totals(self) -> selectors.RegisterTotals:
        if (groups := self.groups()) is not None:
            return aggregates.totals_by_status(groups)[0]
        if self.live:
            return selectors.register_totals(self.queryset())
        return self.totals_by_status()[0]

    def totals_by_status(self) -> tuple[selectors.RegisterTotals, dict[str, int]]:
        if (groups := self.groups()) is not None:
            return aggregates.totals_by_status(groups)
        if self.live:
            return selectors.register_totals_by_status(self.queryset())
        with history.one_read():
            return history.sources_totals(self.as_of, self.as_of_sources())  # type: ignore[arg-type]

    def aggregate(self, *, shape: GEOSGeometry | None = None) -> dict[str, Any]:
        """Count, KIB and GIS area, value, split by certificate status and by agency, and the geodesic area of the
        matches inside ``shape`` (the REST API's aggregate and the query page's totals)."""
        if shape is None and (groups := self.groups()) is not None:
            totals, by_status = aggregates.totals_by_status(groups)
            return _aggregate_dict(totals, by_status, aggregates.by_agency(groups), None, None)
        if self.live:
            return _live_aggregate(self.queryset(), shape)
        with history.one_read():
            return _as_of_aggregate(self.as_of, self.as_of_sources(), shape)  # type: ignore[arg-type]

    def features(
        self, properties: geojson_out.Properties, *, offset: int, limit: int, as_text: bool = True
    ) -> tuple[list[Any], int]:
        """One page, ordered by id, as GeoJSON features (texts, or dicts for HTML pages) and the number of all."""
        if self.live:
            return geojson_out.page(
                self.queryset().order_by("id"), properties, offset=offset, limit=limit, as_text=as_text
            )
        with history.one_read():
            sources = self.as_of_sources()
            if as_text and connection.vendor == "postgresql" and len(sources) == 1:
                return self._as_of_feature_page(sources[0], properties, offset=offset, limit=limit)
            rows = history.ordered_rows(sources, ("id",), *history.ASSET_VALUES)
            count = rows.count()
            states = history.states_of_rows(self.as_of, rows[offset : offset + limit])  # type: ignore[arg-type]
            records = history.as_of_records(
                as_of=self.as_of,  # type: ignore[arg-type]
                states=states,
                annotate={"geom_json": AsGeoJSON("geom", precision=geojson_out.GEOJSON_PRECISION)},
            )
            dicts = [_feature_dict(record, properties) for record in records]
        return ([geojson_out.dumps(d) for d in dicts] if as_text else dicts), count

    def _as_of_feature_page(
        self, selected: QuerySet, properties: geojson_out.Properties, *, offset: int, limit: int
    ) -> tuple[list[Any], int]:
        """PostGIS, as of a date, the history rows only: the live page's one statement (geojson_out.feature_page) over
        the history rows valid at the date, with the certificate status, stage and dispute flag as of the date
        computed for the page's rows alone (the asset's status span, an index probe each)."""

        def page_rows(keys: QuerySet) -> QuerySet:
            [rows] = self.as_of_sources(
                stage=True, disputed=True, few=True, refine=lambda qs: qs.filter(history_id__in=keys)
            )
            return rows

        renamed = [(name, _AS_OF_PATHS.get(path, path)) for name, path in properties]
        return geojson_out.feature_page(
            selected.order_by("id"), renamed, offset=offset, limit=limit, key="history_id", rows=page_rows
        )

    def records(self) -> Iterator[Any]:
        """Every matching asset with all its columns, its certificates and its geometry, in register order (what
        the exports write): LandAssets, or as of a date records that read like them."""
        if self.live:
            return _live_records(self.queryset())
        rows = history.ordered_rows(self.as_of_sources(), REGISTER_ORDER, *history.ASSET_VALUES)  # filters checked now
        return _as_of_records(self.as_of, rows)  # type: ignore[arg-type]


# The asset's derived columns as of a date: the annotations of history.as_of_sources (the history rows' own columns
# hold what the live row held when the row was written, not what its certificates made of it at the date).
_AS_OF_PATHS = {
    "status_sertifikat": history.STATUS,
    "tahap_sertifikat": history.STAGE,
    "bermasalah": history.DISPUTED,
}


def _none() -> QuerySet[LandAsset]:
    return LandAsset.objects.none()


# --- live ---------------------------------------------------------------------------------------------------------

RECORD_CHUNK = 2000
REGISTER_ORDER = ("kode_barang", "nomor_register", "id")


def _live_records(qs: QuerySet[LandAsset]) -> Iterator[LandAsset]:
    from django.db import reset_queries

    certificates = Certificate.objects.order_by("id")
    ordered = (
        qs.select_related("agency", "kelurahan", "kecamatan")
        .defer(None)
        .prefetch_related(Prefetch("certificates", queryset=certificates))
        .order_by("kode_barang", "nomor_register", "pk")
    )
    for n, asset in enumerate(ordered.iterator(chunk_size=RECORD_CHUNK), start=1):
        yield asset
        if n % RECORD_CHUNK == 0:
            reset_queries()  # with DEBUG on, Django keeps every SQL string (the prefetch lists 2,000 ids each)


def _float(value: Any) -> float:
    return float(value or 0)


def _live_aggregate(qs: QuerySet[LandAsset], shape: GEOSGeometry | None) -> dict[str, Any]:
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
    rows = [
        {
            "agency_code": row["agency__code"],
            "agency_name": row["agency__name"],
            "count": row["count"],
            "luas_kib_m2": _float(row["luas_kib_m2"]),
            "nilai_perolehan": _float(row["nilai_perolehan"]),
            "certified": row["certified"],
        }
        for row in by_agency
    ]
    geoms: Iterable[Any] | None = None
    if shape is not None and totals.located <= geo.MAX_CLIPPED_ASSETS:
        geoms = qs.filter(geom__isnull=False).order_by().values_list("geom", flat=True)
    return _aggregate_dict(totals, by_status, rows, shape, geoms)


def _as_of_records(as_of: dt.date, rows: QuerySet) -> Iterator[Any]:
    """The as-of rows streamed in register order, RECORD_CHUNK at a time: their states (certificates, derived status)
    and then their full rows (history.as_of_records)."""
    chunk: list[dict[str, Any]] = []
    for row in rows.iterator(chunk_size=RECORD_CHUNK):
        chunk.append(row)
        if len(chunk) == RECORD_CHUNK:
            yield from history.as_of_records(as_of=as_of, states=history.states_of_rows(as_of, chunk))
            chunk = []
    if chunk:
        yield from history.as_of_records(as_of=as_of, states=history.states_of_rows(as_of, chunk))


def _as_of_aggregate(as_of: dt.date, sources: list[QuerySet], shape: GEOSGeometry | None) -> dict[str, Any]:
    """_live_aggregate of the as-of sources: the same sums per agency, with the status derived as of the date."""
    grouped = history.grouped_totals(as_of, sources, by_agency=True)  # one scan for both
    totals, by_status = history.sources_totals(as_of, sources, rows=grouped)
    agencies = {a.id: a for a in Agency.objects.all()}
    rows = [
        {
            "agency_code": agencies[row["agency_id"]].code,
            "agency_name": agencies[row["agency_id"]].name,
            "count": row["count"],
            "luas_kib_m2": _float(row["luas_kib"]),
            "nilai_perolehan": _float(row["nilai"]),
            "certified": row["terbit"] or 0,
        }
        for row in grouped
    ]
    rows.sort(key=lambda row: row["agency_code"])
    geoms: list[Any] | None = None
    if shape is not None and totals.located <= geo.MAX_CLIPPED_ASSETS:
        geoms = [g for qs in sources for g in qs.filter(geom__isnull=False).values_list("geom", flat=True)]
    return _aggregate_dict(totals, by_status, rows, shape, geoms)


def _aggregate_dict(
    totals: selectors.RegisterTotals,
    by_status: dict[str, int],
    by_agency: list[dict[str, Any]],
    shape: GEOSGeometry | None,
    geoms: Iterable[Any] | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "count": totals.count,
        "luas_kib_m2": _float(totals.luas_kib_m2),
        "luas_gis_m2": _float(totals.luas_gis_m2),
        "nilai_perolehan": _float(totals.nilai_perolehan),
        "by_status": by_status,
        "by_agency": by_agency,
        "query_area_m2": None,
        "area_inside_m2": None,
    }
    if shape is not None:
        result["query_area_m2"] = geo.geodesic_area_m2(shape) if shape.dims == 2 else 0.0
        if geoms is not None:  # above geo.MAX_CLIPPED_ASSETS the clipped area is left out rather than stall
            result["area_inside_m2"] = round(sum(area for _g, area in geo.clip_areas(geoms, shape)), 2)
    return result


# --- as of a date -------------------------------------------------------------------------------------------------


def _value(record: Any, path: str) -> Any:
    """``agency__code`` read from an as-of record (None through a missing relation)."""
    value = record
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _feature_dict(record: Any, properties: geojson_out.Properties) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": record.id,
        "geometry": json.loads(record.geom_json) if record.geom_json else None,
        "properties": {name: geojson_out.json_value(_value(record, path)) for name, path in properties},
    }
