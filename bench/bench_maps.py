"""Maps and tiles bench (PostGIS bench databases and SpatiaLite files, read-only).

    .venv/bin/python bench/bench_maps.py --db sipanah_bench_10k --db sipanah_bench_100k [--browser] [--reps 5]
    .venv/bin/python bench/bench_maps.py --db var/bench/s100k.sqlite3 --reps 5     # SpatiaLite tile path

Tiles: for z12, z14 and z16, the 3 x 3 tiles around the densest z14 tile, each round every tile through every arm,
the arms' order rotated each round (so none always runs on buffers another just warmed). PostGIS arms: the tile
view called with a request ("view": filters, permissions, ETag, SQL, response; a RequestFactory request with an
in-memory auditor, so nothing is written to the bench database), the same request through Django's whole handler
("endpoint": routing and every middleware), and the floor: the same SQL statement run raw on a psycopg connection
with the same settings (bench_tiles says what "the same" covers). Also the canonical "naive" ST_AsMVT of every
polygon (no points, no aggregation), and for z12 the aggregate counted from the parcels as before the per-cell
counts (assets.tile_cells). SpatiaLite: see bench_spatialite for its floor.

Map page (--browser): headless Chromium opens /map/ served by a threaded WSGI server in this process, then zooms to
the densest area at z16. Reported: bytes of the page with its scripts and styles, bytes of the tiles of the first
view, time to the first features painted, time from setView(z16) to the first parcels painted. The peer is a plain
folium map embedding the same assets as GeoJson (its CDN links replaced by the same local files so it loads offline),
capped at --plain-cap assets because Chromium cannot open the HTML of all of them (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SIPANAH_DEBUG", "1")


def setup_django(db: str) -> None:
    """db: a PostGIS database name, or the path of a SpatiaLite file (ending in .sqlite3)."""
    if db.endswith(".sqlite3"):
        os.environ["DATABASE_URL"] = f"spatialite:///{Path(db).resolve()}"
    else:
        os.environ["DATABASE_URL"] = f"postgis://postgres@127.0.0.1:5432/{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    import django

    django.setup()


def auditor():
    from assets.models import User
    from assets.register import permissions

    user = User(username="bench-auditor")
    user._sipanah_roles = frozenset({permissions.AUDITOR})
    return user


def densest_z14() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT x, y FROM (
              SELECT floor(((ST_XMin(geom) + ST_XMax(geom)) / 2 + 180) / 360 * 16384)::int AS x,
                     floor((1 - ln(tan(radians((ST_YMin(geom) + ST_YMax(geom)) / 2))
                            + 1 / cos(radians((ST_YMin(geom) + ST_YMax(geom)) / 2))) / pi()) / 2 * 16384)::int AS y
              FROM assets_landasset WHERE geom IS NOT NULL) t
            GROUP BY x, y ORDER BY count(*) DESC LIMIT 1"""
        )
        return cursor.fetchone()


def tiles_around(x14: int, y14: int, z: int) -> list[tuple[int, int, int]]:
    shift = z - 14
    cx, cy = (x14 << shift, y14 << shift) if shift >= 0 else (x14 >> -shift, y14 >> -shift)
    if shift > 0:  # the middle of the z14 tile
        cx, cy = cx + (1 << shift) // 2, cy + (1 << shift) // 2
    return [(z, cx + dx, cy + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


NAIVE_SQL = """
SELECT ST_AsMVT(t, 'assets', 4096, 'geom') FROM (
  SELECT id, status_sertifikat AS s,
         ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s), 4096, 64, true) AS geom
  FROM assets_landasset WHERE geom && ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326)) t"""


def decoded(data: bytes) -> list[tuple]:
    """The features of a tile, sorted: to compare tiles whose features come in another order."""
    import mapbox_vector_tile

    layer = (mapbox_vector_tile.decode(data) if data else {}).get("assets", {"features": []})
    return sorted((str(f["geometry"]), sorted(f["properties"].items())) for f in layer["features"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(db: str, z: int, n_tiles: int, arms: dict[str, list[float]], sizes: list[int]) -> dict:
    """p50/p95 of each arm, the ratios of ours to the floor, and the median of the paired ratios (same tile, same
    round: robust to the machine's load moving between rounds)."""
    row = {"db": db, "z": z, "tiles": n_tiles, "n": len(arms["raw"]), "max_kb": max(sizes) / 1024}
    for arm, values in arms.items():
        row[f"{arm}_p50"], row[f"{arm}_p95"] = pct(values, 0.5), pct(values, 0.95)
    for arm in ("view", "endpoint"):
        if arm in arms:
            row[f"{arm}_ratio_p50"] = row[f"{arm}_p50"] / row["raw_p50"]
            row[f"{arm}_ratio_p95"] = row[f"{arm}_p95"] / row["raw_p95"]
            row[f"{arm}_paired"] = pct([a / b for a, b in zip(arms[arm], arms["raw"], strict=True)], 0.5)
    return row


def django_arms() -> tuple[Callable[[int, int, int], bytes], Callable[[int, int, int], bytes]]:
    """Our two arms for a tile: "view", the view function called with a request (filters, permission, ETag, SQL,
    response), and "endpoint", the same request through Django's whole handler (URL routing, every middleware)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    from assets.maps import views as map_views

    factory = RequestFactory(SERVER_NAME="127.0.0.1")
    handler = WSGIHandler()
    user = auditor()

    def view(z: int, x: int, y: int) -> bytes:
        request = factory.get(f"/tiles/assets/{z}/{x}/{y}.pbf")
        request.user = user
        return map_views.asset_tile(request, z, x, y).content

    def endpoint(z: int, x: int, y: int) -> bytes:
        response = handler.get_response(factory.get(f"/tiles/assets/{z}/{x}/{y}.pbf"))
        assert response.status_code == 200, response.status_code  # noqa: S101 - a bench sanity check
        return response.content

    return view, endpoint


def bench_tiles(db: str, reps: int) -> list[dict]:
    """Our tile view and endpoint against the same SQL run raw, interleaved per tile, the order rotated per round.

    Like with like: both sides on a persistent TCP connection to 127.0.0.1 (Django's with DEBUG off: no query
    log), both binding values client-side (psycopg's ClientCursor, as Django does), both with parallel workers off
    (the raw connection once per session; the view's statement calls the PARALLEL UNSAFE version function, see
    tiles._postgis_tile), both on the same buffers (every arm runs each tile once before the timing). The raw side
    sends only the tile's SELECT; ours also reads the register version in the same statement (assets_register_version():
    three index lookups, planned once per connection) and does all the Python around it.
    "view": the view function called with a request (filters, permission, ETag, SQL, response). "endpoint": the
    same request through Django's whole handler: URL routing and every middleware (sessions in signed cookies and
    an in-memory auditor, so no session or user row is read: the bench databases are read-only, and a real
    deployment reads those rows once per request for every view, with or without tiles).
    """
    import psycopg
    from django.core.cache import cache

    from assets.maps import tiles

    view, endpoint = django_arms()
    raw = psycopg.connect(
        f"host=127.0.0.1 user=postgres dbname={db}", autocommit=True, cursor_factory=psycopg.ClientCursor
    )
    raw.execute("SET max_parallel_workers_per_gather = 0")  # as the tile view does (and so for the naive query)
    x14, y14 = densest_z14()

    def floor(z: int, x: int, y: int) -> bytes:
        sql, params = tiles.postgis_tile_sql(None, z=z, x=x, y=y)
        with raw.cursor() as cursor:
            cursor.execute(sql, params)
            return bytes(cursor.fetchone()[0] or b"")

    def naive(z: int, x: int, y: int) -> bytes:
        with raw.cursor() as cursor:
            cursor.execute(NAIVE_SQL, (z, x, y, z, x, y))
            return bytes(cursor.fetchone()[0] or b"")

    def live(z: int, x: int, y: int) -> bytes:
        """The aggregate tile counted from the parcels (as before assets.tile_cells, and as filtered maps do)."""
        sql, params = tiles.postgis_tile_sql(None, z=z, x=x, y=y, cells=False)
        with raw.cursor() as cursor:
            cursor.execute(sql, params)
            return bytes(cursor.fetchone()[0] or b"")

    rows = []
    for z in (12, 14, 16):
        arms = {"view": view, "endpoint": endpoint, "raw": floor, "naive": naive}
        if z < tiles.POINT_ZOOM:
            arms["live"] = live
        coords = tiles_around(x14, y14, z)
        times: dict[str, list[float]] = {name: [] for name in arms}
        cpu: dict[str, list[float]] = {}  # this process's CPU: Python's share, unlike wall time hardly moved by load
        sizes, naive_sizes = [], []
        for _z, x, y in coords:  # warm: buffers, code paths; and the view's tile equals the raw SQL's
            cache.clear()
            assert view(z, x, y) == floor(z, x, y)  # noqa: S101 - a bench sanity check
            endpoint(z, x, y)
            naive(z, x, y)
            if "live" in arms:  # the same features, in another order (so not the same bytes)
                assert decoded(live(z, x, y)) == decoded(floor(z, x, y))  # noqa: S101 - a bench sanity check
        order = list(arms)
        for rep in range(reps):
            for _z, x, y in coords:
                for name in order[rep % len(order) :] + order[: rep % len(order)]:
                    cache.clear()  # measure building the tile, not the low-zoom cache
                    t0, c0 = time.perf_counter(), time.thread_time()
                    data = arms[name](z, x, y)
                    times[name].append((time.perf_counter() - t0) * 1000)
                    cpu.setdefault(name, []).append((time.thread_time() - c0) * 1000)
                    if name == "view":
                        sizes.append(len(data))
                    elif name == "naive":
                        naive_sizes.append(len(data))
        row = _summary(db, z, len(coords), {k: v for k, v in times.items() if k in ("view", "endpoint", "raw")}, sizes)
        row["naive_p50"], row["naive_max_kb"] = pct(times["naive"], 0.5), max(naive_sizes) / 1024
        row["cpu_view"], row["cpu_endpoint"], row["cpu_raw"] = (pct(cpu[a], 0.5) for a in ("view", "endpoint", "raw"))
        row["live_p50"] = pct(times["live"], 0.5) if "live" in times else None
        row["live_p95"] = pct(times["live"], 0.95) if "live" in times else None
        rows.append(row)
    raw.close()
    return rows


def print_tiles(rows: list[dict]) -> None:
    print(
        "| DB | zoom | tiles x rounds | view p50 / p95 ms | endpoint p50 / p95 ms | same SQL raw p50 / p95 ms "
        "| view / raw p50, p95 (paired) | endpoint / raw p50, p95 (paired) | max tile KB "
        "| naive ST_AsMVT p50 ms / max KB | aggregates counted live p50 / p95 ms "
        "| client CPU p50 ms view / endpoint / raw |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['db']} | z{r['z']} | {r['tiles']} x {r['n'] // r['tiles']} "
            f"| {r['view_p50']:.1f} / {r['view_p95']:.1f} | {r['endpoint_p50']:.1f} / {r['endpoint_p95']:.1f} "
            f"| {r['raw_p50']:.1f} / {r['raw_p95']:.1f} "
            f"| {r['view_ratio_p50']:.2f}, {r['view_ratio_p95']:.2f} ({r['view_paired']:.2f}) "
            f"| {r['endpoint_ratio_p50']:.2f}, {r['endpoint_ratio_p95']:.2f} ({r['endpoint_paired']:.2f}) "
            f"| {r['max_kb']:.1f} | {r['naive_p50']:.1f} / {r['naive_max_kb']:.1f} "
            + (f"| {r['live_p50']:.1f} / {r['live_p95']:.1f} " if r["live_p50"] is not None else "| – ")
            + f"| {r['cpu_view']:.2f} / {r['cpu_endpoint']:.2f} / {r['cpu_raw']:.2f} |"
        )


# --- SpatiaLite -----------------------------------------------------------------------------------------------------


def spatialite_densest_z14() -> tuple[int, int]:
    """The densest z14 tile, counted in Python (SpatiaLite's SQL math depends on how SQLite was built)."""
    from collections import Counter

    from django.db import connection

    from assets.maps import tiles

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (MbrMinX(geom) + MbrMaxX(geom)) / 2, (MbrMinY(geom) + MbrMaxY(geom)) / 2 "
            "FROM assets_landasset WHERE geom IS NOT NULL"
        )
        points = cursor.fetchall()
    import numpy as np

    lon = np.array([p[0] for p in points])
    lat = np.radians(np.array([p[1] for p in points]))
    px, py = tiles._lonlat_to_tile(lon, lat, 14, 0, 0)
    counts = Counter(zip((px // tiles.EXTENT).astype(int), (py // tiles.EXTENT).astype(int), strict=True))
    (x, y), _n = counts.most_common(1)[0]
    return int(x), int(y)


def bench_spatialite(path: str, reps: int) -> list[dict]:
    """SpatiaLite: our view and endpoint against the floor of the same selection run raw, encoded the same way.

    SpatiaLite has no MVT encoder, so there is no "raw SQL tile" to compare with. The floor is the least any
    SpatiaLite tile server built on this encoder must do: one SQL statement on Python's sqlite3 (mod_spatialite
    loaded) selecting the tile's rows through the same R*Tree (the same bounds, geometry as WKB), or for z12 the
    same per-cell counts, and the same numpy/shapely/mapbox-vector-tile encoding (tiles._polygon_features /
    _point_features / _encode). "live" is the z12 aggregate counted from the parcels instead. What ours
    adds: the ORM, the register version, the view and the middleware. GDAL's MVT driver (ogr2ogr -f MVT) was not
    taken as the floor: it writes a directory of tiles for a whole extent and zoom range, so a per-tile time
    would mostly measure its file output, and its tiles would not have our attributes or aggregates.
    """
    import sqlite3

    import shapely
    from django.core.cache import cache

    from assets.maps import tile_cells, tiles

    view, endpoint = django_arms()
    raw = sqlite3.connect(path)
    raw.enable_load_extension(True)
    raw.load_extension("mod_spatialite")
    x14, y14 = spatialite_densest_z14()
    select = (
        'SELECT id, status_sertifikat, tahap_sertifikat, bermasalah, {cols} FROM "assets_landasset" '
        'WHERE geom IS NOT NULL AND id IN (SELECT pkid FROM "idx_assets_landasset_geom" '
        "WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?)"
    )
    polygon_sql = select.format(cols="AsBinary(geom)")
    box_sql = select.format(cols="MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom)")

    def counted(z: int, x: int, y: int) -> bytes:
        west, south, east, north = tiles._selection_bounds(z, x, y)
        bounds = (west, east, south, north)
        if z >= tiles.POLYGON_MIN_ZOOM:
            rows = raw.execute(polygon_sql, bounds)
            return tiles._encode(tiles._polygon_features(rows, z, x, y))
        return tiles._encode(tiles._point_features(raw.execute(box_sql, bounds).fetchall(), z, x, y))

    def floor(z: int, x: int, y: int) -> bytes:
        if z >= tiles.POINT_ZOOM:
            return counted(z, x, y)
        sql, params = tile_cells.tile_sql(z, x, y)  # the unfiltered map's aggregates: from the per-cell counts
        half = tiles.AGG_CELL // 2
        features = [
            {
                "geometry": shapely.Point(cx * tiles.AGG_CELL + half, cy * tiles.AGG_CELL + half),
                "properties": dict(zip(tile_cells.COUNTS, map(int, counts), strict=True)),
            }
            for cx, cy, *counts in raw.execute(sql.replace("%s", "?"), params)
        ]
        return tiles._encode(features)

    rows = []
    for z in (12, 14, 16):
        arms = {"view": view, "endpoint": endpoint, "raw": floor}
        if z < tiles.POINT_ZOOM:
            arms["live"] = counted  # the aggregates counted from the parcels (filtered maps still do)
        coords = tiles_around(x14, y14, z)
        times: dict[str, list[float]] = {name: [] for name in arms}
        sizes = []
        for _z, x, y in coords:  # warm, and check that the floor builds the same tile
            cache.clear()
            assert decoded(view(z, x, y)) == decoded(floor(z, x, y))  # noqa: S101 - a bench sanity check
            endpoint(z, x, y)
        order = list(arms)
        for rep in range(reps):
            for _z, x, y in coords:
                for name in order[rep % len(order) :] + order[: rep % len(order)]:
                    cache.clear()
                    t0 = time.perf_counter()
                    data = arms[name](z, x, y)
                    times[name].append((time.perf_counter() - t0) * 1000)
                    if name == "view":
                        sizes.append(len(data))
        row = _summary(Path(path).name, z, len(coords), {k: v for k, v in times.items() if k != "live"}, sizes)
        row["live_p50"] = pct(times["live"], 0.5) if "live" in times else None
        row["live_p95"] = pct(times["live"], 0.95) if "live" in times else None
        rows.append(row)
    raw.close()
    return rows


def print_spatialite(rows: list[dict]) -> None:
    print(
        "| DB | zoom | tiles x rounds | view p50 / p95 ms | endpoint p50 / p95 ms "
        "| raw select + same encoder p50 / p95 ms | view / floor p50, p95 (paired) "
        "| endpoint / floor p50, p95 (paired) | max tile KB | aggregates counted live p50 / p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['db']} | z{r['z']} | {r['tiles']} x {r['n'] // r['tiles']} "
            f"| {r['view_p50']:.1f} / {r['view_p95']:.1f} | {r['endpoint_p50']:.1f} / {r['endpoint_p95']:.1f} "
            f"| {r['raw_p50']:.1f} / {r['raw_p95']:.1f} "
            f"| {r['view_ratio_p50']:.2f}, {r['view_ratio_p95']:.2f} ({r['view_paired']:.2f}) "
            f"| {r['endpoint_ratio_p50']:.2f}, {r['endpoint_ratio_p95']:.2f} ({r['endpoint_paired']:.2f}) "
            f"| {r['max_kb']:.1f} "
            + (f"| {r['live_p50']:.1f} / {r['live_p95']:.1f} |" if r["live_p50"] is not None else "| – |")
        )


# --- browser -------------------------------------------------------------------------------------------------------


def serve() -> tuple[str, object]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # noqa: ANN002
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def plain_folium_html(cap: int, center: tuple[float, float]) -> str:
    """A plain folium map with the assets nearest the densest area embedded as GeoJson (folium's usual way)."""
    import json

    import folium
    from django.contrib.gis.db.models.functions import Distance
    from django.contrib.gis.geos import Point
    from django.templatetags.static import static

    from assets.models import LandAsset

    point = Point(center[1], center[0], srid=4326)
    qs = (
        LandAsset.objects.filter(geom__isnull=False, geom__dwithin=(point, 0.2))
        .annotate(d=Distance("geom", point))
        .order_by("d")
        .values_list("id", "nama_barang", "status_sertifikat", "geom")[:cap]
    )
    features = [
        {"type": "Feature", "geometry": json.loads(g.geojson), "properties": {"id": i, "nama": n, "s": s}}
        for i, n, s, g in qs
    ]
    m = folium.Map(location=center, zoom_start=16, tiles=None, prefer_canvas=False)
    colors = {"belum": "#d73027", "proses": "#f39c12", "terbit": "#1a9850"}
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {"color": colors[f["properties"]["s"]], "weight": 1},
        tooltip=folium.GeoJsonTooltip(fields=["nama"]),
    ).add_to(m)
    html = m.get_root().render()
    # Same vendored Leaflet as ours; folium's other CDN files (jQuery, Bootstrap, Font Awesome) are dropped.
    html = re.sub(
        r'"https?://[^"]*/leaflet@[^"/]*/dist/leaflet\.(js|css)"',
        lambda match: '"' + static(f"vendor/leaflet/leaflet.{match.group(1)}") + '"',
        html,
    )
    lines = [
        line
        for line in html.splitlines()
        if not (('<script src="http' in line) or ('<link rel="stylesheet" href="http' in line))
    ]
    html = "\n".join(lines)
    hook = (
        "<script>requestAnimationFrame(function(){window.plainPaint=performance.now();"
        "window.plainPaths=document.querySelectorAll('.leaflet-overlay-pane path').length;});</script></html>"
    )
    return html.replace("</html>", hook), len(features)


def transfer(driver, match: str | None = None) -> int:
    """Bytes over the wire: the tiles (match="tiles") or everything else (page, scripts, styles, totals)."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.initiatorType, e.transferSize || e.encodedBodySize || 0])"
    )
    total = 0
    for name, _kind, size in entries:
        is_tile = "/tiles/" in name
        if (match == "tiles") == is_tile:
            total += size
    return total


def bench_browser(db: str, base: str, cap: int) -> dict:
    from django.conf import settings
    from django.db import connection
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import chromium

    x14, y14 = densest_z14()
    import math

    lon = (x14 + 0.5) / 16384 * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y14 + 0.5) / 16384))))
    connection.close()
    out: dict = {"db": db}
    from urllib.request import urlopen

    for _ in range(2):  # steady state: the process has loaded its code and the boundary cache
        with urlopen(base + "/map/?basemap=none") as response:  # noqa: S310 - our own local server
            response.read()
    driver = chromium()
    try:
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        wait = WebDriverWait(driver, 120)
        t0 = time.perf_counter()
        driver.get(base + "/map/?basemap=none")
        wait.until(lambda d: d.execute_script("return window.sipanahMapStats && window.sipanahMapStats.firstPaintMs"))
        out["first_paint_ms"] = driver.execute_script("return window.sipanahMapStats.firstPaintMs")
        wait.until(lambda d: d.execute_script("return window.sipanahMapStats.allLoadedMs"))
        out["all_loaded_ms"] = driver.execute_script("return window.sipanahMapStats.allLoadedMs")
        out["page_kb"] = transfer(driver) / 1024
        out["tiles_kb"] = transfer(driver, match="tiles") / 1024
        out["wall_s"] = time.perf_counter() - t0
        driver.execute_script(
            "window.sipanahMapStats.firstPaintMs = null; window.zoomStart = performance.now();"
            "window.sipanahMap.setView([arguments[0], arguments[1]], 16, {animate: false});",
            lat,
            lon,
        )
        wait.until(lambda d: d.execute_script("return window.sipanahMapStats.firstPaintMs"))
        out["z16_paint_ms"] = driver.execute_script("return window.sipanahMapStats.firstPaintMs - window.zoomStart")

        # Again: the aggregate tiles of the first view now come from the server's tile cache (the usual case:
        # every visitor of the unfiltered map asks for the same ones).
        driver.get(base + "/map/?basemap=none")
        wait.until(lambda d: d.execute_script("return window.sipanahMapStats && window.sipanahMapStats.allLoadedMs"))
        out["warm_paint_ms"] = driver.execute_script("return window.sipanahMapStats.firstPaintMs")
        out["warm_loaded_ms"] = driver.execute_script("return window.sipanahMapStats.allLoadedMs")

        html, n = plain_folium_html(cap, (lat, lon))
        folder = Path(settings.STATIC_ROOT_BENCH)
        (folder / "plain.html").write_text(html)
        driver.get(base + "/static/bench-plain/plain.html")
        wait.until(lambda d: d.execute_script("return window.plainPaint"))
        out["plain_n"] = n
        out["plain_paint_ms"] = driver.execute_script("return window.plainPaint")
        out["plain_kb"] = transfer(driver) / 1024
    finally:
        driver.quit()
    return out


def print_browser(rows: list[dict]) -> None:
    print(
        "| DB | /map/ page + scripts KB | first-view tiles KB | first features painted ms (cold / cached tiles) "
        "| first view complete ms (cold / cached) | z16 parcels painted ms | plain folium: assets embedded "
        "| plain KB | plain painted ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [
            r["db"],
            f"{r['page_kb']:.0f}",
            f"{r['tiles_kb']:.0f}",
            f"{r['first_paint_ms']:.0f} / {r['warm_paint_ms']:.0f}",
            f"{r['all_loaded_ms']:.0f} / {r['warm_loaded_ms']:.0f}",
            f"{r['z16_paint_ms']:.0f}",
            f"{r['plain_n']:,}",
            f"{r['plain_kb']:.0f}",
            f"{r['plain_paint_ms']:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--db",
        action="append",
        required=True,
        help="PostGIS bench database name, or a SpatiaLite file path ending in .sqlite3 (tiles only); repeatable",
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also measure the map page in headless Chromium")
    parser.add_argument("--plain-cap", type=int, default=20_000, help="assets embedded in the plain folium map")
    parser.add_argument("--skip-tiles", action="store_true")
    args = parser.parse_args()
    if len(args.db) > 1:  # one Django setup per process: run each database in a child
        import subprocess

        for db in args.db:
            cmd = [sys.executable, __file__, "--db", db, "--reps", str(args.reps), "--plain-cap", str(args.plain_cap)]
            cmd += ["--browser"] if args.browser else []
            cmd += ["--skip-tiles"] if args.skip_tiles else []
            subprocess.run(cmd, check=True)  # noqa: S603 - this script with its own arguments
        return
    db = args.db[0]
    static_dir = tempfile.mkdtemp(prefix="sipanah-bench-")
    os.environ["SIPANAH_BENCH_STATIC"] = static_dir
    setup_django(db)
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    if MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes()):
        sys.exit(f"{db} is not migrated to this code (e.g. 0004, the per-cell tile counts): run manage.py migrate.")
    if db.endswith(".sqlite3"):
        print_spatialite(bench_spatialite(db, args.reps))
        return
    if not args.skip_tiles:
        print_tiles(bench_tiles(db, args.reps))
    if args.browser:
        base, server = serve()
        print_browser([bench_browser(db, base, args.plain_cap)])
        server.shutdown()


if __name__ == "__main__":
    main()
