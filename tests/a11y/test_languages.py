"""Each page in both languages: ``<html lang>`` says the language the page is in, and every grouped or decimal
number in the page's text follows it (Bahasa Indonesia 1.234,5; English 1,234.5).

The walk is tests/a11y/walk.py's (every HTML page of every role, derived from the URL patterns), through Django's
test client: no browser is needed to read the text. Only forms that cannot be read two ways are flagged: three or
more groups (1.234.567), groups then decimals (1,234.5), or one or two decimals after the other language's mark
(47.5 %, 149,433,00); "1.234" alone may be either, and is left alone.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.conf import settings
from django.core.cache import cache
from django.test import Client, TestCase
from django.utils import translation

from assets.query.views import draw_texts
from assets.register import permissions
from tests.a11y.walk import BROWSER_ACCEPT, THIRD_PARTY_PREFIXES, Page, WalkObjects
from tests.browser_case import BrowserTestCase, By
from tests.factories import load_reference, make_user, temp_media_root

# Text inside these elements is code, data or machine text, not a number for people.
SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "template", "noscript"}
SKIP_CLASSES = {"code", "mono"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

NUMBER = re.compile(r"(?<![\w.,:/+=-])\d[\d.,]*\d(?![\w/-]|[.,]\d)")
# Wrong for the language: (group mark, decimal mark) of the other language.
WRONG = {
    "id": [
        re.compile(r"^\d{1,3}(,\d{3}){2,}$"),  # 1,234,567
        re.compile(r"^\d{1,3}(,\d{3})+\.\d+$"),  # 1,234.5
        re.compile(r"^\d{1,3}(,\d{3})+,\d{1,2}$"),  # 149,433,00
        re.compile(r"^\d+\.\d{1,2}$"),  # 47.5
    ],
    "en": [
        re.compile(r"^\d{1,3}(\.\d{3}){2,}$"),  # 1.234.567
        re.compile(r"^\d{1,3}(\.\d{3})+,\d+$"),  # 1.234,5
        re.compile(r"^\d{1,3}(\.\d{3})+\.\d{1,2}$"),  # 149.433.00
        re.compile(r"^\d+,\d{1,2}$"),  # 47,5
    ],
}


GROUPED = {"id": re.compile(r"\b\d{1,3}(?:\.\d{3})+(?:,\d+)?\b"), "en": re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b")}


class VisibleText(HTMLParser):
    """The page's text without scripts, styles and code; and the ``lang`` of its <html>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is its text skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag in VOID:
            return
        classes = set((values.get("class") or "").split())
        hidden = "hidden" in values or values.get("aria-hidden") == "true"
        skipped = (self.stack[-1] if self.stack else False) or tag in SKIP_TAGS or bool(classes & SKIP_CLASSES)
        self.stack.append(skipped or (hidden and tag != "html"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)

    def text(self) -> str:
        return " ".join(self.parts)


# Not numbers for people to read: a time after a date (Indonesian writes 6 Des. 2026, 20.04) and the name of the
# cadastral grid (TM-3 zone 50.1).
NOT_NUMBERS = re.compile(r"(?<=\d{4}),?\s+\d{1,2}[.:]\d{2}(?::\d{2})?|\bzon[ae]\s+\d+\.\d+", re.IGNORECASE)


def wrong_numbers(text: str, language: str) -> list[str]:
    text = NOT_NUMBERS.sub(" ", text)
    return sorted({n for n in NUMBER.findall(text) if any(p.match(n) for p in WRONG[language])})


class LanguageWalkTests(TestCase):
    @classmethod
    def setUpClass(cls):
        temp_media_root(cls.addClassCleanup)
        super().setUpClass()

    @classmethod
    def setUpTestData(cls):
        cls.objects = WalkObjects.create()

    def setUp(self):
        # The walk fills the process-wide cache (OGC extents, tiles) from this test's objects: leave none behind.
        cache.clear()
        self.addCleanup(cache.clear)

    def read(self, client: Client, page: Page, language: str) -> VisibleText:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get(page.url, HTTP_ACCEPT=BROWSER_ACCEPT)
        self.assertEqual(response.status_code, 200, page)
        parser = VisibleText()
        parser.feed(response.content.decode())
        return parser

    def test_each_page_says_its_language_and_writes_numbers_the_way_of_that_language(self):
        pages = [
            page
            for page in self.objects.anonymous_pages() + self.objects.pages()
            if not page.url.startswith(THIRD_PARTY_PREFIXES)
        ]
        self.assertGreater(len(pages), 40, "the walk found too few pages")
        problems = []
        grouped = {"id": 0, "en": 0}  # grouped numbers written the language's way: the walk did read numbers
        client = Client()
        for page in pages:
            client.logout()
            if page.role != "anonymous":
                client.force_login(self.objects.users[page.role])
            for language in ("id", "en"):
                parsed = self.read(client, page, language)
                if parsed.lang != language:
                    problems.append(f"{language} {page.role} {page.url}: <html lang={parsed.lang!r}>")
                grouped[language] += len(GROUPED[language].findall(parsed.text()))
                wrong = wrong_numbers(parsed.text(), language)
                if wrong:
                    problems.append(f"{language} {page.role} {page.url}: {', '.join(wrong[:8])}")
        self.assertEqual(problems, [], f"{len(problems)} pages:\n" + "\n".join(problems))
        self.assertGreater(grouped["id"], 100)
        self.assertGreater(grouped["en"], 100)

    def test_the_checker_tells_the_languages_apart(self):
        self.assertEqual(wrong_numbers("Rp 1.234.567 · 47,5 % · 1.234 m²", "id"), [])
        self.assertEqual(
            wrong_numbers("Rp 1,234,567 · 47.5 % · 149,433,00 m²", "id"), ["1,234,567", "149,433,00", "47.5"]
        )
        self.assertEqual(wrong_numbers("Rp 1,234,567 · 47.5 % · 1,234.50 m²", "en"), [])
        self.assertEqual(wrong_numbers("Rp 1.234.567 · 47,5 %", "en"), ["1.234.567", "47,5"])
        # Codes, dates and versions are not numbers for people.
        self.assertEqual(wrong_numbers("1.3.1.01.01.01.001 · 2024-01-02 · 4.14.1 · 6 Des. 2026, 20.04", "id"), [])
        self.assertEqual(wrong_numbers("TM-3 zone 50.1 · openapi+json;version=3.0", "id"), [])


class MapTextsBrowserTests(BrowserTestCase):
    """The maps' own controls speak the page's language: Leaflet.draw's tools and Leaflet's zoom buttons on the query
    page, OpenLayers' buttons in the parcel widget; their texts come from the page (translated by Django), not from
    the libraries' English defaults."""

    def setUp(self):
        super().setUp()
        load_reference()
        admin = make_user("admin", permissions.ADMIN)
        admin.is_staff = True
        admin.save()
        self.login("admin")

    def titles(self, selector: str) -> list[str]:
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, selector))
        return [e.get_attribute("title") for e in self.driver.find_elements(By.CSS_SELECTOR, selector)]

    def test_the_drawing_tools_and_zoom_buttons_use_the_pages_texts(self):
        self.driver.get(self.live_server_url + "/query/")
        with translation.override("en"):
            expected = draw_texts()["toolbar"]["buttons"]
        self.assertEqual(
            self.titles(".leaflet-draw-draw-polyline, .leaflet-draw-draw-polygon"),
            [expected["polyline"], expected["polygon"]],
        )
        self.assertEqual(self.titles(".leaflet-control-zoom-in"), ["Zoom in"])
        self.assertIn("Lat, Lon:", self.driver.page_source)
        self.driver.get(self.live_server_url + "/assets/new/")
        self.assertEqual(self.titles(".parcel-widget .ol-attribution button"), ["Map sources"])
