"""Map page, vector tiles and the map popup: thin views over assets.maps.builders, assets.maps.tiles and the
register's read path (assets.register.reads)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from assets.lib import formats
from assets.lib.http import plain_error
from assets.maps import builders, tiles
from assets.register import basemaps, history, permissions
from assets.register.filters import AssetFilter
from assets.register.models import AdministrativeArea, CertificateStatus, LandAsset, Stage
from assets.register.permissions import role_required
from assets.register.reads import RegisterSelection, SelectionError, parse_as_of

MAP_ONLY_PARAMS = ("basemap",)


def _filter_query(request: HttpRequest) -> str:
    """The register filters of the request, URL-encoded, without the map's own parameters (sorted: one ETag each)."""
    if not request.META.get("QUERY_STRING"):  # most tiles: no filter, nothing to copy and parse
        return ""
    query = request.GET.copy()
    for name in (*MAP_ONLY_PARAMS, "page"):
        query.pop(name, None)
    return "&".join(sorted(query.urlencode().split("&"))) if query else ""


@role_required(permissions.can_view_register)
def asset_map(request: HttpRequest) -> HttpResponse:
    try:
        selection = RegisterSelection.from_params(request.GET)
        query = _filter_query(request)
    except SelectionError as exc:
        selection, query = None, ""
        problem = str(exc)
    else:
        problem = None
    choice = request.GET.get("basemap")  # ?basemap=none: this page without one (and remembered); else the user's
    as_of = selection.as_of if selection else None
    context = {
        "filter": AssetFilter(request.GET),
        "totals_url": reverse("map-totals") + (f"?{query}" if query else ""),
        "query": query,
        "problem": problem,
        "map": builders.overview_map(
            query=query, user=request.user, choice=choice, as_of=as_of, nonce=request.csp_nonce
        ),
        "export_url": reverse("asset-export") if permissions.can_export(request.user) else None,
        "as_of": as_of,  # the tiles, totals and exports get it through the query
    }
    return render(request, "assets/asset_map.html", context, status=400 if problem else 200)


@require_POST
@role_required(permissions.can_view_register)
def remember_basemap(request: HttpRequest) -> JsonResponse:
    """Remember the base layer the user chose in a map's layer control (js/sipanah-map.js): a basemap's key or
    "none"; every map after that draws it (assets.register.basemaps)."""
    try:
        basemaps.remember(request.user, request.POST.get("basemap", ""))
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"basemap": basemaps.choice_of(request.user)})


@role_required(permissions.can_view_register)
def map_totals(request: HttpRequest) -> JsonResponse:
    """The headline numbers of the filtered register, formatted for the page.

    Fetched by the map page after it renders: summing a million rows takes longer than painting the first tiles.
    """
    try:
        totals = RegisterSelection.from_params(request.GET).totals()
    except SelectionError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "count": formats.number(totals.count),
            "luas_kib": formats.area(totals.luas_kib_m2),
            "nilai": formats.rupiah(totals.nilai_perolehan),
            "certified": formats.percent(totals.certified_share),
        }
    )


@role_required(permissions.can_view_register)
def boundaries(request: HttpRequest) -> JsonResponse:
    """The kecamatan and kelurahan boundaries with their names, as GeoJSON: the map page's own boundary layers
    (``builders.boundaries``), for the parcel widget of the asset forms, which draws them with OpenLayers."""
    features = [
        feature
        for level in (AdministrativeArea.Level.KECAMATAN, AdministrativeArea.Level.KELURAHAN)
        for feature in builders.boundaries(level)["features"]
    ]
    response = JsonResponse({"type": "FeatureCollection", "features": features})
    response["Cache-Control"] = "private, max-age=3600"  # boundaries change with a reference-data load, rarely
    return response


@login_not_required  # it checks the session itself, or hands over to _checked_tile, which does what any view does
def asset_tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    """A vector tile of the register (tiles.py). The map asks for dozens per view, so the usual signed-in tile
    (PostGIS, no filter, live or only a date) is served in one round trip: the session names the user (from Redis with
    SIPANAH_CACHE_URL, else its row), then one statement reads the user, their roles, the register version and the
    tile (tiles.signed_in_tile). Anything else (no session, a user Django's sign-in check would not accept as is,
    no role, filters, SpatiaLite) goes through _checked_tile, with Django's usual checks."""
    query = request.META.get("QUERY_STRING", "")
    as_of = _as_of_only(query) if query else None
    if connection.vendor == "postgresql" and (not query or as_of):
        user_id = permissions.session_user_id(request)
        if user_id is not None:
            response = _signed_in_tile(request, user_id, z, x, y, as_of)
            if response is not None:
                return response
    if not request.user.is_authenticated:  # as LoginRequiredMiddleware does for the other views
        return redirect_to_login(request.get_full_path())
    return _checked_tile(request, z, x, y)


def _as_of_only(query: str) -> dt.date | None:
    """The date of a tile's query string that is ``as_of=YYYY-MM-DD`` and nothing else (a valid date, not in the
    future); None for any other query, which the usual path reads and checks."""
    name, _sep, value = query.partition("=")
    if name != "as_of" or "&" in value:
        return None
    try:
        return parse_as_of(value)
    except SelectionError:
        return None


def _signed_in_tile(
    request: HttpRequest, user_id: int, z: int, x: int, y: int, as_of: dt.date | None
) -> HttpResponse | None:
    """The whole register's tile (live, or ``as_of`` a date, the query's only parameter) for the session's user in
    one statement; None: take the usual path."""
    try:
        tiles.check_tile(z, x, y)
    except tiles.TileOutOfRange:
        return None  # the usual path answers 404 after the permission check
    query = _filter_query(request)  # the usual path's, for the same ETag and cache key
    revalidate = [tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",") if tag.strip()]
    cache_key = tiles.cache_key(z=z, x=x, y=y, query=query) if z <= tiles.CACHE_MAX_ZOOM else None
    cached = cache.get(cache_key) if cache_key else None  # (version, bytes)
    found = tiles.signed_in_tile(user_id, z=z, x=x, y=y, build=not (revalidate or cached), as_of=as_of)
    if found is None:
        return None
    user, version, data = found
    roles = permissions.verified_roles(request, user_id, *user)
    if not roles:  # not accepted as is, or no role: Django's checks answer (redirect, 403, sign-out)
        return None
    etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query=query)
    if etag in revalidate:
        return _tile_response(HttpResponse(status=304), etag)
    if data is None and cached and cached[0] == version:
        data = cached[1]
    if data is None:  # a revalidation that changed, or a stale cached copy: build it (a second round trip)
        selection = RegisterSelection(params=QueryDict(), as_of=as_of)
        version, data = tiles.versioned_tile(selection, z=z, x=x, y=y)
        etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query=query)
    if cache_key and not (cached and cached[0] == version):
        cache.set(cache_key, (version, data), timeout=24 * 3600)
    return _tile_response(HttpResponse(data, content_type=tiles.MEDIA_TYPE), etag)


@role_required(permissions.can_view_register)
def _checked_tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    try:
        tiles.check_tile(z, x, y)
    except tiles.TileOutOfRange as exc:
        raise Http404(str(exc)) from exc
    query = _filter_query(request)
    try:  # most tiles carry no query: the whole live register, nothing to parse
        selection = RegisterSelection.from_params(request.GET) if query else RegisterSelection.everything()
    except SelectionError as exc:
        return plain_error(str(exc))

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
        version, data = tiles.versioned_tile(selection, z=z, x=x, y=y)
        etag = tiles.tile_etag(version=version, z=z, x=x, y=y, query=query)
        if cache_key:
            # Low-zoom tiles aggregate tens of thousands of rows and every visitor's first view asks for them: kept
            # with the version they were built from, served only while the register still has that version.
            cache.set(cache_key, (version, data), timeout=24 * 3600)
    return _tile_response(HttpResponse(data, content_type=tiles.MEDIA_TYPE), etag)


@role_required(permissions.can_view_register)
def encumbrance_tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    """The disputed and used parts under the register's filters (maps.encumbrance_tiles); not cached: few, small."""
    from assets.maps import encumbrance_tiles  # here: its line stays out of the imports other branches change

    try:
        tiles.check_tile(z, x, y)
    except tiles.TileOutOfRange as exc:
        raise Http404(str(exc)) from exc
    query = _filter_query(request)
    try:
        selection = RegisterSelection.from_params(request.GET) if query else RegisterSelection.everything()
    except SelectionError as exc:
        return plain_error(str(exc))
    response = HttpResponse(encumbrance_tiles.encumbrance_tile(selection, z=z, x=x, y=y), content_type=tiles.MEDIA_TYPE)
    response["Cache-Control"] = "private, no-store"
    return response


def _tile_response(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # Revalidate every time (cheap: 304 from the register version) so an edit shows on the next pan; private
    # because tiles are for signed-in users only.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    return response


@role_required(permissions.can_view_register)
def asset_popup(request: HttpRequest, pk: int) -> JsonResponse:
    """What the map popup shows for one asset (the page puts it in with textContent); with ``as_of``, the asset
    as recorded at the end of that day, as the as-of map draws it."""
    try:
        as_of = RegisterSelection.from_params(request.GET).as_of
    except SelectionError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    one = RegisterSelection.from_params({"removed": "include"}, as_of=as_of, refine=lambda qs: qs.filter(id=pk))
    record = next(one.records(), None)
    if record is None:
        raise Http404(_("No such asset."))
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
