"""The as-of register in SQL (history intervals kept by triggers, RegisterSelection's as-of reads) against the
reference: history.snapshot(), the as-of rule rebuilt in Python, and the live register where both must agree."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from decimal import Decimal

from django.db import connection, transaction
from django.http import QueryDict
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from assets.maps import tiles
from assets.models import (
    Agency,
    AsOfPiece,
    AsOfTotal,
    Certificate,
    CertificateStatusSpan,
    LandAsset,
    Stage,
    UnrecordedRow,
)
from assets.register import history, history_validity, kib, services
from assets.register.reads import RegisterSelection
from tests.factories import load_reference, make_asset, point_inside, square, tile_features


def backdate(obj, when: dt.datetime) -> None:
    record = obj.history.order_by("-history_date", "-history_id").first()
    record.history_date = when
    record.save()


def noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def intervals(asset: LandAsset) -> list[tuple]:
    rows = asset.history.order_by("history_date", "history_id")
    return list(rows.values_list("history_type", "history_date", "history_valid_until", "history_valid_from"))


class TriggerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_each_row_is_valid_until_the_next_one(self):
        asset = make_asset(nama_barang="A")
        backdate(asset, noon(dt.date(2024, 1, 1)))
        services.asset_update(asset=asset, user=None, data={"nama_barang": "B"})
        backdate(asset, noon(dt.date(2024, 6, 1)))
        services.asset_update(asset=LandAsset.objects.get(pk=asset.pk), user=None, data={"nama_barang": "C"})
        rows = intervals(asset)
        self.assertEqual([r[0] for r in rows], ["+", "~", "~"])
        self.assertEqual(rows[0][2], noon(dt.date(2024, 6, 1)))
        self.assertEqual(rows[1][2], rows[2][1])
        self.assertIsNone(rows[2][2])
        self.assertEqual([r[3] for r in rows], [None, None, None])  # a creation row: valid from its own date
        # moving a row (an UPDATE of history_date) reorders the intervals; the first row is no creation any more,
        # so it stands in from the asset's created_at
        first = asset.history.get(history_type="+")
        first.history_date = noon(dt.date(2025, 1, 1))
        first.save()
        rows = intervals(asset)
        self.assertEqual([r[0] for r in rows], ["~", "+", "~"])
        self.assertEqual([r[2] for r in rows], [noon(dt.date(2025, 1, 1)), rows[2][1], None])
        self.assertEqual([r[3] for r in rows], [asset.created_at, None, None])
        # deleting a row joins the intervals around it
        asset.history.get(history_type="+").delete()
        rows = intervals(asset)
        self.assertEqual([r[2] for r in rows], [rows[1][1], None])

    def test_rows_without_history_are_listed_until_their_first_history_row(self):
        template = make_asset()
        fields = {
            f: getattr(template, f)
            for f in ("kode_barang", "nama_barang", "agency_id", "tahun_perolehan", "asal_usul", "nilai_perolehan")
        }
        [bulk] = LandAsset.objects.bulk_create([LandAsset(nomor_register="9101", luas_kib_m2=Decimal(5), **fields)])
        listed = UnrecordedRow.objects.filter(table="assets_landasset")
        self.assertEqual(list(listed.values_list("row_id", flat=True)), [bulk.pk])
        self.assertEqual(history.unrecorded_models(), (True, False))
        services.asset_update(asset=LandAsset.objects.get(pk=bulk.pk), user=None, data={"nama_barang": "Diubah"})
        self.assertFalse(listed.exists())
        [(kind, _date, until, since)] = intervals(bulk)
        self.assertEqual((kind, until, since), ("~", None, LandAsset.objects.get(pk=bulk.pk).created_at))
        [bulk2] = LandAsset.objects.bulk_create([LandAsset(nomor_register="9102", luas_kib_m2=Decimal(5), **fields)])
        LandAsset.objects.filter(pk=bulk2.pk).delete()
        self.assertFalse(listed.exists())

    def test_a_fill_finds_what_the_triggers_kept(self):
        asset = make_asset()
        services.certificate_create(asset=asset, user=None, stage=Stage.PENGUKURAN, tanggal_tahap=dt.date(2024, 1, 2))
        services.asset_update(asset=LandAsset.objects.get(pk=asset.pk), user=None, data={"nama_barang": "B"})
        template = make_asset()
        LandAsset.objects.bulk_create(
            [
                LandAsset(
                    nomor_register="9201",
                    luas_kib_m2=Decimal(5),
                    agency=template.agency,
                    kode_barang=template.kode_barang,
                    nama_barang="x",
                    tahun_perolehan=2010,
                    asal_usul=template.asal_usul,
                    nilai_perolehan=1,
                )
            ]
        )

        def state():
            hist = LandAsset.history.model.objects.order_by("history_id")
            certs = Certificate.history.model.objects.order_by("history_id")
            columns = ("history_id", "history_valid_until", "history_valid_from")
            listed = UnrecordedRow.objects.order_by("table", "row_id").values_list("table", "row_id")
            return list(hist.values_list(*columns)), list(certs.values_list(*columns)), list(listed)

        kept = state()
        history_validity.install(fill=True)
        self.assertEqual(state(), kept)
        self.assertFalse(history_validity.ensure_triggers())  # every trigger is there


# The certificates of each asset of the mixed register: (stage, numbered) pairs covering the status and stage rules.
COMBINATIONS = [
    (),
    ((Stage.BELUM, False),),
    ((Stage.DITOLAK, False),),
    ((Stage.BELUM, False), (Stage.DITOLAK, False)),
    ((Stage.PERSIAPAN_BERKAS, False),),
    ((Stage.PENGUKURAN, False), (Stage.DITOLAK, False)),
    ((Stage.SK_HAK_TERBIT, False), (Stage.PETA_BIDANG_TERBIT, False)),
    ((Stage.SERTIFIKAT_TERBIT, True),),
    ((Stage.SERTIFIKAT_TERBIT, True), (Stage.PENGUKURAN, False)),
    ((Stage.SENGKETA, False),),
    ((Stage.SENGKETA, True),),
    ((Stage.DIBLOKIR, True), (Stage.SERTIFIKAT_TERBIT, True)),
    ((Stage.DIBLOKIR, False), (Stage.SENGKETA, False)),
]


def kept_and_recounted() -> tuple[dict, dict]:
    """The spans, as-of pieces and day totals the triggers kept, and those a recount from the history finds."""
    group = ("agency_id", "kecamatan_id", "kelurahan_id", "status_sertifikat", "tahap_sertifikat",
             "plotting_status", "removed", "n", "located", "luas_kib_c", "luas_gis_c", "nilai")  # fmt: skip
    tables = {
        CertificateStatusSpan: ("asset_id", "valid_from", "valid_until", "status_code", "stage_rank"),
        AsOfPiece: ("asset_id", "valid_from", "valid_until", *group),
        AsOfTotal: ("day", *group),
    }

    def rows():
        return {model: list(model.objects.order_by(*c).values_list(*c)) for model, c in tables.items()}

    kept = rows()
    history_validity.install(fill=True)
    return kept, rows()


class EquivalenceTests(TestCase):
    """Every as-of read in SQL gives what the snapshot gives, on a register with every mix of certificate stages,
    edits dated in the past, a removal, and rows bulk-created without history."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        lon, lat = point_inside("64.71.05.1002")
        cls.lon, cls.lat = lon, lat
        cls.assets = []
        for n, combination in enumerate(COMBINATIONS * 2):
            asset = make_asset(geom=square(lon + 0.002 * (n % 6), lat + 0.002 * (n // 6), 0.0004))
            backdate(asset, noon(dt.date(2024, 1, 1)))
            for stage, numbered in combination:
                certificate = services.certificate_create(
                    asset=asset, user=None, stage=Stage.BELUM, tanggal_tahap=dt.date(2024, 1, 2)
                )
                backdate(certificate, noon(dt.date(2024, 1, 2)))
                Certificate.objects.filter(pk=certificate.pk).update()  # no history
                certificate.stage = stage
                certificate.nomor = f"{n}-{stage}" if numbered else ""
                certificate.save()  # a history row, dated now (after the first as-of date below)
                if n % 2:
                    backdate(certificate, noon(dt.date(2024, 3, 1)))
            services.asset_refresh_certificate_status(LandAsset.objects.get(pk=asset.pk))
            cls.assets.append(asset)
        services.asset_update(asset=LandAsset.objects.get(pk=cls.assets[3].pk), user=None, data={"nama_barang": "Z"})
        backdate(cls.assets[3], noon(dt.date(2024, 2, 1)))
        services.asset_remove(
            asset=LandAsset.objects.get(pk=cls.assets[4].pk), user=None, sk_nomor="SK 1", tanggal=dt.date(2024, 2, 2)
        )

    def add_rows_without_history(self):
        template = self.assets[0]
        [bulk] = LandAsset.objects.bulk_create(
            [
                LandAsset(
                    nomor_register="9301",
                    luas_kib_m2=Decimal(7),
                    agency=template.agency,
                    kode_barang=template.kode_barang,
                    nama_barang="Tanpa riwayat",
                    tahun_perolehan=2010,
                    asal_usul=template.asal_usul,
                    nilai_perolehan=3,
                )
            ]
        )
        Certificate.objects.bulk_create(
            [
                Certificate(asset=bulk, stage=Stage.SERTIFIKAT_TERBIT, nomor="1"),
                Certificate(asset=self.assets[0], stage=Stage.PENGUKURAN),
            ]
        )
        self.assertEqual(history.unrecorded_models(), (True, True))

    def check(self, as_of: dt.date, params: dict[str, str] | None = None) -> None:
        query = QueryDict(mutable=True)
        query.update(params or {})
        selection = RegisterSelection.from_params(query, as_of=as_of)
        expected = history.snapshot(as_of=as_of, params=query)
        label = f"as of {as_of} {params}"
        by_status = dict.fromkeys(("belum", "proses", "terbit"), 0)
        for state in expected:
            by_status[state.status] += 1
        totals, counts = selection.totals_by_status()
        self.assertEqual(totals, history.snapshot_totals(expected), label)
        self.assertEqual(counts, by_status, label)
        page, page_totals = selection.page(1, per_page=500)
        self.assertEqual(page_totals, totals, label)
        got = [(s.id, s.status, s.tahap, s.bermasalah, s.nama_barang) for s in page.object_list]
        self.assertEqual(got, [(s.id, s.status, s.tahap, s.bermasalah, s.nama_barang) for s in expected], label)
        features, count = selection.features([("status", "status_sertifikat")], offset=0, limit=500, as_text=False)
        self.assertEqual(count, len(expected), label)
        self.assertEqual(
            [(f["id"], f["properties"]["status"]) for f in features], sorted((s.id, s.status) for s in expected), label
        )
        # the API's features as text (one statement on PostGIS) are those written in Python from the snapshot's states
        api = kib.properties("api")
        texts, text_count = selection.features(api, offset=0, limit=500)
        dicts, _count = selection.features(api, offset=0, limit=500, as_text=False)
        self.assertEqual((text_count, [json.loads(t) for t in texts]), (len(expected), dicts), label)
        derived = {s.id: (s.status, s.tahap, s.bermasalah) for s in expected}
        for feature in dicts:
            got = tuple(feature["properties"][p] for p in ("status_sertifikat", "tahap_sertifikat", "bermasalah"))
            self.assertEqual(got, derived[feature["id"]], label)
        page_texts, page_count = selection.features(api, offset=3, limit=4)
        self.assertEqual((page_count, [json.loads(t) for t in page_texts]), (len(expected), dicts[3:7]), label)
        self.assertEqual([r.id for r in selection.records()], [s.id for s in expected], label)
        aggregate = selection.aggregate()
        self.assertEqual((aggregate["count"], aggregate["by_status"]), (len(expected), by_status), label)
        sums = ("luas_kib_m2", "luas_gis_m2", "nilai_perolehan")
        self.assertEqual([aggregate[k] for k in sums], [float(getattr(totals, k)) for k in sums], label)
        per_agency: dict[str, list] = {}
        codes = dict(Agency.objects.values_list("id", "code"))
        for state in expected:
            row = per_agency.setdefault(codes[state.agency_id], [0, Decimal(0), 0])
            row[0] += 1
            row[1] += state.luas_kib_m2
            row[2] += state.status == "terbit"
        self.assertEqual(
            {r["agency_code"]: [r["count"], r["luas_kib_m2"], r["certified"]] for r in aggregate["by_agency"]},
            {code: [n, float(kib), terbit] for code, (n, kib, terbit) in per_agency.items()},
            label,
        )
        for source in selection.as_of_sources(stage=True, disputed=True, few=True):
            rows = source.values_list("id", history.STATUS, history.STAGE)
            derived = {s.id: (s.status, s.tahap) for s in expected}
            for pk, status, stage in rows:
                self.assertEqual((status, stage), derived[pk], label)

    def test_every_read_as_of_each_date_and_filter(self):
        days = [
            dt.date(2023, 12, 31),
            dt.date(2024, 1, 1),
            dt.date(2024, 2, 15),
            dt.date(2024, 3, 2),
            timezone.localdate(),
        ]
        filters = [
            None,
            {"status": "proses"},
            {"status": "terbit"},
            {"tahap": "SENGKETA"},
            {"tahap": "BELUM"},
            {"removed": "include"},
            {"q": "Z"},
        ]
        for day, params in itertools.product(days, filters):
            self.check(day, params)

    def test_with_rows_without_history(self):
        self.add_rows_without_history()
        for day in (dt.date(2024, 3, 2), timezone.localdate()):
            for params in (None, {"status": "terbit"}):
                self.check(day, params)

    def assert_spans_recounted(self, label: str) -> None:
        kept, recounted = kept_and_recounted()
        self.assertTrue(kept[AsOfTotal], label)
        self.assertEqual(recounted, kept, label)

    def test_the_status_spans_follow_every_writer(self):
        """Certificate writes through the services, deletions, moves to another asset, rows without history and raw
        SQL on the live and history tables: after each, the spans are their recount and every read is the
        snapshot's."""
        days = (dt.date(2024, 1, 1), dt.date(2024, 2, 15), dt.date(2024, 3, 2), timezone.localdate())
        for label, write in self.certificate_writes():
            write()
            self.assert_spans_recounted(label)
            for day in days:
                self.check(day, None)
                self.check(day, {"tahap": "SENGKETA"})

    def test_a_bulk_write_recounts_once_at_its_end(self):
        """The same writes, and asset writes, inside one deferred_recount (an import's or the demo generator's
        transaction): on SpatiaLite the rows only note what they touch meanwhile, and the spans, pieces and day
        totals are their recount once it ends; the recounting triggers are back."""

        def temp_triggers() -> int:
            if connection.vendor != "sqlite":
                return 0
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM sqlite_temp_master WHERE type = 'trigger'")
                return cursor.fetchone()[0]

        moved, removed = (LandAsset.objects.get(pk=a.pk) for a in self.assets[5:7])
        with transaction.atomic(), history_validity.deferred_recount():
            if connection.vendor == "sqlite":
                self.assertGreater(temp_triggers(), 0)
            for _label, write in self.certificate_writes():
                write()
            services.asset_update(asset=moved, user=None, data={"luas_kib_m2": Decimal(321)})
            services.asset_remove(asset=removed, user=None, sk_nomor="SK 2", tanggal=timezone.localdate())
            LandAsset.history.model.objects.filter(id=moved.pk).update(history_date=noon(dt.date(2024, 2, 10)))
        self.assertEqual(temp_triggers(), 0)
        self.assertFalse(history_validity.ensure_triggers())
        self.assert_spans_recounted("one bulk write")
        for day in (dt.date(2024, 2, 15), timezone.localdate()):
            self.check(day, None)

    def test_a_failed_bulk_write_leaves_the_triggers(self):
        """A bulk write that fails rolls back; one whose error is caught inside the transaction is recounted."""
        asset = LandAsset.objects.get(pk=self.assets[2].pk)
        with self.assertRaises(ValueError), transaction.atomic(), history_validity.deferred_recount():
            services.asset_update(asset=asset, user=None, data={"luas_kib_m2": Decimal(11)})
            raise ValueError
        self.assertFalse(history_validity.ensure_triggers())
        with transaction.atomic(), contextlib.suppress(ValueError), history_validity.deferred_recount():
            services.asset_update(asset=asset, user=None, data={"luas_kib_m2": Decimal(12)})
            raise ValueError
        self.assertFalse(history_validity.ensure_triggers())
        self.assert_spans_recounted("a caught error")
        services.asset_update(asset=LandAsset.objects.get(pk=asset.pk), user=None, data={"luas_kib_m2": Decimal(13)})
        self.assert_spans_recounted("an edit after it")

    def certificate_writes(self):
        """(label, write) of certificate writes of every kind: services, backdating, moves, raw SQL, rows without
        history, deletions."""
        hist = Certificate.history.model
        first, second, third = (LandAsset.objects.get(pk=a.pk) for a in self.assets[1:4])

        yield "rows without history", self.add_rows_without_history
        certificate = Certificate.objects.filter(asset=first).order_by("id").first()
        yield (
            "a stage change",
            lambda: services.certificate_change_stage(
                certificate=certificate,
                user=None,
                to_stage=Stage.PERSIAPAN_BERKAS,
                tanggal_tahap=timezone.localdate(),
            ),
        )
        yield (
            "its row backdated",
            lambda: backdate(Certificate.objects.get(pk=certificate.pk), noon(dt.date(2024, 2, 1))),
        )

        def move():
            moved = Certificate.objects.get(pk=certificate.pk)
            moved.asset = second
            services.certificate_save(certificate=moved, user=None)
            backdate(moved, noon(dt.date(2024, 2, 20)))

        yield "a move to another asset", move
        row = hist.objects.filter(asset_id=third.pk).order_by("history_id").first()

        def raw_update():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE assets_historicalcertificate SET stage = %s, nomor = %s WHERE history_id = %s",
                    [Stage.SENGKETA, "", row.history_id],
                )

        yield "raw SQL on a history row", raw_update

        def raw_delete():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM assets_historicalcertificate WHERE history_id = %s", [row.history_id])

        yield "raw SQL deleting a history row", raw_delete
        unrecorded = Certificate.objects.get(nomor="1", asset__nama_barang="Tanpa riwayat")
        yield (
            "an update of a row without history",
            lambda: Certificate.objects.filter(pk=unrecorded.pk).update(stage=Stage.DIBLOKIR, asset=first),
        )
        yield "a deletion with history", lambda: Certificate.objects.get(pk=certificate.pk).delete()
        yield "a deletion without history", lambda: Certificate.objects.filter(pk=unrecorded.pk).delete()

    def test_as_of_today_the_tiles_are_the_live_tiles(self):
        zoom = 16
        n = 1 << zoom
        import math

        x = int((self.lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(self.lat))) / math.pi) / 2 * n)
        today = timezone.localdate()
        for z, tx, ty in ((16, x, y), (14, x >> 2, y >> 2), (12, x >> 4, y >> 4)):
            for params in ({}, {"status": "proses"}):
                query = QueryDict(mutable=True)
                query.update(params)
                live = tiles.versioned_tile(RegisterSelection.from_params(query), z=z, x=tx, y=ty)[1]
                past = tiles.versioned_tile(RegisterSelection.from_params(query, as_of=today), z=z, x=tx, y=ty)[1]
                self.assertTrue(live, (z, params))
                self.assertEqual(tile_features(past), tile_features(live), (z, params, connection.vendor))


class ConcurrentWritersTests(TransactionTestCase):
    """Two writers editing two assets of the same group at once: an edit that moves no total writes no row of the
    as-of day totals, so neither waits for the other's commit (the day totals of a group are one row per day)."""

    def test_edits_of_one_group_do_not_wait_for_each_other(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostGIS only: SQLite has one writer at a time")
        import psycopg

        load_reference()
        lon, lat = point_inside("64.71.05.1002")
        a = make_asset(geom=square(lon, lat, 0.0002))
        b = make_asset(agency=a.agency, geom=square(lon + 0.0005, lat, 0.0002))
        group = ("agency_id", "kecamatan_id", "kelurahan_id", "status_sertifikat", "plotting_status")
        self.assertEqual(
            *(list(LandAsset.objects.filter(pk=pk).values_list(*group)) for pk in (a.pk, b.pk)), "one group"
        )
        history = LandAsset.history.model
        live = {f.column for f in LandAsset._meta.concrete_fields}
        columns = ", ".join(f.column for f in history._meta.concrete_fields if f.column in live)
        copy_row = (
            f"INSERT INTO {history._meta.db_table} ({columns}, history_date, history_type, history_change_reason) "  # noqa: S608
            f"SELECT {columns}, now(), '~', 'test' FROM {LandAsset._meta.db_table} WHERE id = %s"
        )
        settings = connection.settings_dict
        dsn = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "user": settings["USER"]}
        first, second = (psycopg.connect(dbname=settings["NAME"], password=settings["PASSWORD"], **dsn) for _ in "ab")
        try:
            for writer, asset, name in ((first, a, "first"), (second, b, "second")):
                writer.execute("SET lock_timeout = '30s'")  # a row both need: the second fails here, not hangs
                writer.execute(copy_row, [asset.pk])
                writer.execute("UPDATE assets_landasset SET nama_barang = %s WHERE id = %s", [name, asset.pk])
            second.commit()
            first.commit()
        finally:
            first.close()
            second.close()
        kept, recounted = kept_and_recounted()
        self.assertEqual(recounted, kept)
