"""Hostile input on every HTML form and page parameter (hypothesis): never a 500, and a refused input changes
nothing in the database.

Each target gets values mixed from generated ones (unicode, numbers of any size, dates, bytes, WKT/GeoJSON built
from arbitrary floats) and a list of known troublemakers (NUL bytes, SQL and HTML fragments, format strings,
70,000-character strings, out-of-range and malformed dates and numbers, broken geometry). The API and OGC API are
fuzzed from their OpenAPI schemas in tests/interop/test_api_schema.py; the vector tiles are fuzzed here.

Bounded and reproducible for CI: ``derandomize=True`` (the same examples every run) and ``FUZZ_EXAMPLES``
examples per target, so the file runs in well under a minute. A longer, random fuzz locally:

    SIPANAH_FUZZ_EXAMPLES=2000 SIPANAH_FUZZ_RANDOM=1 SIPANAH_DEBUG=1 \
        .venv/bin/python -m pytest tests/register/test_fuzz_forms.py

(add ``DATABASE_URL=postgis://…`` for PostGIS, which refuses NUL bytes and out-of-range numbers that SQLite
stores). Each example runs in a savepoint that is rolled back, so examples do not see each other's writes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import TestCase
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assets.models import Agency, Certificate, CertificateStageEvent, ImportJob, LandAsset, Stage
from assets.ops import worker
from assets.register import permissions, services
from assets.transfer import exports
from assets.transfer.importing.source import SUFFIX_FORMATS
from tests.api_fixtures import build_register
from tests.factories import every_record, load_reference, make_user, point_inside, square, temp_media_root

FUZZ_EXAMPLES = int(os.environ.get("SIPANAH_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,  # no example database: CI runs the same examples every time
    derandomize=os.environ.get("SIPANAH_FUZZ_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
)

NASTY = [
    "",
    " ",
    "\x00",
    "12\x003",
    "'; DROP TABLE assets_landasset; --",
    "' OR '1'='1",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "{{ 7|add:7 }}{% debug %}",
    "%(message)s %s %d %n",
    "%",
    "\\",
    "../../../../etc/passwd",
    "A" * 70_000,
    "9" * 400,
    "-" + "9" * 40,
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "-Infinity",
    "0x1F",
    "١٢٣",  # Arabic-Indic digits
    "１２３",  # full-width digits
    "\u202eevil",
    "\ufeff",
    "😀" * 300,
    "2024-02-30",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-0001-01-01",
    "2024-13-01",
    "31/12/2024",
    "2024-01-01T25:61",
    "-1",
    "0",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "99999999999999999999999999999999999999",
    "0.000000000000001",
    "1,5",
    "1.5.5",
    "null",
    "[]",
    "{}",
]

# Inputs that gave a 500 or hung before their fix: always tried (hypothesis @example), whatever the seed.
HUGE_MERCATOR = "SRID=3857;POLYGON((1e20 1e20, 1e21 1e20, 1e21 1e21, 1e20 1e20))"  # GDAL looped for ever
BAD_GEOJSON = '{"type": "Polygon"}'  # OGR's GDALException when the refused form was shown again
EMPTY_POINT = "POINT EMPTY"  # no WKB for an empty point: a ValueError in the geometry rules

NASTY_GEOMETRY = [
    HUGE_MERCATOR,
    BAD_GEOJSON,
    EMPTY_POINT,
    "POLYGON((0 0",
    "POLYGON((0 0, 1 1, 1 0, 0 0))",
    "SRID=4326;POLYGON((116.85 -1.25, 116.86 -1.24, 116.86 -1.25, 116.85 -1.24, 116.85 -1.25))",
    "SRID=3857;POLYGON((1e300 1e300, 1e301 1e300, 1e301 1e301, 1e300 1e300))",
    "SRID=4326;POLYGON((116.85 -1.25, 116.86 -1.25, 116.86 -1.24, 116.85 -1.25))",
    "SRID=4326;POLYGON((200 100, 201 100, 201 101, 200 100))",
    "SRID=999999;POLYGON((0 0, 1 0, 1 1, 0 0))",
    "SRID=-1;POLYGON((0 0, 1 0, 1 1, 0 0))",
    "SRID=23837;POLYGON((0 0, 1 0, 1 1, 0 0))",
    "POINT(116.8 -1.2)",
    "LINESTRING(116.8 -1.2, 116.9 -1.3)",
    "GEOMETRYCOLLECTION EMPTY",
    "POLYGON EMPTY",
    "MULTIPOLYGON(((nan nan, 1 1, 1 0, nan nan)))",
    "POLYGON ZM((116.85 -1.25 1 2, 116.86 -1.25 1 2, 116.86 -1.24 1 2, 116.85 -1.25 1 2))",
    "0101000020E6100000",
    "01030000",
    "ffffffffffffffffffffffff",
    '{"type": "Polygon", "coordinates": [[[1e400, 0], [0, 1], [1, 1], [1e400, 0]]]}',
    '{"type": "Polygon", "coordinates": [[[116.85, -1.25], [116.86, -1.25]]]}',
    '{"type": "Polygon", "coordinates": "x"}',
    '{"type": "Polygon"}',
    '{"type": "Feature", "geometry": null}',
    '{"type": "GeometryCollection", "geometries": [{"type": "GeometryCollection", "geometries": []}]}',
    '{"type": "Point", "coordinates": [NaN, Infinity]}',
    "[" * 3000 + "]" * 3000,
    "SRID=4326;POLYGON((" + ", ".join(f"116.8{i:05d} -1.2" for i in range(20_000)) + "))",
]

_number = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
_date = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat)
_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)  # no lone surrogates: not UTF-8
_bytes_as_text = st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
_coordinate = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=116.7, max_value=117.0), st.just(-1.2)
)


def _wkt(points: list[tuple[float, float]], srid: int | None, kind: str) -> str:
    body = ", ".join(f"{x!r} {y!r}" for x, y in points)
    wkt = {
        "POLYGON": f"POLYGON(({body}))",
        "MULTIPOLYGON": f"MULTIPOLYGON((({body})))",
        "LINESTRING": f"LINESTRING({body})",
    }[kind]
    return wkt if srid is None else f"SRID={srid};{wkt}"


_generated_wkt = st.builds(
    _wkt,
    st.lists(st.tuples(_coordinate, _coordinate), max_size=8),
    st.sampled_from([None, 4326, 3857, 23837, 32750, 0, 4269]),
    st.sampled_from(["POLYGON", "MULTIPOLYGON", "LINESTRING"]),
)
_generated_geojson = st.recursive(
    st.one_of(_coordinate, st.text(max_size=5), st.none()), lambda inner: st.lists(inner, max_size=5), max_leaves=30
).flatmap(
    lambda coords: st.sampled_from(["Polygon", "MultiPolygon", "LineString", "Point", "Nope"]).map(
        lambda kind: f'{{"type": "{kind}", "coordinates": {_json(coords)}}}'
    )
)


def _json(value: Any) -> str:
    return json.dumps(value)  # NaN and Infinity come out as the non-standard tokens: hostile too


HOSTILE = st.one_of(st.sampled_from(NASTY), _text, _number, _date, _bytes_as_text)
GEOMETRY = st.one_of(st.sampled_from(NASTY_GEOMETRY), _generated_wkt, _generated_geojson, HOSTILE)


def mutated(base: dict[str, str], fields: list[str], values: st.SearchStrategy = HOSTILE) -> st.SearchStrategy:
    """The valid ``base`` with some of ``fields`` replaced by hostile values (and, sometimes, dropped)."""
    overlay = st.dictionaries(st.sampled_from(fields), st.one_of(values, st.none()), min_size=1, max_size=4)

    def apply(changes: dict[str, str | None]) -> dict[str, str]:
        data = dict(base)
        for name, value in changes.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        return data

    return overlay.map(apply)


def register_state() -> tuple:
    """Everything a form can write: row counts and every asset and certificate row."""
    return (
        LandAsset.objects.count(),
        LandAsset.history.count(),
        Certificate.objects.count(),
        Certificate.history.count(),
        CertificateStageEvent.objects.count(),
        ImportJob.objects.count(),
        list(LandAsset.objects.order_by("pk").values_list()),
        list(Certificate.objects.order_by("pk").values_list()),
    )


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's writes, undone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


class FormFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.assets = build_register()
        cls.own = Agency.objects.get(code="1.01.01")
        cls.officer = make_user("officer", permissions.OFFICER, cls.own)
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.planner = make_user("planner", permissions.PLANNER)
        cls.auditor = make_user("auditor", permissions.AUDITOR)
        cls.asset = LandAsset.objects.filter(agency=cls.own, certificates__isnull=False).first()
        cls.certificate = cls.asset.certificates.first()
        lon, lat = point_inside("64.71.03.1003")
        cls.drawn = square(lon, lat, 0.0002).wkt

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def post_fuzz(self, url: str, data: dict[str, str]) -> None:
        """POST ``data``: no 500; anything but a redirect (accepted) leaves the database as it was."""
        with rolled_back():
            before = register_state()
            response = self.client.post(url, data)
            self.assertLess(response.status_code, 500, f"{url} {data!r:.2000}")
            if response.status_code != 302:
                self.assertEqual(response.status_code, 200, f"{url} {data!r:.2000}")
                self.assertEqual(register_state(), before, f"refused but written: {url} {data!r:.2000}")

    def post_fuzz_all(self, url: str, data: st.SearchStrategy, examples: tuple[dict[str, str], ...] = ()) -> None:
        """post_fuzz for every ``data`` hypothesis draws (FUZZ's settings), and for each of ``examples``."""

        def check(data: dict[str, str]) -> None:
            self.post_fuzz(url, data)

        check = given(data=data)(check)
        for case in examples:
            check = example(data=case)(check)
        FUZZ(check)()

    def get_fuzz(self, url: str, params: dict[str, Any]) -> None:
        with rolled_back():
            before = register_state()
            response = self.client.get(url, params)
            self.assertLess(response.status_code, 500, f"{url} {params!r:.2000}")
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)  # an export fails while streaming, not before
            self.assertEqual(register_state(), before, f"a GET wrote: {url} {params!r:.2000}")

    def asset_base(self) -> dict[str, str]:
        return {
            "kode_barang": "1.3.1.01.01.02.001",
            "nomor_register": "77",
            "nibar": "",
            "nama_barang": "Tanah SMP 9",
            "alamat": "Jl. Jend. Sudirman",
            "agency": str(self.own.pk),
            "tanggal_perolehan": "2015-03-02",
            "tahun_perolehan": "2015",
            "asal_usul": "HIBAH",
            "nilai_perolehan": "500000000",
            "penggunaan": "Sekolah",
            "luas_kib_m2": "2500",
            "keterangan": "",
            "plotting_status": "unknown",
            "geom": self.drawn,
        }

    def test_asset_create_form(self):
        self.client.force_login(self.officer)
        base = self.asset_base()
        fields = [f for f in base if f != "geom"]
        geometries = tuple({**base, "geom": geom} for geom in (HUGE_MERCATOR, BAD_GEOJSON, EMPTY_POINT))
        url = reverse("asset-create")
        self.post_fuzz_all(url, st.one_of(mutated(base, fields), mutated(base, ["geom"], GEOMETRY)), geometries)

    def test_asset_edit_form(self):
        self.client.force_login(self.officer)
        base = {**self.asset_base(), "loaded_version": str(self.asset.version)}
        fields = [f for f in base if f != "geom"]
        url = reverse("asset-update", args=[self.asset.pk])
        geometries = tuple({**base, "geom": geom} for geom in (HUGE_MERCATOR, BAD_GEOJSON, EMPTY_POINT))
        self.post_fuzz_all(url, st.one_of(mutated(base, fields), mutated(base, ["geom"], GEOMETRY)), geometries)

    def test_certificate_create_form(self):
        self.client.force_login(self.officer)
        url = reverse("certificate-create", args=[self.asset.pk])
        base = {
            "stage": "SERTIFIKAT_TERBIT",
            "jenis_hak": "HP",
            "nomor": "16.01.05.02.4.00999",
            "tanggal": "2020-01-02",
            "nib": "16010502000999",
            "atas_nama": "Pemerintah Kota Balikpapan",
            "luas_sertifikat_m2": "1200.5",
            "nomor_surat_ukur": "SU-1",
            "tanggal_surat_ukur": "2019-12-01",
            "tanggal_tahap": "2020-01-02",
            "nomor_dokumen": "ND-1",
        }
        self.post_fuzz_all(url, mutated(base, list(base)))

    def test_stage_change_form(self):
        self.client.force_login(self.officer)
        certificate = services.certificate_create(
            asset=self.assets["barat"],
            user=None,
            stage=Stage.PENGUKURAN,
            tanggal_tahap=dt.date(2024, 1, 5),
        )
        url = reverse("certificate-stage", args=[certificate.pk])
        base = {
            "to_stage": "SERTIFIKAT_TERBIT",
            "tanggal": "2024-06-01",
            "nomor_dokumen": "SK-1",
            "catatan": "catatan",
            "jenis_hak": "HP",
            "nomor": "16.01.05.02.4.00998",
            "tanggal_sertifikat": "2024-06-01",
            "nib": "16010502000998",
            "luas_sertifikat_m2": "100",
        }
        self.post_fuzz_all(url, mutated(base, list(base)))

    def test_removal_and_restore_forms(self):
        self.client.force_login(self.bpkad)
        removed = services.asset_remove(
            asset=self.assets["timur"], user=None, sk_nomor="SK-9", tanggal=dt.date(2025, 1, 2)
        )
        removal = {"removal_sk_nomor": "SK/1/2025", "removed_at": "2025-01-02", "removal_note": "dijual"}
        restore = {"reason": "salah input"}

        @FUZZ
        @given(
            target=st.one_of(
                mutated(removal, list(removal)).map(lambda d: (reverse("asset-remove", args=[self.asset.pk]), d)),
                mutated(restore, list(restore)).map(lambda d: (reverse("asset-restore", args=[removed.pk]), d)),
            )
        )
        def check(target: tuple[str, dict[str, str]]) -> None:
            self.post_fuzz(*target)

        check()

    def test_filters_on_the_register_map_query_audit_and_export_pages(self):
        self.client.force_login(self.auditor)  # reads everything and exports
        filters = ["q", "status", "tahap", "agency", "kecamatan", "kelurahan", "jenis_hak", "plotting",
                   "tahun_min", "tahun_max", "luas_min", "luas_max", "removed", "as_of", "page", "format", "srid",
                   "basemap", "days", "tol_pct", "tol_m2", "kib_tol_m2", "min_overlap", "asset", "user", "kind",
                   "date_from", "date_to"]  # fmt: skip
        urls = [
            reverse("asset-list"),
            reverse("asset-map"),
            reverse("map-totals"),
            reverse("asset-export"),
            reverse("audit-findings"),
            reverse("audit-finding", args=["overlaps"]),
            reverse("audit-finding", args=["area-mismatch"]),
            reverse("audit-finding", args=["stuck"]),
            reverse("audit-dashboard"),
            reverse("audit-log"),
            reverse("map-asset-popup", args=[self.asset.pk]),
        ]
        params = st.dictionaries(
            st.one_of(st.sampled_from(filters), _text.filter(bool)), st.one_of(HOSTILE, st.lists(HOSTILE, max_size=3)),
            max_size=4,
        )  # fmt: skip

        @FUZZ
        @given(url=st.sampled_from(urls), params=params)
        @example(url=reverse("audit-finding", args=["area-mismatch"]), params={"tol_pct": "Infinity"})
        @example(url=reverse("audit-findings"), params={"tol_m2": "NaN"})
        @example(url=reverse("audit-finding", args=["stuck"]), params={"days": "2147483648"})
        def check(url: str, params: dict[str, Any]) -> None:
            self.get_fuzz(url, params)

        check()

    def test_spatial_query_geometry_input(self):
        self.client.force_login(self.planner)
        names = ["bbox", "intersects", "point", "distance", "corridor", "buffer", "area", "q", "agency"]
        params = st.dictionaries(st.sampled_from(names), st.one_of(GEOMETRY, HOSTILE), min_size=1, max_size=4)
        export = st.fixed_dictionaries({"format": st.sampled_from(["geojson", "csv", "xlsx", "bogus"])})

        @FUZZ
        @given(
            url=st.sampled_from([reverse("asset-query"), reverse("asset-query-export")]), params=params, extra=export
        )
        def check(url: str, params: dict[str, str], extra: dict[str, str]) -> None:
            self.get_fuzz(url, {**params, **extra} if url.endswith("export/") else params)

        check()

    def test_vector_tiles(self):
        self.client.force_login(self.auditor)
        coordinate = st.one_of(st.integers(0, 40), st.integers(0, 2**64), st.just(2**31))
        params = st.dictionaries(st.sampled_from(["status", "agency", "as_of", "tahun_min", "luas_max", "q"]), HOSTILE,
                                 max_size=3)  # fmt: skip

        @FUZZ
        @given(z=coordinate, x=coordinate, y=coordinate, params=params)
        def check(z: int, x: int, y: int, params: dict[str, str]) -> None:
            self.get_fuzz(f"/tiles/assets/{z}/{x}/{y}.pbf", params)

        check()


class UploadFuzzTests(TestCase):
    """Random bytes, truncated archives and wrong names on the import upload: a message, never a crash, and the
    worker's check ends in "refused", not in "failed" (an internal error)."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        build_register()
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        folder = Path(tempfile.mkdtemp(prefix="sipanah-fuzz-"))
        cls.samples: dict[str, bytes] = {}
        for fmt in ("geojson", "gpkg", "shp", "kml", "csv", "xlsx"):
            path = folder / f"register{exports.FORMATS[fmt].suffix}"
            exports.write_export(every_record(), fmt=fmt, path=path, srid=4326)
            cls.samples[path.name] = path.read_bytes()
        shutil.rmtree(folder)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.client.force_login(self.bpkad)
        temp_media_root(self.addCleanup)

    def test_upload_of_hostile_files(self):
        suffixes = [*SUFFIX_FORMATS, ".exe", ".geojson.exe", "", ".GPKG", ".Zip"]
        names = st.one_of(
            st.sampled_from(suffixes).map(lambda s: "upload" + s),
            st.sampled_from(["../../etc/x.geojson", "a" * 300 + ".geojson", "\x00.csv", "😀.kml", ".zip"]),
        )
        random_bytes = st.tuples(names, st.binary(max_size=3000))

        def truncated(item: tuple[str, bytes], cut: float) -> tuple[str, bytes]:
            name, content = item
            return name, content[: int(len(content) * cut)]

        def corrupted(item: tuple[str, bytes], at: float, byte: int) -> tuple[str, bytes]:
            name, content = item
            i = int(len(content) * at) % max(1, len(content))
            return name, content[:i] + bytes([byte]) + content[i + 1 :]

        sample = st.sampled_from(sorted(self.samples.items()))
        renamed = st.tuples(sample, st.sampled_from(suffixes)).map(lambda t: ("x" + t[1], t[0][1]))
        files = st.one_of(
            random_bytes,
            st.builds(truncated, sample, st.floats(0, 0.99)),
            st.builds(corrupted, sample, st.floats(0, 1), st.integers(0, 255)),
            renamed,
            st.just(("nested.zip", self.zip_in_zip())),
        )
        extra = st.fixed_dictionaries({}, optional={"layer": HOSTILE, "srid": st.one_of(HOSTILE, GEOMETRY)})

        @FUZZ
        @given(upload=files, fields=extra)
        @example(upload=("a" * 300 + ".geojson", b"{}"), fields={})  # the file system refused the name
        @example(upload=("\x00.csv", b"a,b\n1,2\n"), fields={"layer": "\x00"})
        @example(upload=("x.csv", "kecama\udc80,b\n1,2\n".encode("utf-8", "surrogateescape")), fields={})
        def check(upload: tuple[str, bytes], fields: dict[str, str]) -> None:
            name, content = upload
            with rolled_back():
                before = register_state()
                response = self.client.post(
                    reverse("import-list"), {"file": SimpleUploadedFile(name, content), **fields}
                )
                self.assertIn(response.status_code, (200, 302), name)  # the form's error, or the job's page
                self.assertEqual(ImportJob.objects.count(), int(response.status_code == 302))
                worker.work(once=True)  # the worker's check of the upload, if the form took it
                for job in ImportJob.objects.all():
                    errors = [e["message"] for e in job.report.get("errors", [])]
                    checked = (ImportJob.Status.REFUSED, ImportJob.Status.PREVIEWED)  # "failed" = an internal error
                    self.assertIn(job.status, checked, f"{name} {fields}: {errors}")
                    page = self.client.get(reverse("import-detail", args=[job.pk]))
                    self.assertEqual(page.status_code, 200)
                self.assertEqual(register_state()[:5], before[:5])  # a check writes nothing to the register

        check()

    @staticmethod
    def zip_in_zip() -> bytes:
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as archive:
            archive.writestr("parcels.shp", b"\x00" * 100)
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w") as archive:
            archive.writestr("inner.zip", inner.getvalue())
            archive.writestr("../escape.shp", b"x")
        return outer.getvalue()
