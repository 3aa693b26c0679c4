"""Maps and tiles bench (PostGIS bench databases, read-only).

    .venv/bin/python bench/bench_maps.py --db sipanah_bench_10k --db sipanah_bench_100k [--browser] [--reps 5]

Tiles: for z12, z14 and z16, the 3 x 3 tiles around the densest z14 tile. Each tile is fetched through the tile view
(filters, permissions, ETag, SQL, response; a RequestFactory request with an in-memory auditor, so nothing is written
to the bench database) and, as the floor, by running the same SQL statement raw on a psycopg connection. As a third
column, the canonical "naive" ST_AsMVT of every polygon (no points, no aggregation) shows what the zoom bands save.

Map page (--browser): headless Chromium opens /map/ served by a threaded WSGI server in this process, then zooms to
the densest area at z16. Reported: bytes of the page with its scripts and styles, bytes of the tiles of the first
view, time to the first features painted, time from setView(z16) to the first parcels painted. The peer is a plain
folium map embedding the same assets as GeoJson (its CDN links replaced by the same local files so it loads offline),
capped at --plain-cap assets because Chromium cannot open the HTML of all of them (see README).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SIPANAH_DEBUG", "1")


def setup_django(db: str) -> None:
    os.environ["DATABASE_URL"] = f"postgis://postgres@127.0.0.1:5432/{db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    import django

    django.setup()


def auditor():
    from assets import permissions
    from assets.models import User

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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_tiles(db: str, reps: int) -> list[dict]:
    import psycopg
    from django.core.cache import cache
    from django.test import RequestFactory

    from assets import map_views, tiles

    factory = RequestFactory()
    user = auditor()
    raw = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={db}", autocommit=True)
    raw.execute("SET max_parallel_workers_per_gather = 0")  # as the tile view does (and so for the naive query)
    x14, y14 = densest_z14()
    rows = []
    for z in (12, 14, 16):
        coords = tiles_around(x14, y14, z)
        ours, floor, naive, sizes, naive_sizes = [], [], [], [], []
        for _z, x, y in coords:  # warm the caches (shared buffers, version memo) once per tile
            request = factory.get(f"/tiles/assets/{z}/{x}/{y}.pbf")
            request.user = user
            map_views.asset_tile(request, z, x, y)
        for _rep in range(reps):
            for _z, x, y in coords:
                request = factory.get(f"/tiles/assets/{z}/{x}/{y}.pbf")
                request.user = user
                cache.clear()  # measure building the tile, not the low-zoom cache
                t0 = time.perf_counter()
                response = map_views.asset_tile(request, z, x, y)
                ours.append((time.perf_counter() - t0) * 1000)
                sizes.append(len(response.content))
                sql, params = tiles.postgis_tile_sql(None, z=z, x=x, y=y)
                t0 = time.perf_counter()
                with raw.cursor() as cursor:
                    cursor.execute(sql.replace("%s", "%s"), params)
                    cursor.fetchone()
                floor.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                with raw.cursor() as cursor:
                    cursor.execute(NAIVE_SQL, (z, x, y, z, x, y))
                    data = cursor.fetchone()[0]
                naive.append((time.perf_counter() - t0) * 1000)
                naive_sizes.append(len(data or b""))
        rows.append(
            {
                "db": db,
                "z": z,
                "tiles": len(coords),
                "ours_p50": pct(ours, 0.5),
                "ours_p95": pct(ours, 0.95),
                "raw_p50": pct(floor, 0.5),
                "raw_p95": pct(floor, 0.95),
                "ratio_p50": pct(ours, 0.5) / pct(floor, 0.5),
                "ratio_p95": pct(ours, 0.95) / pct(floor, 0.95),
                "max_kb": max(sizes) / 1024,
                "naive_p50": pct(naive, 0.5),
                "naive_max_kb": max(naive_sizes) / 1024,
            }
        )
    raw.close()
    return rows


def print_tiles(rows: list[dict]) -> None:
    print(
        "| DB | zoom | tiles x reps | ours p50 / p95 ms | same SQL raw p50 / p95 ms | ratio p50 / p95 | max tile KB "
        "| naive ST_AsMVT p50 ms / max KB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['db']} | z{r['z']} | {r['tiles']} x reps | {r['ours_p50']:.1f} / {r['ours_p95']:.1f} "
            f"| {r['raw_p50']:.1f} / {r['raw_p95']:.1f} | {r['ratio_p50']:.2f} / {r['ratio_p95']:.2f} "
            f"| {r['max_kb']:.1f} | {r['naive_p50']:.1f} / {r['naive_max_kb']:.1f} |"
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
    parser.add_argument("--db", action="append", required=True, help="bench database name (repeatable)")
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
    if not args.skip_tiles:
        print_tiles(bench_tiles(db, args.reps))
    if args.browser:
        base, server = serve()
        print_browser([bench_browser(db, base, args.plain_cap)])
        server.shutdown()


if __name__ == "__main__":
    main()
