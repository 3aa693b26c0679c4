"""Login throttling (django-axes): wrong passwords in a row lock the account, with a clear page."""

from __future__ import annotations

import base64

from django.conf import settings
from django.test import TestCase
from django.urls import reverse

from assets.register import permissions
from tests.factories import load_reference, make_user

LOGIN = reverse("login")


class LoginThrottleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.user = make_user("petugas", permissions.AUDITOR)  # password "pw-petugas"
        cls.bystander = make_user("lainnya", permissions.AUDITOR)

    def setUp(self):
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    def sign_in(self, username: str, password: str):
        return self.client.post(LOGIN, {"username": username, "password": password})

    def test_the_limit_is_the_configured_one(self):
        self.assertEqual(settings.AXES_FAILURE_LIMIT, 5)
        self.assertEqual(settings.AXES_LOCKOUT_PARAMETERS, ["username"])

    def test_wrong_passwords_lock_the_account_even_for_the_right_password(self):
        limit = settings.AXES_FAILURE_LIMIT
        for attempt in range(1, limit):
            response = self.sign_in("petugas", f"salah-{attempt}")
            self.assertEqual(response.status_code, 200, attempt)  # the login form again, with its error
            self.assertContains(response, "Please enter a correct username and password")
        response = self.sign_in("petugas", "salah-terakhir")
        self.assertEqual(response.status_code, 429)
        self.assertContains(
            response, f"This account is locked after {limit} wrong passwords in a row.", status_code=429
        )
        self.assertContains(response, "Try again in 15 minutes", status_code=429)

        locked = self.sign_in("petugas", "pw-petugas")
        self.assertEqual(locked.status_code, 429)
        self.assertNotIn("_auth_user_id", self.client.session)
        basic = base64.b64encode(b"petugas:pw-petugas").decode()
        self.assertEqual(self.client.get("/api/v1/assets/", HTTP_AUTHORIZATION=f"Basic {basic}").status_code, 401)

        # Another account is not affected.
        self.assertRedirects(self.sign_in("lainnya", "pw-lainnya"), reverse("home"))

    def test_a_successful_sign_in_resets_the_count(self):
        for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
            self.sign_in("petugas", f"salah-{attempt}")
        self.assertRedirects(self.sign_in("petugas", "pw-petugas"), reverse("home"))
        self.client.logout()
        self.assertEqual(self.sign_in("petugas", "salah-lagi").status_code, 200)  # counting starts again
