"""The planner's statistics during a bulk write (assets.lib.planner) and the triggers' plans (history_validity)."""

from __future__ import annotations

from unittest import mock

from django.db import connection
from django.test import SimpleTestCase, TestCase

from assets.lib import planner
from assets.register import history_validity
from assets.register.models import LandAsset
from tests.factories import load_reference, make_asset


class GrowingTablesScheduleTests(SimpleTestCase):
    def test_analyzes_first_past_the_threshold_then_each_time_the_rows_double(self):
        with mock.patch.object(planner, "analyze") as analyze:
            growing = planner.GrowingTables(["t"])
            calls = []
            for rows in (3000, 1999, 1, 4000, 5000, 1000, 30000):
                growing.wrote(rows)
                calls.append(analyze.call_count)
        # 3000, 4999, 5000 (first), 9000, 14000 (>= 10000), 15000, 45000 (>= 28000)
        self.assertEqual(calls, [0, 0, 1, 1, 2, 2, 3])
        self.assertEqual(growing.next_at, 90000)
        analyze.assert_called_with(("t",), using="default")


class AnalyzeInsideTheWriteTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()

    def test_the_statistics_count_the_transactions_own_rows(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only: SQLite's triggers run per row through the indexes, no statistics to keep")
        for _n in range(40):
            make_asset()
        planner.analyze(history_validity.GROWN_BY_BULK_WRITES)  # inside the test's transaction, uncommitted
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN (%s, %s)",
                [history_validity.ASSETS, history_validity.ASSET_HISTORY],
            )
            counted = dict(cursor.fetchall())
        self.assertEqual(counted[history_validity.ASSETS], 40)
        self.assertGreaterEqual(counted[history_validity.ASSET_HISTORY], 40)  # one "+" row each at least

    def test_a_bulk_insert_without_history_analyzes_the_unrecorded_rows(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only: planner statistics")
        model = history_validity.ASSETS
        source = make_asset()
        fields = [
            f.column for f in LandAsset._meta.concrete_fields if f.column not in ("id", "nomor_register", "nibar")
        ]
        count = history_validity.ANALYZE_UNRECORDED_AFTER
        with connection.cursor() as cursor:  # raw SQL, no history rows: every row is listed as unrecorded
            cursor.execute(
                f"INSERT INTO {model} (nomor_register, {', '.join(fields)}) "  # noqa: S608 - model columns
                f"SELECT lpad(g::text, 6, '0'), {', '.join(fields)} FROM {model}, generate_series(1, %s) g "
                "WHERE id = %s",
                [count, source.pk],
            )
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [history_validity.UNRECORDED])
            [[listed]] = cursor.fetchall()
        self.assertEqual(listed, count)  # analyzed inside the statement's trigger, this transaction's rows counted

    def test_the_validity_triggers_plan_each_run_for_its_own_rows(self):
        if connection.vendor != "postgresql":
            self.skipTest("PostgreSQL only: plpgsql's plan cache")
        with connection.cursor() as cursor:
            cursor.execute("SELECT proname, proconfig FROM pg_proc WHERE proname LIKE %s", ["assets_%_validity_%"])
            functions = dict(cursor.fetchall())
        self.assertGreaterEqual(len(functions), 10)
        for name, config in functions.items():
            self.assertIn("plan_cache_mode=force_custom_plan", config or [], name)
