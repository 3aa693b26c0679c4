"""The work queues per role and agency: counts, scopes, links, the home page and the settings page."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from assets.models import Certificate, LandAsset, Stage, User
from assets.register import services
from assets.work import registry
from assets.work.registry import items_for
from tests.factories import make_asset, point_inside, square, temp_media_root
from tests.work.fixtures import HALF, TODAY, build_register, stuck_case


def by_source(user) -> dict:
    return {item.source: item for item in items_for(User.objects.get(pk=user.pk))}


class WorkSourcesTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        temp_media_root(cls.addClassCleanup)
        data = build_register()
        cls.users, cls.a, cls.b = data["users"], data["a"], data["b"]

    def setUp(self):
        cache.clear()  # the findings' counts are cached per data version; start each test cold

    def test_officer_sees_own_agency_only(self):
        for name, agency, expected in (
            ("officer_a", self.a, {"stuck": 1, "unlocated": 1, "area-mismatch": 1, "imports": 1}),
            ("officer_b", self.b, {"stuck": 1, "unlocated": 2, "area-mismatch": 2, "imports": 1}),
        ):
            with self.subTest(name):
                items = by_source(self.users[name])
                self.assertEqual({s: i.count for s, i in items.items()}, expected)
                other = self.b if agency == self.a else self.a
                for item in items.values():
                    self.assertEqual(item.breakdown, ())
                    self.assertNotIn(f"agency={other.code}", item.url)
                    if item.source != "imports":
                        self.assertIn(f"agency={agency.code}", item.url)
                self.assertNotIn("loans-overdue", items)  # custody is BPKAD's

    def test_bpkad_and_admin_see_every_agency_with_counts(self):
        for name in ("bpkad", "admin"):
            with self.subTest(name):
                items = by_source(self.users[name])
                self.assertEqual(
                    {s: i.count for s, i in items.items()},
                    {"stuck": 2, "unlocated": 3, "area-mismatch": 3, "imports": 2, "loans-overdue": 1},
                )
                unlocated = {b.name: (b.count, b.url) for b in items["unlocated"].breakdown}
                self.assertEqual(unlocated[self.a.name][0], 1)
                self.assertEqual(unlocated[self.b.name][0], 2)
                self.assertIn(f"agency={self.b.code}", unlocated[self.b.name][1])
                self.assertEqual([b.count for b in items["area-mismatch"].breakdown], [2, 1])  # largest first
                self.assertEqual(
                    {b.name: b.count for b in items["imports"].breakdown}, {self.a.name: 1, self.b.name: 1}
                )
                self.assertEqual({b.name: b.count for b in items["loans-overdue"].breakdown}, {self.b.name: 1})
                self.assertEqual(items["stuck"].detail, "oldest: 400 days")

    def test_auditor_reads_planner_has_nothing(self):
        items = by_source(self.users["auditor"])
        self.assertEqual(set(items), {"stuck", "unlocated", "area-mismatch", "loans-overdue"})  # no imports to confirm
        self.assertEqual(items["unlocated"].severity, "info")
        self.assertEqual(items["unlocated"].count, 3)
        self.assertEqual(by_source(self.users["planner"]), {})

    def test_every_link_opens_for_its_user(self):
        for name in ("officer_a", "officer_b", "bpkad", "auditor"):
            client = Client()
            client.force_login(self.users[name])
            for item in items_for(User.objects.get(pk=self.users[name].pk)):
                for url in [item.url, *(b.url for b in item.breakdown)]:
                    with self.subTest(name, url=url):
                        self.assertEqual(client.get(url).status_code, 200)

    def test_links_lead_to_the_counted_things(self):
        client = Client()
        client.force_login(self.users["officer_b"])
        items = by_source(self.users["officer_b"])
        page = client.get(items["unlocated"].url).content.decode()
        self.assertIn("Tanah B tanpa lokasi 1", page)
        self.assertIn("Tanah B tanpa lokasi 2", page)
        self.assertNotIn("Tanah A tanpa lokasi", page)
        page = client.get(items["stuck"].url).content.decode()
        self.assertIn("Tanah B tanpa lokasi 2", page)
        self.assertNotIn("Tanah A tanpa lokasi", page)
        page = client.get(items["imports"].url).content.decode()
        self.assertIn("officer_b-previewed.geojson", page)
        client.force_login(self.users["bpkad"])
        page = client.get(by_source(self.users["bpkad"])["imports"].url).content.decode()
        self.assertIn("officer_a-previewed.geojson", page)
        self.assertNotIn("officer_a-done.geojson", page)  # ?waiting=1: only files waiting for confirmation

    def test_home_page_lists_the_items(self):
        client = Client()
        client.force_login(self.users["officer_a"])
        page = client.get("/").content.decode()
        for source in ("stuck", "unlocated", "area-mismatch", "imports"):
            self.assertIn(f'data-source="{source}"', page)
        self.assertIn(f"/assets/?plotting=unknown&amp;agency={self.a.code}", page)
        self.assertNotIn(self.b.code, page)
        client.force_login(self.users["bpkad"])
        page = client.get("/").content.decode()
        self.assertIn('data-source="loans-overdue"', page)
        self.assertIn(f"agency={self.b.code}", page)  # the per-agency table
        client.force_login(self.users["planner"])
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        self.assertIn('id="work-heading"', page)
        self.assertNotIn("data-source=", page)

    def test_cached_finding_counts_follow_every_write(self):
        def counts(name):
            return {s: i.count for s, i in by_source(self.users[name]).items()}

        self.assertEqual((counts("bpkad")["stuck"], counts("officer_a")["stuck"]), (2, 1))
        located_a = LandAsset.objects.get(nama_barang="Tanah A selisih luas")
        case = stuck_case(located_a, 200)  # a certificate write
        self.assertEqual(
            (counts("bpkad")["stuck"], counts("officer_a")["stuck"], counts("officer_b")["stuck"]), (3, 2, 1)
        )
        services.certificate_change_stage(certificate=case, user=None, to_stage=Stage.PETA_BIDANG_TERBIT,
                                          tanggal_tahap=TODAY)  # fmt: skip
        self.assertEqual(counts("officer_a")["stuck"], 1)  # a stage change restarts the clock
        Certificate.objects.filter(pk=case.pk).update(stage_since=TODAY.replace(year=TODAY.year - 2))
        self.assertEqual(counts("officer_a")["stuck"], 1)  # raw SQL leaves no history: the cache keeps its count
        self.assert_counts_match_the_findings()
        make_asset(self.a)  # an asset write...
        self.assertEqual(counts("officer_a")["stuck"], 2)  # ...and the counts are read anew
        services.asset_remove(asset=located_a, user=None, sk_nomor="SK-1", tanggal=TODAY)  # its case leaves too
        self.assertEqual(counts("officer_a")["stuck"], 1)
        self.assertEqual(counts("officer_a").get("area-mismatch", 0), 0)
        self.assertEqual(counts("bpkad")["area-mismatch"], 2)
        self.assert_counts_match_the_findings()
        # A raw update of an area: the SQL counts follow at once (the cached ones when it commits and the register
        # version moves, which PostgreSQL does at COMMIT: a TestCase never commits; tests/maps test the version).
        LandAsset.objects.filter(nama_barang="Tanah B selisih 1").update(luas_kib_m2=F("luas_gis_m2"))
        from assets.audit import work as audit_work
        from assets.register.work import Scope

        self.assertEqual(sum(audit_work.mismatch_counts(Scope(None)).values()), 1)
        self.assert_counts_match_the_findings()

    def assert_counts_match_the_findings(self):
        """The queues' SQL counts and the finding pages' rules over a snapshot give the same numbers per agency."""
        from collections import Counter

        from assets.audit import findings
        from assets.audit import work as audit_work
        from assets.register.reads import RegisterSelection
        from assets.register.work import Scope

        states = RegisterSelection.everything().states()
        options = findings.FindingOptions()
        for slug, counted in (
            ("stuck", audit_work.stuck_counts(Scope(None))[0]),
            ("area-mismatch", audit_work.mismatch_counts(Scope(None))),
        ):
            expected = Counter(row.asset.agency_id for row in findings.run_finding(slug, states, options=options))
            self.assertEqual(counted, dict(expected), slug)

    def test_counts_do_not_cost_more_queries_with_more_assets(self):
        bpkad = User.objects.get(pk=self.users["bpkad"].pk)
        with CaptureQueriesContext(connection) as before:
            items_for(bpkad)
        lon, lat = point_inside("64.71.01.1003")
        for i in range(5):
            make_asset(self.b, geom=square(lon + i * 0.003, lat, HALF))
            make_asset(self.a)
        bpkad = User.objects.get(pk=self.users["bpkad"].pk)
        with CaptureQueriesContext(connection) as after:
            items = {i.source: i.count for i in items_for(bpkad)}
        self.assertEqual((items["unlocated"], items["area-mismatch"]), (8, 8))
        self.assertEqual(len(after.captured_queries), len(before.captured_queries))
        # at most about two statements per source, whatever the register's size (12 sources from seven rooms)
        self.assertLessEqual(len(after.captured_queries), 2 * len(registry.sources()) + 3)
        with CaptureQueriesContext(connection) as warm:
            items_for(User.objects.get(pk=self.users["bpkad"].pk))
        self.assertLess(len(warm.captured_queries), len(after.captured_queries))  # the cached counts


class MySettingsTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        temp_media_root(cls.addClassCleanup)
        cls.users = build_register()["users"]

    def test_every_role_opens_it_anonymous_users_log_in(self):
        self.assertIn("/accounts/login/", Client().get("/settings/")["Location"])
        for name in ("officer_a", "bpkad", "auditor", "planner", "admin"):
            client = Client()
            client.force_login(self.users[name])
            self.assertEqual(client.get("/settings/").status_code, 200, name)

    def test_user_opts_out_and_chooses_a_language(self):
        client = Client()
        client.force_login(self.users["officer_a"])
        self.assertEqual(client.get("/settings/").status_code, 200)
        response = client.post("/settings/", {"language": "en", "digest_opt_out": "on"})
        self.assertEqual(response.status_code, 302)
        user = User.objects.get(pk=self.users["officer_a"].pk)
        self.assertEqual((user.language, user.digest_opt_out), ("en", True))
        self.assertEqual(response.cookies["django_language"].value, "en")
        client.post("/settings/", {"language": ""})
        user.refresh_from_db()
        self.assertEqual((user.language, user.digest_opt_out), ("", False))

    def test_bad_language_is_refused_and_names_the_field(self):
        client = Client()
        client.force_login(self.users["officer_a"])
        response = client.post("/settings/", {"language": "xx"}, HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 200)
        self.assertIn("language", response.context["form"].errors)
        self.assertEqual(User.objects.get(pk=self.users["officer_a"].pk).language, "")

    def test_admin_shows_the_digest_preferences(self):
        admin = self.users["admin"]
        User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(User.objects.get(pk=admin.pk))
        page = client.get(f"/admin/assets/user/{self.users['officer_a'].pk}/change/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'name="digest_opt_out"')
        self.assertContains(page, 'name="language"')
