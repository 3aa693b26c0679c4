"""Reads that can leave the primary (sipanah/db_router.py, docs/scaling.md).

The router's rules are tested everywhere; the reads from a real PostgreSQL streaming standby run when
DATABASE_REPLICA_URLS names one (.ci/run starts it with scripts/start_replica.sh): writes go to the primary, GET
requests read from the replica, and a client that wrote reads its write even while the replica lags behind (its
replay paused here, so the lag is certain rather than raced).
"""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import subprocess
import sys
import time
from unittest import skipUnless

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.db.utils import load_backend
from django.http import StreamingHttpResponse
from django.test import RequestFactory, SimpleTestCase, TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assets.models import Agency, LandAsset
from assets.register import permissions
from sipanah import db_router
from tests.factories import load_reference, make_asset, make_user, point_inside, square
from tests.maps.test_tile_cells import features, tile_of

REPLICA = "replica1"
HAS_REPLICA = REPLICA in settings.DATABASES
NO_REPLICA = (
    "no read replica configured: set DATABASE_REPLICA_URLS to a streaming standby of DATABASE_URL's PostgreSQL "
    "cluster (scripts/start_replica.sh starts one; .ci/run does)"
)
LAG_TIMEOUT_S = 60.0


class RouterRulesTests(TestCase):
    """Outside a replica-eligible request, and in any transaction, everything goes to the primary."""

    def test_without_a_request_reads_and_writes_go_to_the_primary(self):
        r = db_router.ReplicaRouter()
        self.assertEqual(r.db_for_read(LandAsset), DEFAULT_DB_ALIAS)
        self.assertEqual(r.db_for_write(LandAsset), DEFAULT_DB_ALIAS)
        self.assertIsNone(r.allow_migrate(DEFAULT_DB_ALIAS, "assets"))  # as without the router
        self.assertFalse(r.allow_migrate(REPLICA, "assets"))
        self.assertIsNone(r.allow_migrate("backup_target", "assets"))  # a restore's target migrates

    def test_objects_of_another_database_stay_on_it(self):
        r = db_router.ReplicaRouter()
        other = LandAsset(nama_barang="elsewhere")
        other._state.db = "backup_target"
        self.assertIsNone(r.db_for_read(LandAsset, instance=other))
        self.assertIsNone(r.db_for_write(LandAsset, instance=other))
        self.assertEqual(router.db_for_read(LandAsset, instance=other), "backup_target")

    def test_a_request_reads_from_its_replica_until_it_writes_and_never_inside_a_transaction(self):
        r = db_router.ReplicaRouter()
        state = db_router._Request(replica=REPLICA)
        token = db_router._request.set(state)
        try:
            # a TestCase runs inside a transaction on the primary: its reads stay there
            self.assertTrue(connections[DEFAULT_DB_ALIAS].in_atomic_block)
            self.assertEqual(r.db_for_read(LandAsset), DEFAULT_DB_ALIAS)
            with _outside_transaction():
                self.assertEqual(r.db_for_read(LandAsset), REPLICA)
                self.assertEqual(r.db_for_write(LandAsset), DEFAULT_DB_ALIAS)
                self.assertTrue(state.wrote)
                self.assertEqual(r.db_for_read(LandAsset), DEFAULT_DB_ALIAS)  # after a write: read your write
        finally:
            db_router._request.reset(token)
        self.assertEqual(r.db_for_read(LandAsset), DEFAULT_DB_ALIAS)

    def test_without_replicas_the_suite_has_no_router_or_its_reads_are_off(self):
        if not HAS_REPLICA:
            self.assertEqual(settings.DATABASE_ROUTERS, [])
            self.assertNotIn("sipanah.db_router.ReplicaReadsMiddleware", settings.MIDDLEWARE)
        self.assertEqual(settings.SIPANAH_READ_REPLICAS, ())  # tests/conftest.py: the suite reads the primary
        self.assertEqual(router.db_for_read(LandAsset), DEFAULT_DB_ALIAS)


class _outside_transaction:
    """Pretend, for the router only, that the primary is not inside the TestCase's transaction."""

    def __enter__(self) -> None:
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.saved = self.connection.in_atomic_block
        self.connection.in_atomic_block = False

    def __exit__(self, *exc: object) -> None:
        self.connection.in_atomic_block = self.saved


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@skipUnless(connection.vendor == "postgresql", "read replicas are PostgreSQL standbys")
@override_settings(
    DATABASE_ROUTERS=["sipanah.db_router.ReplicaRouter"],
    MIDDLEWARE=[*settings.MIDDLEWARE, "sipanah.db_router.ReplicaReadsMiddleware"]
    if "sipanah.db_router.ReplicaReadsMiddleware" not in settings.MIDDLEWARE
    else settings.MIDDLEWARE,
    SIPANAH_READ_REPLICAS=("replica_gone",),
)
class UnreachableReplicaTests(TestCase):
    """A replica that does not answer costs no request: its reads go to the primary, and it is left out a while."""

    def setUp(self):
        # a connection made here, not in DATABASES: the primary's settings with a port nothing listens on
        gone = {**connections[DEFAULT_DB_ALIAS].settings_dict, "HOST": "127.0.0.1", "PORT": closed_port()}
        connections["replica_gone"] = load_backend(gone["ENGINE"]).DatabaseWrapper(gone, "replica_gone")
        self.addCleanup(connections.__delitem__, "replica_gone")
        self.addCleanup(db_router._down_until.pop, "replica_gone", None)
        load_reference()
        self.client.force_login(make_user("auditor", permissions.AUDITOR))

    def test_the_request_reads_the_primary_and_the_replica_is_left_out(self):
        asset = make_asset(nama_barang="Tanah Utama")
        response = self.client.get(reverse("asset-detail", args=[asset.pk]))
        self.assertContains(response, "Tanah Utama")
        left_out_until = db_router._down_until["replica_gone"]
        self.assertGreater(left_out_until, time.monotonic() + settings.SIPANAH_REPLICA_RETRY_SECONDS - 5)
        self.assertContains(self.client.get(reverse("asset-detail", args=[asset.pk])), "Tanah Utama")
        self.assertEqual(db_router._down_until["replica_gone"], left_out_until)  # not tried again meanwhile


class ReplicaSettingsTests(SimpleTestCase):
    def test_a_replica_of_the_embedded_database_stops_the_start_naming_the_setting(self):
        env = {
            "PATH": "/usr/bin:/bin",
            "SIPANAH_DEBUG": "1",
            "DATABASE_URL": f"spatialite:///{settings.BASE_DIR / 'var' / 'replica-check.sqlite3'}",
            "DATABASE_REPLICA_URLS": "postgis://postgres@127.0.0.1:5433/sipanah",
        }
        result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
            [sys.executable, "manage.py", "check"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("DATABASE_REPLICA_URLS: read replicas are PostgreSQL streaming standbys", result.stderr)
        self.assertIn("DATABASE_URL spatialite", result.stderr)
        self.assertNotIn("Traceback (most recent call last)", result.stderr.split("ImproperlyConfigured")[-1])


def wait_for_replay(alias: str = REPLICA) -> float:
    """Seconds until the replica has replayed everything committed on the primary so far (a condition, polled)."""
    lsn = db_router.primary_lsn()
    start = time.perf_counter()
    while not db_router.replayed(alias, lsn):
        if time.perf_counter() - start > LAG_TIMEOUT_S:
            raise AssertionError(f"{alias} has not replayed {lsn} in {LAG_TIMEOUT_S:.0f} s")
    return time.perf_counter() - start


def replica_sql(sql: str) -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(sql)


@skipUnless(HAS_REPLICA, NO_REPLICA)
@override_settings(SIPANAH_READ_REPLICAS=(REPLICA,))
class ReplicaConnectionTests(TransactionTestCase):
    databases = {DEFAULT_DB_ALIAS, REPLICA}

    def test_the_replica_is_a_standby_of_the_test_database(self):
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            self.assertTrue(cursor.fetchone()[0])
        self.assertEqual(
            connections[REPLICA].settings_dict["NAME"], connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
        )  # the test database, through MIRROR

    def test_a_transaction_in_a_get_request_reads_the_primary(self):
        state = db_router._Request(replica=REPLICA)
        token = db_router._request.set(state)
        try:
            self.assertEqual(router.db_for_read(LandAsset), REPLICA)
            with transaction.atomic():
                self.assertEqual(router.db_for_read(LandAsset), DEFAULT_DB_ALIAS)
            self.assertEqual(LandAsset.objects.all().db, REPLICA)
        finally:
            db_router._request.reset(token)

    def test_a_streamed_answer_reads_from_the_request_replica_while_it_is_sent(self):
        seen = []

        def chunks():
            seen.append(router.db_for_read(LandAsset))
            yield b"a"
            seen.append(router.db_for_read(LandAsset))
            yield b"b"

        middleware = db_router.ReplicaReadsMiddleware(lambda request: StreamingHttpResponse(chunks()))
        response = middleware(RequestFactory().get("/"))
        self.assertEqual(router.db_for_read(LandAsset), DEFAULT_DB_ALIAS)  # the view has returned
        self.assertEqual(b"".join(response.streaming_content), b"ab")
        self.assertEqual(seen, [REPLICA, REPLICA])
        self.assertEqual(router.db_for_read(LandAsset), DEFAULT_DB_ALIAS)  # and the answer is sent


@skipUnless(HAS_REPLICA, NO_REPLICA)
@override_settings(SIPANAH_READ_REPLICAS=(REPLICA,))
class ReplicaReadsTests(TransactionTestCase):
    """Against a real streaming standby: committed writes on the primary, reads through the router."""

    databases = {DEFAULT_DB_ALIAS, REPLICA}

    def setUp(self):
        load_reference()
        agency = Agency.objects.get(code="1.01.01")
        self.writer = make_user("bpkad", permissions.BPKAD)
        self.reader = make_user("auditor", permissions.AUDITOR)
        self.lon, self.lat = point_inside("64.71.01.1001")
        self.asset = make_asset(agency=agency, nama_barang="Tanah Replika", geom=square(self.lon, self.lat, 0.0002))
        wait_for_replay()
        self.writer_client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        self.writer_client.force_login(self.writer)
        self.reader_client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        self.reader_client.force_login(self.reader)
        wait_for_replay()  # the sessions force_login wrote

    def test_get_requests_read_from_the_replica(self):
        with (
            CaptureQueriesContext(connections[REPLICA]) as on_replica,
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        ):
            response = self.reader_client.get(reverse("asset-detail", args=[self.asset.pk]))
            api = self.reader_client.get(reverse("api-asset-list"))
            tiles = {z: self.reader_client.get(self.tile_url(z)) for z in (10, 17)}
            log = self.reader_client.get(reverse("audit-log"), {"format": "csv"})  # an export
            log_csv = b"".join(log.streaming_content).decode()
        self.assertContains(response, "Tanah Replika")
        self.assertEqual(api.status_code, 200)
        self.assertEqual(api.json()["count"], 1)
        self.assertEqual(dict(features(tiles[10].content)[0][1])["n"], 1)  # the per-cell counts
        self.assertEqual([dict(f[1])["id"] for f in features(tiles[17].content)], [self.asset.pk])  # the parcel
        self.assertIn("Tanah Replika", log_csv)
        read = " ".join(q["sql"] for q in on_replica.captured_queries)
        self.assertIn('"assets_landasset"', read)
        self.assertIn('"django_session"', read)
        self.assertIn("ST_AsMVT", read)
        self.assertEqual(on_primary.captured_queries, [])

    def tile_url(self, z: int) -> str:
        x, y = tile_of(self.lon, self.lat, z)
        return reverse("asset-tile", kwargs={"z": z, "x": x, "y": y})

    def test_a_writer_reads_its_write_while_the_replica_lags_and_the_others_read_the_replica(self):
        replica_sql("SELECT pg_wal_replay_pause()")
        self.addCleanup(replica_sql, "SELECT pg_wal_replay_resume()")
        detail = reverse("asset-detail", args=[self.asset.pk])
        response = self.writer_client.post(
            reverse("asset-remove", args=[self.asset.pk]),
            {"removal_sk_nomor": "SK-REPLIKA/1", "removed_at": dt.date(2024, 3, 1).isoformat(), "removal_note": ""},
        )
        self.assertRedirects(response, detail, fetch_redirect_response=False)
        self.assertIn(db_router.COOKIE, response.cookies)
        self.assertIsNotNone(LandAsset.objects.get(pk=self.asset.pk).removed_at)  # on the primary

        # Another user reads the replica, which has not replayed the removal.
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            stale = self.reader_client.get(detail)
        self.assertIsNone(stale.context["asset"].removed_at)
        self.assertTrue(any('"assets_landasset"' in q["sql"] for q in on_replica.captured_queries))
        self.assertEqual(len(features(self.reader_client.get(self.tile_url(17)).content)), 1)  # still on the map
        self.assertEqual(features(self.writer_client.get(self.tile_url(17)).content), [])  # gone from the writer's

        # The writer reads its own write: from the primary, for as long as the replica is behind.
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            own = self.writer_client.get(detail)
        self.assertEqual(own.context["asset"].removed_at, dt.date(2024, 3, 1))
        self.assertTrue(any('"assets_landasset"' in q["sql"] for q in on_primary.captured_queries))
        self.assertNotIn(db_router.COOKIE, own.cookies)  # still behind: the marker stays

        replica_sql("SELECT pg_wal_replay_resume()")
        wait_for_replay()
        self.assertEqual(self.reader_client.get(detail).context["asset"].removed_at, dt.date(2024, 3, 1))
        with (
            CaptureQueriesContext(connections[REPLICA]) as on_replica,
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        ):
            caught_up = self.writer_client.get(detail)
        self.assertEqual(caught_up.context["asset"].removed_at, dt.date(2024, 3, 1))
        self.assertEqual(on_primary.captured_queries, [])
        self.assertTrue(any('"assets_landasset"' in q["sql"] for q in on_replica.captured_queries))
        self.assertEqual(caught_up.cookies[db_router.COOKIE].value, "")  # caught up: the marker is removed

    def test_replica_lag_seen_by_the_router(self):
        """Commit on the primary, then poll until a read through the router sees the row: the replica lag."""
        lags = []
        state = db_router._Request(replica=REPLICA)
        for number in range(20):
            asset = make_asset(nama_barang=f"Lag {number}")
            start = time.perf_counter()
            token = db_router._request.set(state)
            try:
                while not LandAsset.objects.filter(pk=asset.pk).exists():
                    if time.perf_counter() - start > LAG_TIMEOUT_S:
                        raise AssertionError(f"the replica did not show asset {asset.pk} in {LAG_TIMEOUT_S:.0f} s")
            finally:
                db_router._request.reset(token)
            lags.append((time.perf_counter() - start) * 1000)
        self.assertEqual(LandAsset.objects.using(REPLICA).filter(nama_barang__startswith="Lag ").count(), 20)
        lags.sort()
        print(
            f"\nreplica lag seen by the router (20 commits): median {statistics.median(lags):.2f} ms, "
            f"p95 {lags[18]:.2f} ms, max {lags[-1]:.2f} ms"
        )
