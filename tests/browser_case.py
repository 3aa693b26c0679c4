"""Base class of the browser tests: a live server and one headless Debian Chromium per test class."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from tests import browser
from tests.processes import wait_for

if not browser.available():  # scripts/setup.sh installs both
    pytest.fail(
        f"{browser.CHROMIUM} and {browser.CHROMEDRIVER} are required (apt-get install chromium chromium-driver)",
        pytrace=False,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


# The basemap points at this server, where it does not exist: every tile fails, which also exercises the quiet
# fallback to "no basemap", and no request can leave the machine.
@override_settings(SIPANAH_BASEMAP_URL="/no-basemap-here/{z}/{x}/{y}.png")
class BrowserTestCase(StaticLiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.driver = browser.chromium()
        cls.driver.set_page_load_timeout(30)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        super().tearDownClass()

    def setUp(self):
        self.wait = WebDriverWait(self.driver, 20)

    def tearDown(self):
        # Leave the page, then let the live server finish what it was still serving (a tile, a check, a save)
        # before the test's flush: on PostgreSQL the flush's TRUNCATE and a query still running take the same
        # tables' locks in opposite orders, one of them is killed as a deadlock, and a failed flush leaves its
        # rows to every test after it (seen in CI: 45 failures on leftovers).
        self.driver.get("about:blank")
        if connection.vendor == "postgresql":
            wait_for(_live_server_idle, "the live server's last requests to end", timeout=60)
        super().tearDown()

    def _fixture_teardown(self):
        # A request the browser sent before it left the page can still reach the live server after the wait above
        # (seen: a z17 tile's statement started as the TRUNCATE did, and PostgreSQL killed the TRUNCATE as the
        # deadlock's victim). The TRUNCATE is rolled back whole, so the flush is tried again once the server is idle.
        for attempt in range(3):
            try:
                return super()._fixture_teardown()
            except Exception:
                if connection.vendor != "postgresql" or attempt == 2:
                    raise
                connection.close()  # the failed flush's connection may be in an aborted state
                wait_for(_live_server_idle, "the live server's last requests to end", timeout=60)

    def login(self, username: str) -> None:
        """Sign in through the login page (tests.factories.make_user gives the password pw-<username>)."""
        # Leave the previous page first: a request of its still in flight (a tile, a count) after the walks delete the
        # cookies came back with a new CSRF cookie after the sign-in page had given its form the old one, and the
        # sign-in was refused ("CSRF token from POST incorrect", test_phone_width in the CI). Leaving cancels them.
        self.driver.get("about:blank")
        self.driver.get(self.live_server_url + reverse("login"))
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(f"pw-{username}")
        self.driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        # The home page a sign-in lands on counts each role's work queue (cold caches: every source at once), which
        # took longer than the usual 20 s once on PostgreSQL under a full CI run: a longer bound for this one wait.
        WebDriverWait(self.driver, 90).until(lambda d: "/accounts/login/" not in d.current_url)


def _live_server_idle() -> bool:
    """No other connection to the test database is running a query (the live server's threads are the others)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'active'"
        )
        return cursor.fetchone()[0] == 0
