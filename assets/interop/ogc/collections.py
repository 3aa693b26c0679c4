"""OGC API – Features: the collections Sipanah publishes, and where each one's features come from.

``assets`` is the register, read through its one read path (assets.register.reads: removed assets left out, and
as of a date with the ``as_of`` extension); ``kecamatan`` and ``kelurahan`` are the administrative areas. A
collection gives a feature source for a request (``source``); the views never ask which collection it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.contrib.gis.db.models import Extent
from django.core.cache import cache
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from assets.encumbrance import selectors as encumbrance
from assets.interop.ogc.params import OgcError, parse_datetime
from assets.lib import geojson_out
from assets.query.params import QueryError, bbox_geometry, intersecting, parse_bbox
from assets.register import kib
from assets.register.models import AdministrativeArea
from assets.register.reads import RegisterSelection

Refine = Callable[[QuerySet], QuerySet]


class FeatureSource(Protocol):
    def features(
        self, properties: geojson_out.Properties, *, offset: int, limit: int, as_text: bool = True
    ) -> tuple[list[Any], int]: ...


@dataclass(frozen=True)
class AreaSource:
    """Rows of a table as features, written by the database on PostGIS (administrative areas, the live
    encumbrances)."""

    rows: QuerySet

    def features(
        self, properties: geojson_out.Properties, *, offset: int, limit: int, as_text: bool = True
    ) -> tuple[list[Any], int]:
        return geojson_out.page(self.rows.order_by("id"), properties, offset=offset, limit=limit, as_text=as_text)


@dataclass(frozen=True)
class HistoryRowsSource:
    """Rows of a historical table (one version per record: assets.encumbrance's case_rows_at / utilisation_rows_at
    as of a date) as features written in Python: the PostGIS page statement picks its rows again by ``id``, which
    a history table holds once per version."""

    rows: QuerySet

    def features(
        self, properties: geojson_out.Properties, *, offset: int, limit: int, as_text: bool = True
    ) -> tuple[list[Any], int]:
        qs = self.rows.order_by("id")
        dicts = geojson_out.feature_dicts(qs[offset : offset + limit], properties)
        return ([geojson_out.dumps(f) for f in dicts] if as_text else dicts), qs.count()


@dataclass(frozen=True)
class Collection:
    id: str
    title: str  # English, marked for translation (gettext_noop): the views translate them per request
    description: str
    properties: tuple[tuple[str, str], ...]  # (output property name, queryset value path) in output order
    datetime_field: str | None
    level: str | None = None  # an administrative level; None: the register
    extra_params: frozenset[str] = field(default_factory=frozenset)
    # another table's rows, now or as of a date (None: now): the encumbrances
    rows: Callable[[dt.date | None], QuerySet] | None = None

    @property
    def has_history(self) -> bool:
        return self.level is None

    def live_rows(self) -> QuerySet:
        if self.rows is not None:
            return self.rows(None)
        if self.level is None:
            return RegisterSelection.everything().queryset()
        return AdministrativeArea.objects.filter(level=self.level)

    def source(self, *, as_of: dt.date | None = None, refine: Refine | None = None) -> FeatureSource:
        if as_of is not None and not self.has_history:
            raise OgcError(
                400, "InvalidParameterValue", _("as_of: the collection %(id)s has no history.") % {"id": self.id}
            )
        if self.rows is not None and as_of is not None:
            rows = self.rows(as_of)
            return HistoryRowsSource(refine(rows) if refine else rows)
        if self.has_history and self.rows is None:
            return RegisterSelection(params=QueryDict(), as_of=as_of, refine=refine)
        rows = self.live_rows()
        return AreaSource(refine(rows) if refine else rows)

    def filters(self, request: HttpRequest) -> Refine:
        """The request's bbox and datetime as a refinement of any of this collection's querysets."""
        bbox = None
        if "bbox" in request.GET:
            try:
                bbox = bbox_geometry(parse_bbox(request.GET["bbox"]))
            except QueryError as exc:
                raise OgcError(400, "InvalidParameterValue", str(exc)) from None
        interval = None
        if "datetime" in request.GET:
            if self.datetime_field is None:
                raise OgcError(
                    400, "InvalidParameterValue", _("datetime: the collection %(id)s has no time.") % {"id": self.id}
                )
            interval = parse_datetime(request.GET["datetime"])

        def refine(qs: QuerySet) -> QuerySet:
            if bbox is not None:
                qs = intersecting(qs, bbox)
            if interval is not None:
                start, end = interval
                name = self.datetime_field
                qs = qs.filter(**{f"{name}__isnull": False})
                if start:
                    qs = qs.filter(**{f"{name}__gte": start})
                if end:
                    qs = qs.filter(**{f"{name}__lte": end})
            return qs

        return refine

    def temporal_interval(self) -> list[str | None] | None:
        if not self.datetime_field:
            return None
        key = f"ogc:temporal:{self.id}"
        interval = cache.get(key)
        if interval is None:
            row = self.live_rows().aggregate(lo=Min(self.datetime_field), hi=Max(self.datetime_field))
            interval = [f"{row[k]}T00:00:00Z" if row[k] else None for k in ("lo", "hi")]
            cache.set(key, interval, 300)
        return interval


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            id="assets",
            title=gettext_noop("Land assets (KIB A)"),
            description=gettext_noop("Land assets (KIB A) of the city; datetime filters on the acquisition date."),
            properties=kib.properties("ogc"),
            datetime_field="tanggal_perolehan",
        ),
        Collection(
            id="kecamatan",
            title="Kecamatan",
            description=gettext_noop("Districts (kecamatan) of the city."),
            properties=(("code", "code"), ("name", "name")),
            datetime_field=None,
            level=AdministrativeArea.Level.KECAMATAN,
        ),
        Collection(
            id="kelurahan",
            title="Kelurahan",
            description=gettext_noop("Sub-districts (kelurahan) of the city."),
            properties=(("code", "code"), ("name", "name"), ("kecamatan_code", "parent__code")),
            datetime_field=None,
            level=AdministrativeArea.Level.KELURAHAN,
        ),
        Collection(
            id="disputes",
            title="Dispute and occupation cases",
            description="Open dispute and occupation cases (assets.encumbrance); the geometry is the disputed part "
            "(null when none was drawn); datetime filters on the date the case was opened; as_of: the cases open "
            "then, as recorded by the end of that day.",
            properties=(
                ("kind", "kind"), ("title", "title"), ("stage", "stage"), ("stage_since", "stage_since"),
                ("opened_on", "opened_on"), ("next_hearing", "next_hearing"),
                ("court_case_numbers", "court_case_numbers"), ("area_m2", "area_m2"),
            ),
            datetime_field="opened_on",
            rows=encumbrance.case_rows_at,
        ),
        Collection(
            id="utilisations",
            title="Pemanfaatan agreements",
            description="Pemanfaatan agreements in use (aktif, diperpanjang); the geometry is the used part (null when "
            "none was drawn); datetime filters on the start date; as_of: the agreements in use then, as recorded by "
            "the end of that day.",
            properties=(
                ("asset_id", "asset_id"), ("form", "form"), ("partner_name", "partner_name"),
                ("agreement_number", "agreement_number"), ("start_date", "start_date"), ("end_date", "end_date"),
                ("status", "status"), ("purpose", "purpose"), ("tariff", "tariff"), ("area_m2", "area_m2"),
            ),
            datetime_field="start_date",
            rows=encumbrance.utilisation_rows_at,
        ),
    )
}  # fmt: skip


def collection(collection_id: str) -> Collection:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise OgcError(
            404,
            "NotFound",
            _("No collection %(id)s; there are %(ids)s.") % {"id": collection_id, "ids": ", ".join(COLLECTIONS)},
        ) from None


def city_bbox() -> list[float]:
    """The spatial extent every collection shares: the city's kecamatan, in CRS84."""
    bbox = cache.get("ogc:city_bbox")
    if bbox is None:
        extent = AdministrativeArea.objects.filter(level="kecamatan").aggregate(e=Extent("geom"))["e"]
        bbox = [round(v, 6) for v in extent] if extent else [-180.0, -90.0, 180.0, 90.0]
        cache.set("ogc:city_bbox", bbox, 300)
    return bbox
