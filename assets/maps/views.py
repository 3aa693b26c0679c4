"""Map page, vector tiles and the map popup: thin views over assets.maps, assets.tiles and the selectors."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from assets.maps import builders, tiles
from assets.register import history, permissions, selectors
from assets.register.filters import AssetFilter
from assets.register.models import CertificateStatus, LandAsset, Stage
from assets.register.views import _require
from assets.templatetags import sipanah as sipanah_filters

MAP_ONLY_PARAMS = ("basemap",)


def _filter_query(request: HttpRequest) -> str:
    """The register filters of the request, URL-encoded, without the map's own parameters (sorted: one ETag each)."""
    if not request.META.get("QUERY_STRING"):  # most tiles: no filter, nothing to copy and parse
        return ""
    query = request.GET.copy()
    for name in (*MAP_ONLY_PARAMS, "page"):
        query.pop(name, None)
    return "&".join(sorted(query.urlencode().split("&"))) if query else ""


def _export_url() -> str | None:
    """The export link, only once the export view (another issue) exists."""
    try:
        return reverse("asset-export")
    except NoReverseMatch:
        return None


def _as_of(request: HttpRequest) -> tuple[dt.date | None, str | None]:
    """(as_of date or None, the error message for a bad one)."""
    try:
        return history.parse_as_of(request.GET.get("as_of")), None
    except ValueError as exc:
        return None, str(exc)


def asset_map(request: HttpRequest) -> HttpResponse:
    _require(permissions.can_view_register(request.user))
    as_of, problem = _as_of(request)
    if problem:
        return HttpResponseBadRequest(problem, content_type="text/plain")
    asset_filter = AssetFilter(request.GET, queryset=selectors.asset_list())
    query = _filter_query(request)
    basemap = request.GET.get("basemap") != "none"
    totals_url = reverse("map-totals") + (f"?{query}" if query else "")
    context = {
        "filter": asset_filter,
        "totals_url": totals_url,
        "query": query,
        "basemap": basemap,
        "map": builders.overview_map(
            query=query if asset_filter.is_valid() else "", basemap=basemap, as_of=as_of, nonce=request.csp_nonce
        ),
        "export_url": _export_url() if permissions.can_export(request.user) else None,
        "as_of": as_of,  # the tiles, totals and exports get it through the query
    }
    return render(request, "assets/asset_map.html", context)


def map_totals(request: HttpRequest) -> JsonResponse:
    """The headline numbers of the filtered register, formatted for the page.

    Fetched by the map page after it renders: summing a million rows takes longer than painting the first tiles.
    """
    _require(permissions.can_view_register(request.user))
    asset_filter = AssetFilter(request.GET, queryset=selectors.asset_list())
    if not asset_filter.is_valid():
        return JsonResponse({"error": _("Some filters are not valid.")}, status=400)
    as_of, problem = _as_of(request)
    if problem:
        return JsonResponse({"error": problem}, status=400)
    if as_of is not None:  # the register as of a date, from the change history
        try:
            totals = history.snapshot_totals(history.snapshot(as_of=as_of, params=request.GET))
        except history.FilterError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
    else:
        totals = selectors.register_totals(asset_filter.qs)
    return JsonResponse(
        {
            "count": sipanah_filters.number(totals.count),
            "luas_kib": sipanah_filters.area(totals.luas_kib_m2),
            "nilai": sipanah_filters.rupiah(totals.nilai_perolehan),
            "certified": sipanah_filters.percent(totals.certified_share),
        }
    )


def asset_tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    _require(permissions.can_view_register(request.user))
    try:
        tiles.check_tile(z, x, y)
    except tiles.TileOutOfRange as exc:
        raise Http404(str(exc)) from exc
    query = _filter_query(request)
    qs = None  # the whole register: no filter to build
    if query:
        asset_filter = AssetFilter(request.GET, queryset=LandAsset.objects.all())
        if not asset_filter.is_valid():
            problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in asset_filter.errors.items())
            return HttpResponseBadRequest(
                _("Invalid filter: %(problems)s") % {"problems": problems}, content_type="text/plain"
            )
        qs = asset_filter.qs
    as_of, problem = _as_of(request) if query else (None, None)  # as_of is one of the query's parameters
    if problem:
        return HttpResponseBadRequest(problem, content_type="text/plain")

    # The ETag is hash(tile schema, register version, z/x/y, filters) (tiles.tile_etag). The version is read from
    # the database on every request, so any process's write changes it at once. Round trips: a revalidation or a
    # cached low-zoom tile reads the version alone; building a tile reads it in the tile's own statement.
    # request.META rather than request.headers, which would first build a dict of every header of the request
    revalidate = [tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",") if tag.strip()]
    cache_key = tiles.cache_key(z=z, x=x, y=y, query=query) if z <= tiles.CACHE_MAX_ZOOM else None
    cached = cache.get(cache_key) if cache_key else None  # (version, bytes)
    data, version = None, None
    if revalidate or cached:
        version = tiles.register_version()
        etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query=query)
        if etag in revalidate:
            return _tile_response(HttpResponse(status=304), etag)
        if cached and cached[0] == version:
            data = cached[1]
    if data is None:
        try:
            if as_of is not None:  # the register as of a date, from the change history; as_of is in the query
                version = version or tiles.register_version()
                data = tiles.as_of_tile(as_of=as_of, params=request.GET, z=z, x=x, y=y)
            else:
                version, data = tiles.versioned_tile(qs, z=z, x=x, y=y)
        except history.FilterError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")
        etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query=query)
        if cache_key:
            # Low-zoom tiles aggregate tens of thousands of rows and every visitor's first view asks for them: kept
            # with the version they were built from, served only while the register still has that version.
            cache.set(cache_key, (version, data), timeout=24 * 3600)
    return _tile_response(HttpResponse(data, content_type=tiles.MEDIA_TYPE), etag)


def _tile_response(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # Revalidate every time (cheap: 304 from the register version) so an edit shows on the next pan; private
    # because tiles are for signed-in users only.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    return response


def asset_popup(request: HttpRequest, pk: int) -> JsonResponse:
    """What the map popup shows for one asset (the page puts it in with textContent); with ``as_of``, the asset
    as recorded at the end of that day, as the as-of map draws it."""
    _require(permissions.can_view_register(request.user))
    as_of, problem = _as_of(request)
    if problem:
        return JsonResponse({"error": problem}, status=400)
    if as_of is None:
        try:
            asset = selectors.asset_list().annotate(luas_sertifikat=Sum("certificates__luas_sertifikat_m2")).get(pk=pk)
        except LandAsset.DoesNotExist as exc:
            raise Http404(_("No such asset.")) from exc
        return JsonResponse(_popup_data(asset, asset.luas_sertifikat))
    states = history.snapshot(as_of=as_of, params={"removed": "include"}, refine=lambda qs: qs.filter(id=pk))
    if not states:
        raise Http404(_("No such asset."))
    [record] = history.as_of_records(as_of=as_of, states=states)
    areas = [c.luas_sertifikat_m2 for c in record.certificates.all() if c.luas_sertifikat_m2 is not None]
    return JsonResponse(_popup_data(record, sum(areas) if areas else None))


def _popup_data(asset: LandAsset | history.AsOfRecord, luas_sertifikat) -> dict:
    def m2(value) -> str | None:
        return None if value is None else f"{number_format(value, 0, force_grouping=True)} m²"

    return {
        "id": asset.id,  # not .pk: on a history row that is the history id
        "nama": asset.nama_barang,
        "kode_barang": asset.kode_barang,
        "nomor_register": asset.nomor_register,
        "agency": asset.agency.name,
        "luas_kib": m2(asset.luas_kib_m2),
        "luas_sertifikat": m2(luas_sertifikat),
        "luas_gis": m2(asset.luas_gis_m2),
        "status": CertificateStatus(asset.status_sertifikat).label,
        "stage": Stage(asset.tahap_sertifikat).label,
        "url": reverse("asset-detail", kwargs={"pk": asset.id}),
    }
