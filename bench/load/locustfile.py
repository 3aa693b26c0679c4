"""Load scenario for Sipanah: signed-in officers, auditors, planners and BPKAD staff using the register, the map
and the API at the same time. Run by bench/load/run.py (which prepares the database copy, the users, gunicorn and
the scenario data); the module runs inside the bench virtualenv (locust), never the app's.

Each simulated user signs in through the login form first. Signing in costs ~0.4 s of CPU (PBKDF2 with Django's
1,000,000 iterations) and an office signs in once a day, not 50 times within the measured minute: so every user
signs in, then waits at a gate; when the last one is in, the statistics are reset and the measured window
(``--measure-seconds``) starts. The sign-ins are reported on their own (``login.json``).

Requests are named by endpoint group (the rows of the report). A response counts as an error unless it is the
expected status (200; 304 for a tile revalidated with its ETag) with the expected content type: a redirect to the
login page or any 4xx/5xx fails it.

Scenario data (``--scenario FILE``, JSON written by run.py): the densest z14 tile's centre, sample asset ids,
the officer's own asset ids, agency/kecamatan/kelurahan codes and search words.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from gevent.pool import Pool
from locust import FastHttpUser, between, events

PASSWORD = "sipanah-demo"  # noqa: S105 - the demo users of the throw-away database copy (create_demo_users)
TILE_SIZE = 256
VIEWPORT = (960, 520)  # /map/'s map on a 1366x768 office laptop (beside the 22rem filter column, 72vh high)
DETAIL_VIEWPORT = (1000, 384)  # the asset page's map (24rem high), at z17 around the parcel
BROWSER_CONNECTIONS = 6  # parallel requests per host, as HTTP/1.1 browsers do
FIT_BOUNDS_RE = re.compile(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]\]")
STATIC_RE = re.compile(r"""(?:src|href)="(/static/[^"]+\.(?:js|css))\"""")

SCENARIO: dict = {}
_gate = Event()
_state = {"signed_in": 0, "expected": 0, "login_ms": [], "login_failures": 0, "window_start": None}


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--scenario", default="", help="scenario data JSON written by bench/load/run.py")
    parser.add_argument("--measure-seconds", type=float, default=60, help="measured window after every sign-in")
    parser.add_argument("--result", default="", help="where to write the results (JSON)")
    parser.add_argument("--marker-dir", default="", help="window-open / window-closed files are written here")


@events.init.add_listener
def _init(environment, **_kwargs) -> None:
    options = environment.parsed_options
    if options is None:
        return
    if options.scenario:
        SCENARIO.update(json.loads(Path(options.scenario).read_text()))
    _state["expected"] = options.num_users or 1


def _open_gate(environment) -> None:
    """Every user has signed in: reset the statistics, measure for --measure-seconds, then stop."""
    environment.runner.stats.reset_all()
    _state["window_start"] = time.time()
    _mark(environment, "window-open")
    _gate.set()

    def stop() -> None:
        gevent.sleep(environment.parsed_options.measure_seconds)
        _state["window_end"] = time.time()
        _mark(environment, "window-closed")
        environment.runner.quit()

    gevent.spawn(stop)


def _mark(environment, name: str) -> None:
    """Tell run.py (which samples the server's CPU time) that the measured window opened or closed."""
    if environment.parsed_options.marker_dir:
        Path(environment.parsed_options.marker_dir, name).write_text(str(time.time()))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@events.quitting.add_listener
def _write_results(environment, **_kwargs) -> None:
    options = environment.parsed_options
    if not options or not options.result:
        return
    stats = environment.runner.stats
    start = _state["window_start"]
    end = _state.get("window_end") or time.time()
    seconds = (end - start) if start else 0.0

    def row(entry) -> dict:
        return {
            "name": entry.name,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
            "avg_ms": entry.avg_response_time,
            "bytes_avg": entry.avg_content_length,
        }

    logins = _state["login_ms"]
    result = {
        "measured_seconds": seconds,
        "gate_opened": start is not None,
        "users": _state["expected"],
        "signed_in": _state["signed_in"],
        "rows": [row(e) for e in sorted(stats.entries.values(), key=lambda e: e.name)],
        "total": row(stats.total),
        "errors": [
            {"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
        "login": {
            "count": len(logins),
            "failures": _state["login_failures"],
            "p50_ms": _pct(logins, 0.5),
            "p95_ms": _pct(logins, 0.95),
            "max_ms": max(logins) if logins else 0.0,
        },
    }
    Path(options.result).write_text(json.dumps(result, indent=1))


# --- Web Mercator tile arithmetic (what Leaflet does for the map's viewport) ---


def _world_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    scale = TILE_SIZE * 2**z
    x = (lon + 180) / 360 * scale
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def viewport_tiles(lon: float, lat: float, z: int, size: tuple[int, int] = VIEWPORT) -> list[tuple[int, int, int]]:
    """The tiles a map of ``size`` pixels centred on (lon, lat) at zoom z shows, centre first (as Leaflet orders)."""
    cx, cy = _world_px(lon, lat, z)
    w, h = size
    x0, x1 = int((cx - w / 2) // TILE_SIZE), int((cx + w / 2) // TILE_SIZE)
    y0, y1 = int((cy - h / 2) // TILE_SIZE), int((cy + h / 2) // TILE_SIZE)
    tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    ctx, cty = cx / TILE_SIZE, cy / TILE_SIZE
    return sorted(tiles, key=lambda t: (t[1] + 0.5 - ctx) ** 2 + (t[2] + 0.5 - cty) ** 2)


def _jitter(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """A point within ``metres`` of (lon, lat): users look around the dense area, not at one pixel."""
    dx, dy = random.uniform(-metres, metres), random.uniform(-metres, metres)
    return lon + dx / (111_320 * math.cos(math.radians(lat))), lat + dy / 110_540


class SipanahUser(FastHttpUser):
    """A signed-in member of staff with a browser: ETags remembered, static files fetched once, tiles in parallel."""

    abstract = True
    username = ""
    wait_time = between(1, 5)  # reading the page before the next click
    insecure = True
    concurrency = BROWSER_CONNECTIONS

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}
        self.static_seen: set[str] = set()
        self.last_list_ids: list[int] = []
        self._sign_in()
        if _state["signed_in"] >= _state["expected"] and not _gate.is_set():
            _open_gate(self.environment)
        _gate.wait()

    def _sign_in(self) -> None:
        started = time.perf_counter()
        ok = False
        try:
            page = self.client.get("/accounts/login/", name="login (form)", allow_redirects=False)
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text or "")
            if page.status_code == 200 and match:
                response = self.client.post(
                    "/accounts/login/",
                    data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": match.group(1)},
                    name="login (post)",
                    allow_redirects=False,
                )
                ok = response.status_code == 302 and "/accounts/login/" not in response.headers.get("Location", "")
        finally:  # counted whatever happened, so that the gate opens and the failure is reported
            _state["login_ms"].append((time.perf_counter() - started) * 1000)
            _state["login_failures"] += not ok
            _state["signed_in"] += 1

    # --- requests ---

    def get(self, url: str, name: str, *, kind: str = "html", revalidate: bool = False, static: bool = True) -> str:
        """GET url as the browser would; a failure unless 200 (or 304 when revalidating) with the right type."""
        headers = {}
        if revalidate and url in self.etags:
            headers["If-None-Match"] = self.etags[url]
        with self.client.get(url, name=name, headers=headers, allow_redirects=False, catch_response=True) as response:
            expected = {"html": "text/html", "json": "json", "pbf": "application/vnd.mapbox-vector-tile"}[kind]
            if revalidate and response.status_code == 304:
                response.success()
                return ""
            content_type = response.headers.get("Content-Type", "")
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code} {response.headers.get('Location', '')}".strip())
                return ""
            if expected not in content_type:
                response.failure(f"content type {content_type!r}, expected {expected}")
                return ""
            if revalidate and response.headers.get("ETag"):
                self.etags[url] = response.headers["ETag"]
            text = response.text if kind != "pbf" else ""
        if kind == "html" and static and text:
            self._static(text)
        return text

    def _static(self, html: str) -> None:
        """The page's scripts and styles, once per user (hashed names, cached by the browser for a year)."""
        new = [url for url in dict.fromkeys(STATIC_RE.findall(html)) if url not in self.static_seen]
        self.static_seen.update(new)
        if new:
            pool = Pool(BROWSER_CONNECTIONS)
            pool.map(self._static_one, new)

    def _static_one(self, url: str) -> None:
        with self.client.get(url, name="static", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")

    def tiles(self, lon: float, lat: float, z: int, size: tuple[int, int] = VIEWPORT) -> None:
        """The viewport's tiles at zoom z, six at a time, revalidated with their ETags when seen before."""
        urls = [f"/tiles/assets/{tz}/{tx}/{ty}.pbf" for tz, tx, ty in viewport_tiles(lon, lat, z, size)]
        name = f"tile z{z}"
        pool = Pool(BROWSER_CONNECTIONS)
        pool.map(lambda url: self.get(url, name, kind="pbf", revalidate=True), urls)

    # --- scenario data ---

    def asset_id(self) -> int:
        if self.last_list_ids and random.random() < 0.7:
            return random.choice(self.last_list_ids)  # a row of the list just read
        return random.choice(SCENARIO["asset_ids"])

    def dense_point(self, metres: float = 1500) -> tuple[float, float]:
        lon, lat = SCENARIO["densest"]
        return _jitter(lon, lat, metres)

    def bbox(self, half_metres: float) -> str:
        lon, lat = self.dense_point()
        dlon = half_metres / (111_320 * math.cos(math.radians(lat)))
        dlat = half_metres / 110_540
        return f"{lon - dlon:.6f},{lat - dlat:.6f},{lon + dlon:.6f},{lat + dlat:.6f}"

    def list_filters(self) -> dict[str, str]:
        choices = [
            lambda: {"status": random.choice(["belum", "proses", "terbit"])},
            lambda: {"agency": random.choice(SCENARIO["agencies"])},
            lambda: {"kecamatan": random.choice(SCENARIO["kecamatan"])},
            lambda: {"kelurahan": random.choice(SCENARIO["kelurahan"])},
            lambda: {"q": random.choice(SCENARIO["words"])},
            lambda: {"tahun_min": str(random.randint(1975, 2020))},
            lambda: {"jenis_hak": random.choice(["HP", "HM", "HPL"])},
            lambda: {"status": "proses", "kecamatan": random.choice(SCENARIO["kecamatan"])},
            lambda: {},
        ]
        params = random.choice(choices)()
        if random.random() < 0.3:
            params["page"] = str(random.randint(2, 5))
        return params

    # --- tasks (the weights are set per role below) ---

    def register_list(self, params: dict[str, str] | None = None) -> None:
        params = self.list_filters() if params is None else params
        html = self.get("/assets/?" + urlencode(params), "register list")
        ids = [int(i) for i in re.findall(r'href="/assets/(\d+)/"', html)]
        if ids:
            self.last_list_ids = ids

    def asset_detail(self, pk: int | None = None) -> None:
        """The asset page, then the tiles of its map (z17 around the parcel, the neighbours drawn faint)."""
        html = self.get(f"/assets/{pk or self.asset_id()}/", "asset detail")
        bounds = FIT_BOUNDS_RE.search(html)
        if bounds:
            lat0, lon0, lat1, lon1 = (float(v) for v in bounds.groups())
            self.tiles((lon0 + lon1) / 2, (lat0 + lat1) / 2, 17, DETAIL_VIEWPORT)

    def home(self) -> None:
        self.get("/", "home")

    def open_map(self) -> None:
        """The map page, its first view of z12 tiles around the city, then the headline numbers."""
        self.get("/map/", "map page")
        self.tiles(SCENARIO["city_center"][0], SCENARIO["city_center"][1], 12)
        self.get("/map/totals/", "map totals", kind="json")

    def filtered_map(self) -> None:
        params = urlencode(random.choice([{"status": "belum"}, {"agency": random.choice(SCENARIO["agencies"])}]))
        self.get(f"/map/?{params}", "map page")
        self.tiles(SCENARIO["city_center"][0], SCENARIO["city_center"][1], 12)
        self.get(f"/map/totals/?{params}", "map totals", kind="json")

    def zoom_z14(self) -> None:
        self.tiles(*self.dense_point(), 14)

    def zoom_z16(self) -> None:
        lon, lat = self.dense_point()
        self.tiles(lon, lat, 16)
        self.popup()

    def popup(self) -> None:
        self.get(f"/map/assets/{self.asset_id()}/popup/", "map popup", kind="json")

    def api_bbox(self) -> None:
        self.get(f"/api/v1/assets/?bbox={self.bbox(500)}&page_size=100", "api bbox", kind="json")

    def ogc_bbox(self) -> None:
        self.get(f"/ogc/collections/assets/items?bbox={self.bbox(500)}&limit=1000&f=json", "ogc bbox", kind="json")

    def api_aggregate(self) -> None:
        self.get(f"/api/v1/assets/aggregate/?bbox={self.bbox(1000)}", "api aggregate", kind="json")

    def spatial_query(self) -> None:
        """The planners' query page: a drawn rectangle or a circle around a point, with totals and result map."""
        if random.random() < 0.5:
            params = {"bbox": self.bbox(250)}
        else:
            lon, lat = self.dense_point()
            params = {"point": f"{lon:.6f},{lat:.6f}", "distance": str(random.choice([100, 200, 300]))}
        self.get("/query/?" + urlencode(params), "spatial query")


class Officer(SipanahUser):
    """Pengurus barang of one agency (Disdikbud): their own assets, and the map around them."""

    weight = 4
    username = "officer"

    def own_list(self) -> None:
        params = {"agency": SCENARIO["officer_agency"]}
        if random.random() < 0.5:
            params.update(self.list_filters())
        self.register_list(params)

    def own_detail(self) -> None:
        if self.last_list_ids and random.random() < 0.7:
            pk = random.choice(self.last_list_ids)
        else:
            pk = random.choice(SCENARIO["officer_asset_ids"])
        self.asset_detail(pk)

    tasks = {
        own_list: 4,
        own_detail: 4,
        SipanahUser.home: 1,
        SipanahUser.open_map: 1,
        SipanahUser.zoom_z14: 2,
        SipanahUser.zoom_z16: 2,
    }


class Auditor(SipanahUser):
    weight = 2
    username = "auditor"
    tasks = {
        SipanahUser.register_list: 4,
        SipanahUser.asset_detail: 3,
        SipanahUser.open_map: 1,
        SipanahUser.filtered_map: 1,
        SipanahUser.zoom_z14: 2,
        SipanahUser.zoom_z16: 1,
        SipanahUser.ogc_bbox: 1,
        SipanahUser.api_bbox: 1,
    }


class Planner(SipanahUser):
    weight = 2
    username = "planner"
    tasks = {
        SipanahUser.spatial_query: 2,
        SipanahUser.api_bbox: 2,
        SipanahUser.ogc_bbox: 2,
        SipanahUser.api_aggregate: 2,
        SipanahUser.open_map: 1,
        SipanahUser.zoom_z14: 2,
        SipanahUser.zoom_z16: 2,
        SipanahUser.register_list: 1,
        SipanahUser.asset_detail: 1,
    }


class Bpkad(SipanahUser):
    weight = 2
    username = "bpkad"
    tasks = {
        SipanahUser.home: 1,
        SipanahUser.register_list: 3,
        SipanahUser.asset_detail: 3,
        SipanahUser.open_map: 1,
        SipanahUser.filtered_map: 1,
        SipanahUser.zoom_z14: 2,
        SipanahUser.zoom_z16: 2,
        SipanahUser.api_aggregate: 1,
    }
