"""axe-core (npm, package-lock.json) in Debian's headless Chromium over every HTML page of every role: no WCAG 2.0
and 2.1 A/AA violation (tags wcag2a, wcag2aa, wcag21a, wcag21aa).

axe.min.js is read from node_modules (``npm ci``, run by scripts/setup.sh) and injected with WebDriver after each
page has loaded: the pages' Content-Security-Policy does not apply to WebDriver's scripts, and no page serves it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.a11y.walk import BROWSER_ROLES, THIRD_PARTY_PREFIXES, Page, WalkObjects
from tests.browser_case import BrowserTestCase
from tests.factories import temp_media_root

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
if not AXE.exists():
    pytest.fail(f"{AXE} is missing: run scripts/setup.sh (npm ci installs axe-core)", pytrace=False)

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary.replace(/\\s+/g, " ").slice(0, 300))}))))
  .catch(e => done([{id: "axe-error", impact: "error", help: String(e), nodes: []}]));
"""


class AxeWalkTests(BrowserTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.axe_source = AXE.read_text()
        cls.driver.set_script_timeout(60)

    def setUp(self):
        super().setUp()
        temp_media_root(self.addCleanup)
        self.objects = WalkObjects.create()
        self.addCleanup(cache.clear)  # the walk fills the process-wide cache (OGC extents, tiles): leave none behind

    def sign_in(self, role: str) -> None:
        self.driver.delete_all_cookies()
        if role != "anonymous":
            self.login(role)

    def violations(self, page: Page) -> list[str]:
        self.driver.get(self.live_server_url + page.url)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.driver.execute_script(self.axe_source)
        found = self.driver.execute_async_script(RUN, TAGS)
        return [
            f"{page.role} {page.url}: {v['id']} ({v['impact']}) {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
            for v in found
        ]

    def test_no_page_of_any_role_has_a_wcag_a_or_aa_violation(self):
        pages = [
            page
            for page in self.objects.anonymous_pages() + self.objects.pages(BROWSER_ROLES)
            if not page.url.startswith(THIRD_PARTY_PREFIXES)
        ]
        self.assertGreater(len(pages), 40, "the walk found too few pages")
        problems: list[str] = []
        role = None
        for page in pages:
            if page.role != role:
                role = page.role
                self.sign_in(role)
            problems.extend(self.violations(page))
        self.assertEqual(problems, [], f"{len(problems)} violations:\n" + "\n".join(problems))
