"""/healthz: the database and the job worker's heartbeat, 200 when both are up and 503 otherwise."""

from __future__ import annotations

import time
from unittest import mock

from django.db import OperationalError
from django.test import TestCase

from assets.ops import health, worker
from tests.factories import temp_media_root


class HealthzTests(TestCase):
    def setUp(self):
        self.media = temp_media_root(self.addCleanup)

    def test_no_worker_ever_is_unhealthy_and_needs_no_login(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        body = response.json()
        self.assertEqual(body["database"]["ok"], True)
        self.assertEqual(body["worker"]["ok"], False)
        self.assertIn("no heartbeat", body["worker"]["error"])
        self.assertIn("no-cache", response["Cache-Control"])

    def test_an_idle_worker_poll_makes_it_healthy(self):
        self.assertEqual(worker.work(once=True), 0)  # one poll of an empty queue
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual(response.json()["ok"], True)
        self.assertLess(response.json()["worker"]["last_heartbeat_seconds_ago"], health.worker_stale_seconds())

    def test_a_stale_heartbeat_is_unhealthy(self):
        health.worker_beat()
        later = time.time() + health.worker_stale_seconds() + 5
        self.assertEqual(health.worker_status(now=later)["ok"], False)
        with mock.patch("assets.ops.health.time.time", return_value=later):
            self.assertEqual(self.client.get("/healthz").status_code, 503)

    def test_a_lost_database_is_unhealthy_without_leaking_its_message(self):
        health.worker_beat()
        with mock.patch("assets.ops.health.connection.cursor", side_effect=OperationalError("host db.secret user x")):
            response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["database"], {"ok": False, "error": "OperationalError"})
        self.assertNotIn(b"secret", response.content)
