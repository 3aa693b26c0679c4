"""The page walk of the accessibility, phone-width and language tests: every HTML page each role can GET.

The list is derived, not written down: every URL pattern of the project (tests/register/test_access_walk.py's
``all_patterns``, with its path parameters filled by the same objects), asked by each role as a browser asks
(``Accept: text/html``); a page is every answer that is 200 and ``text/html`` (a page that fails is the access
walk's to report). Tiles, JSON, files, PDF and XLSX drop out by their content type, so a new page is walked as
soon as its URL pattern exists. Django's own admin site (``admin/``) is left out: its templates are Django's, not
Sipanah's. A few demo assets (assets.demo) fill the register so that the dashboard, the findings and the lists
show what they show in use.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.core.cache import cache
from django.test import Client, override_settings

from assets.demo.writers import populate_database
from assets.ops import health
from tests.register.test_access_walk import WalkCase, all_patterns, expectation, fill

# The roles that see different pages (officer_b sees what officer_a sees, of another agency).
ROLES = ("officer_a", "bpkad", "auditor", "planner", "admin")
# In a browser: BPKAD's pages are the admin's without the link to Django's admin site, so the browser tests leave
# them to the admin (the language walk, without a browser, reads them too).
BROWSER_ROLES = ("officer_a", "auditor", "planner", "admin")
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"|csrftoken=[^;"]*')
DEMO_COUNT = 60
# The API's pages for developers are drawn by other projects' templates and styles (Swagger UI from
# drf-spectacular, Django REST framework's browsable API: no <html lang>, no viewport, Swagger's colours), which
# Sipanah cannot fix without forking them: the browser tests leave them out. Every other HTML page is Sipanah's.
THIRD_PARTY_PREFIXES = ("/api/v1/",)
# Pages that show more once a form is used: walked once more with these query strings (a spatial query over the
# whole city, a filtered register list), so that the results' tables, maps and links are checked too.
WITH_RESULTS = {"/query/": "bbox=116.70,-1.40,117.10,-1.00", "/assets/": "q=Tanah&page_size=25"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass(frozen=True)
class Page:
    role: str
    url: str


class WalkObjects:
    """The access walk's users and objects (agency A's asset, certificates, document, import...) plus demo assets.

    Call ``WalkObjects.create()`` inside a test (after the flush of a live-server test case): it returns an object
    with the attributes ``WalkCase.values`` reads."""

    users: dict
    values = WalkCase.values

    @classmethod
    def create(cls) -> WalkObjects:
        holder = cls()
        cache.clear()
        WalkCase.setUpTestData.__func__(holder)  # type: ignore[attr-defined]
        with override_settings(SIPANAH_DEMO=True):
            populate_database(count=DEMO_COUNT, seed=1, existing="append")
        health.worker_beat()
        return holder

    def pages(self, roles: tuple[str, ...] = ROLES) -> list[Page]:
        """Every (role, URL) whose GET is an HTML page, in the order of the URL patterns."""
        client = Client(HTTP_ACCEPT=BROWSER_ACCEPT, raise_request_exception=False)
        found: list[Page] = []
        for role in roles:
            client.force_login(self.users[role])
            seen: set[str] = set()  # the same page under two URLs (/ogc and /ogc/) is walked once
            for pattern in all_patterns():
                if pattern.route.startswith("admin/") or pattern.route.startswith("accounts/logout"):
                    continue
                rule = expectation(pattern.route)
                params = rule[1] if rule else {}
                try:
                    url = fill(pattern.route, self.values(params, pattern.route))
                except KeyError:
                    continue  # a pattern the access walk cannot fill yet fails there, not here
                response = client.get(url)
                kind = response.get("Content-Type", "")
                if response.status_code == 200 and kind.startswith("text/html"):
                    digest = hashlib.sha256(CSRF.sub(b"", response.content)).hexdigest()
                    if digest in seen:
                        continue
                    seen.add(digest)
                    found.append(Page(role, url))
                    if url in WITH_RESULTS:
                        found.append(Page(role, f"{url}?{WITH_RESULTS[url]}"))
        client.logout()
        return found

    def anonymous_pages(self) -> list[Page]:
        client = Client(HTTP_ACCEPT=BROWSER_ACCEPT, raise_request_exception=False)
        found = []
        for pattern in all_patterns():
            if pattern.route.startswith("admin/") or pattern.route == "accounts/logout/":
                continue
            try:
                url = fill(pattern.route, self.values((expectation(pattern.route) or ({}, {}))[1], pattern.route))
            except KeyError:
                continue  # a pattern the access walk cannot fill yet fails there, not here
            response = client.get(url)
            if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
                found.append(Page("anonymous", url))
        return found
