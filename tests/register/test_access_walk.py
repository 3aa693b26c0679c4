"""Access-control walk: every URL pattern of the project x every role, by GET, against a table of expectations.

The table below is the access policy in one place. A URL pattern that is not in it fails the test, so a new page
cannot ship without someone deciding who may open it. Path parameters are filled with real objects: the assets,
certificate and import belong to agency A; "officer_b" is an officer of agency B looking at agency A's objects.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

from django.apps import apps
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.test import Client, TestCase, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from assets.models import Agency, AgencyMapping, ImportJob
from assets.ops import health
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root

ROLES = ("anonymous", "officer_a", "officer_b", "bpkad", "auditor", "planner", "admin")
STAFF_ROLES = {"admin"}

# Outcomes. A number is the exact status code; the names are redirects to a login page.
LOGIN = "login"  # 302 to /accounts/login/ (LoginRequiredMiddleware); for anonymous users also the admin's login
ADMIN_LOGIN = "admin-login"  # 302 to /admin/login/ (the admin site's own staff check)


def rule(anonymous: int | str = LOGIN, others: int | str = 200, **roles: int | str) -> dict[str, int | str]:
    """Expected outcome per role: ``anonymous``, then ``others`` for every role not named."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, unknown
    return {"anonymous": anonymous, **{r: roles.get(r, others) for r in ROLES[1:]}}


PUBLIC = rule(anonymous=200)  # no login: health checks, the login page
READ = rule()  # every role reads the register, maps, findings and history
API_READ = rule(anonymous=401)  # API/OGC clients get 401 (with WWW-Authenticate), not a login page
CREATE = rule(auditor=403, planner=403)  # officers (own agency), BPKAD and admin create and import
EDIT_A = rule(officer_b=403, auditor=403, planner=403)  # changes to agency A's objects
EDIT_ALL = rule(officer_a=403, officer_b=403, auditor=403, planner=403)  # BPKAD and admin only
EXPORT = rule(officer_a=403, officer_b=403, planner=403)  # auditors, BPKAD, admin
IMPORT_LOG = rule(planner=403)  # importers see their imports, auditors read every import (without the upload form)
OWN_IMPORT = rule(officer_b=403, planner=403)  # an import's page and file: the uploader, BPKAD, auditors, admin
DOCS_A = rule(officer_b=403, planner=403)  # agency A's documents and files: its officers, BPKAD, auditors, admin
STAFF = rule(others=ADMIN_LOGIN, admin=200)  # the admin site: staff only
EVERYONE = rule(anonymous=200)  # the public pages (/publik/)
EVERYONE_400 = rule(anonymous=400, others=400)

# pattern (as get_resolver shows it, fnmatch wildcards allowed) -> (expected outcome per role, path parameters)
ACCESS: dict[str, tuple[dict[str, int | str], dict[str, str]]] = {
    # Accounts, language, health.
    "accounts/login/": (PUBLIC, {}),
    "accounts/logout/": (rule(others=405), {}),  # POST only
    "i18n/setlang/": (rule(anonymous=302, others=302), {}),  # POST changes the language; GET only goes back
    "healthz": (PUBLIC, {}),
    # Register pages.
    "": (READ, {}),
    "settings/": (READ, {}),  # the user's own preferences (language, the daily digest)
    "assets/": (READ, {}),
    "assets/new/": (CREATE, {}),
    "assets/<int:pk>/": (READ, {"pk": "asset"}),
    "assets/<int:pk>/edit/": (EDIT_A, {"pk": "asset"}),
    "assets/<int:pk>/certificates/new/": (EDIT_A, {"pk": "asset"}),
    "certificates/<int:pk>/stage/": (EDIT_A, {"pk": "certificate"}),
    "assets/<int:pk>/remove/": (EDIT_A, {"pk": "asset"}),
    "assets/<int:pk>/restore/": (EDIT_ALL, {"pk": "removed"}),
    "assets/<int:pk>/card.pdf": (READ, {"pk": "asset"}),
    # Maps and tiles.
    "map/": (READ, {}),
    "map/totals/": (READ, {}),
    "map/basemap/": (rule(others=405), {}),  # POST only: the user's basemap choice (tests/maps/test_basemaps.py)
    "map/boundaries/": (READ, {}),
    "map/assets/<int:pk>/popup/": (READ, {"pk": "asset"}),
    "tiles/assets/<int:z>/<int:x>/<int:y>.pbf": (READ, {"z": "0", "x": "0", "y": "0"}),
    "tiles/encumbrances/<int:z>/<int:x>/<int:y>.pbf": (READ, {"z": "0", "x": "0", "y": "0"}),
    # Spatial query.
    "query/": (READ, {}),
    "query/export/": (rule(officer_a=403, officer_b=403, others=400), {}),  # exporters and planners reach it:
    # without a query drawn it answers 400 naming what is missing
    # Audit.
    "audit/": (READ, {}),
    "audit/findings/<slug:slug>/": (READ, {"slug": "finding"}),
    "audit/report.xlsx": (EXPORT, {}),
    "audit/report.pdf": (EXPORT, {}),
    "assets/export/prints/<int:pk>/": (rule(officer_a=403, officer_b=403, planner=403), {"pk": "print_job"}),
    "assets/export/prints/<int:pk>/file/": (rule(officer_a=403, officer_b=403, planner=403), {"pk": "print_job"}),
    "audit/dashboard/": (READ, {}),
    "audit/dashboard/charts/<slug:slug>.svg": (READ, {"slug": "kecamatan"}),  # the totals shown on the page
    "audit/dashboard/numbers.xlsx": (READ, {}),
    "audit/log/": (READ, {}),
    # Import and export.
    "assets/export/": (EXPORT, {}),
    "assets/export/kib-a/": (EXPORT, {}),  # the printed KIB A; without agency= the city's (an officer prints their
    # own agency's: tests/transfer/test_kib_print.py)
    "assets/geometry/check/": (
        rule(auditor=403, planner=403, others=405),
        {},
    ),  # POST only, for those who enter parcels
    "imports/": (IMPORT_LOG, {}),
    "imports/<int:pk>/": (OWN_IMPORT, {"pk": "job"}),
    "imports/<int:pk>/status/": (OWN_IMPORT, {"pk": "job"}),
    "imports/<int:pk>/file/": (OWN_IMPORT, {"pk": "job"}),
    "imports/<int:pk>/mapping.json": (OWN_IMPORT, {"pk": "job"}),
    "imports/mappings/<int:agency>.json": (IMPORT_LOG, {"agency": "saved_mapping"}),  # a mapping file, not secret
    # Evidence: documents and the custody of original certificates.
    "evidence/assets/<int:pk>/upload/": (rule(others=405), {"pk": "asset"}),  # POST only
    "evidence/documents/<int:pk>/file/": (DOCS_A, {"pk": "document"}),
    "evidence/documents/<int:pk>/view/": (DOCS_A, {"pk": "document"}),
    "evidence/documents/<int:pk>/thumbnail/": (DOCS_A, {"pk": "document"}),
    "evidence/documents/<int:pk>/withdraw/": (EDIT_A, {"pk": "document"}),
    "evidence/certificates/<int:pk>/custody/": (DOCS_A, {"pk": "issued"}),
    "evidence/custody/<int:pk>/receipt.pdf": (DOCS_A, {"pk": "custody"}),
    "evidence/loans/": (EXPORT, {}),
    # Ledger: reconciliation with the official BMD register (BPKAD, admin, auditors), transfers between agencies.
    "ledger/": (EXPORT, {}),
    "ledger/runs/<int:pk>/": (EXPORT, {"pk": "run"}),
    "ledger/runs/<int:pk>/status/": (rule(others=405), {"pk": "run"}),  # POST only
    "ledger/runs/<int:pk>/berita-acara.pdf": (EXPORT, {"pk": "run"}),
    "ledger/runs/<int:pk>/berita-acara.xlsx": (EXPORT, {"pk": "run"}),
    "ledger/lines/<int:pk>/": (EXPORT, {"pk": "line"}),
    "ledger/compare/": (rule(officer_a=403, officer_b=403, planner=403, others=400), {}),  # needs two runs
    "ledger/opening-balance/": (EXPORT, {}),
    "ledger/assets/<int:asset>/sub-unit/": (EDIT_A, {"asset": "asset"}),
    "ledger/transfers/": (READ, {}),
    "ledger/transfers/report.xlsx": (READ, {}),
    "ledger/transfers/new/<int:asset>/": (EDIT_A, {"asset": "asset"}),
    "ledger/transfers/<int:pk>/": (rule(planner=404), {"pk": "transfer"}),  # officers of its from or to agency
    # Encumbrances: dispute and occupation cases, pemanfaatan and payments (tests/encumbrance).
    "encumbrance/cases/": (READ, {}),
    "encumbrance/cases/<int:pk>/": (READ, {"pk": "case"}),
    "encumbrance/cases/<int:pk>/edit/": (EDIT_A, {"pk": "case"}),
    "encumbrance/cases/<int:pk>/stage/": (rule(others=405), {"pk": "case"}),  # POST only
    "encumbrance/cases/<int:pk>/documents/": (rule(others=405), {"pk": "case"}),  # POST only
    "encumbrance/assets/<int:pk>/cases/new/": (EDIT_A, {"pk": "asset"}),
    "encumbrance/utilisations/": (READ, {}),
    "encumbrance/utilisations/<int:pk>/": (READ, {"pk": "utilisation"}),
    "encumbrance/utilisations/<int:pk>/edit/": (EDIT_A, {"pk": "utilisation"}),
    "encumbrance/utilisations/<int:pk>/payments/": (rule(others=405), {"pk": "utilisation"}),  # POST only
    "encumbrance/assets/<int:pk>/utilisations/new/": (EDIT_A, {"pk": "asset"}),
    "encumbrance/payments/<int:pk>/": (rule(others=405), {"pk": "payment"}),  # POST only
    "encumbrance/revenue.csv": (EXPORT, {}),
    "encumbrance/cases.csv": (EXPORT, {}),
    # REST API.
    "api/v1/schema/": (API_READ, {}),
    "api/v1/docs/": (READ, {}),  # an HTML page for people: the login page, like the others
    r"api/v1/^assets/$": (API_READ, {}),
    r"api/v1/^assets\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"format": "json"}),
    r"api/v1/^assets/aggregate/$": (API_READ, {}),
    r"api/v1/^assets/aggregate\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"format": "json"}),
    r"api/v1/^assets/(?P<pk>[^/.]+)/$": (API_READ, {"pk": "asset"}),
    r"api/v1/^assets/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"pk": "asset", "format": "json"}),
    r"api/v1/^assets/(?P<pk>[^/.]+)/documents/$": (rule(anonymous=401, officer_b=403, planner=403), {"pk": "asset"}),
    r"api/v1/^cases/$": (API_READ, {}),
    r"api/v1/^cases\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"format": "json"}),
    r"api/v1/^cases/(?P<pk>[^/.]+)/$": (API_READ, {"pk": "case"}),
    r"api/v1/^cases/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"pk": "case", "format": "json"}),
    r"api/v1/^utilisations/$": (API_READ, {}),
    r"api/v1/^utilisations\.(?P<format>[a-z0-9]+)/?$": (API_READ, {"format": "json"}),
    r"api/v1/^utilisations/(?P<pk>[^/.]+)/$": (API_READ, {"pk": "utilisation"}),
    r"api/v1/^utilisations/(?P<pk>[^/.]+)\.(?P<format>[a-z0-9]+)/?$": (
        API_READ,
        {"pk": "utilisation", "format": "json"},
    ),
    r"api/v1/^assets/(?P<pk>[^/.]+)/documents\.(?P<format>[a-z0-9]+)/?$": (
        rule(anonymous=401, officer_b=403, planner=403),
        {"pk": "asset", "format": "json"},
    ),
    # OGC API Features.
    "ogc/": (API_READ, {}),  # every OGC path with and without its final slash
    "ogc": (API_READ, {}),
    r"ogc/^conformance/?$": (API_READ, {}),
    r"ogc/^api/?$": (API_READ, {}),
    r"ogc/^collections/?$": (API_READ, {}),
    r"ogc/^collections/(?P<collection_id>[^/]+)/?$": (API_READ, {"collection_id": "assets"}),
    r"ogc/^collections/(?P<collection_id>[^/]+)/items/?$": (API_READ, {"collection_id": "assets"}),
    r"ogc/^collections/(?P<collection_id>[^/]+)/items/(?P<feature_id>[^/]+)/?$": (
        API_READ,
        {"collection_id": "assets", "feature_id": "asset"},
    ),
    # Field inventory: campaigns managed by BPKAD or the agency's officer; the app for every role; the package for
    # the team's members only (officer_a's team); results and photos are POSTed.
    "field/": (READ, {}),
    "field/campaigns/<int:pk>/": (EDIT_A, {"pk": "campaign"}),
    "field/campaigns/<int:pk>/map.geojson": (EDIT_A, {"pk": "campaign"}),
    "field/campaigns/<int:pk>/close/": (rule(auditor=403, planner=403, others=405), {"pk": "campaign"}),
    "field/campaigns/<int:pk>/report.pdf": (EDIT_A, {"pk": "campaign"}),
    "field/campaigns/<int:pk>/report.xlsx": (EDIT_A, {"pk": "campaign"}),
    "field/teams/<int:pk>/berita-acara.pdf": (EDIT_A, {"pk": "team"}),
    "field/results/<int:pk>/review/": (rule(auditor=403, planner=403, others=405), {"pk": "field_result"}),
    # The team's page: its members and who manages the campaign; a result is edited by the team's members only;
    # parcels are moved by POST (the leader or who manages the campaign).
    "field/teams/<int:pk>/": (EDIT_A, {"pk": "team"}),
    "field/teams/<int:pk>/move/": (rule(others=405), {"pk": "team"}),
    "field/results/<int:pk>/edit/": (rule(others=403, officer_a=200), {"pk": "field_result"}),
    # A case or a pemanfaatan check from a field result (assets.followup): who manages the campaign and may change
    # the asset.
    "field/results/<int:pk>/case/": (EDIT_A, {"pk": "field_result"}),
    "field/results/<int:pk>/pemanfaatan/": (EDIT_A, {"pk": "field_result"}),
    "field/app/": (READ, {}),
    "field/app/sw.js": (EVERYONE, {}),
    "field/app/manifest.webmanifest": (EVERYONE, {}),
    "field/api/teams/": (READ, {}),  # each user's own teams
    "field/api/teams/<int:team>/package/": (rule(others=403, officer_a=200), {"team": "team"}),
    "field/api/results/": (rule(others=405), {}),
    "field/api/results/<uuid:client_id>/photos/<uuid:photo_id>/": (
        rule(others=405),
        {"client_id": "field_result_uuid", "photo_id": "field_result_uuid"},
    ),
    # Cek Tanah Pemkot: the public pages answer everyone (tests/public walks their content); BPKAD's report pages.
    "publik/": (EVERYONE, {}),
    "publik/cek/": (EVERYONE_400, {}),  # without lon/lat: 400 naming them
    "publik/cek/formulir/": (rule(anonymous=405, others=405), {}),  # POST only
    "publik/kelurahan/": (rule(anonymous=302, others=302), {}),  # without a kelurahan: back to the map
    "publik/jawaban/<str:code>/": (EVERYONE, {"code": "lookup"}),
    "publik/jawaban/<str:code>/pdf/": (EVERYONE, {"code": "lookup"}),
    "publik/verifikasi/": (EVERYONE, {}),
    "publik/tiles/<int:z>/<int:x>/<int:y>.mvt": (EVERYONE, {"z": "0", "x": "0", "y": "0"}),
    "publik/lapor/<str:kind>/": (EVERYONE, {"kind": "okupasi"}),
    "publik/laporan/<str:token>/": (EVERYONE, {"token": "report_token"}),
    "public-reports/": (EDIT_ALL, {}),
    "public-reports/<int:pk>/": (EDIT_ALL, {"pk": "report"}),
    "public-reports/<int:pk>/photo/": (
        rule(officer_a=403, officer_b=403, auditor=403, planner=403, others=404),
        {"pk": "report"},
    ),
    # Django admin: staff only. Exceptions first (the first matching row wins).
    "admin/login/": (rule(anonymous=200, admin=302), {}),  # staff are sent on to the index
    "admin/logout/": (rule(others=302, admin=405), {}),  # POST only; non-staff are sent to the admin index
    "admin/autocomplete/": (rule(others=ADMIN_LOGIN, admin=403), {}),  # needs parameters
    "admin/r/<path:content_type_id>/<path:object_id>/": (
        rule(others=ADMIN_LOGIN, admin=404),  # assets have no public URL to go to
        {"content_type_id": "asset_type", "object_id": "asset"},
    ),
    "admin/*/<path:object_id>/": (rule(others=ADMIN_LOGIN, admin=302), {}),  # -> change/
    "admin/(?P<url>.*)$": (rule(others=ADMIN_LOGIN, admin=404), {"url": "no-such-page/"}),
    "admin/assets/certificatestageevent/add/": (rule(others=ADMIN_LOGIN, admin=403), {}),  # made by services only
    "admin/axes/*/add/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    # Documents and the custody log are made by assets.evidence.services only; nothing of evidence is deleted.
    "admin/assets/document/add/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/custodyevent/add/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/document/<path:object_id>/delete/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/custodyevent/<path:object_id>/delete/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/storageplace/<path:object_id>/delete/": (
        rule(others=ADMIN_LOGIN, admin=403),
        {},
    ),  # sign-in records are made by django-axes only
    # The public pages' records: one policy row (no second added), exclusions withdrawn and reports kept, never deleted.
    "admin/assets/publicationpolicy/add/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/publicationpolicy/<path:object_id>/delete/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/publicexclusion/<path:object_id>/delete/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/assets/publicreport/<path:object_id>/delete/": (rule(others=ADMIN_LOGIN, admin=403), {}),
    "admin/*": (STAFF, {}),
}


@dataclass(frozen=True)
class Pattern:
    route: str  # the concatenated pattern strings, as in the table
    url_name: str


def all_patterns(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from all_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield Pattern(prefix + str(entry.pattern), namespace + (entry.name or ""))


def expectation(route: str) -> tuple[dict[str, int | str], dict[str, str]] | None:
    if route in ACCESS:
        return ACCESS[route]
    for key, value in ACCESS.items():
        if any(c in key for c in "*?[") and "(?P" not in key and fnmatch.fnmatchcase(route, key):
            return value
    return None


def fill(route: str, values: dict[str, str]) -> str:
    """A concrete URL for a pattern: path converters and regex groups replaced, regex anchors removed."""
    url = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: values[m.group(1)], route)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], url)
    url = url.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    return "/" + url


class WalkCase(TestCase):
    """Users of every role and one object of each kind the URL patterns take (agency A's)."""

    @classmethod
    def setUpTestData(cls):
        load_reference()
        agency_a = Agency.objects.get(code="1.01.01")
        agency_b = Agency.objects.get(code="1.02.01")
        cls.users = {
            "officer_a": make_user("officer_a", permissions.OFFICER, agency_a),
            "officer_b": make_user("officer_b", permissions.OFFICER, agency_b),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "admin": make_user("admin", permissions.ADMIN),
        }
        admin = cls.users["admin"]
        admin.is_staff = admin.is_superuser = True
        admin.save()
        Token.objects.create(user=admin)
        cls.asset = make_asset(agency=agency_a, geom=square(116.83, -1.25), nama_barang="Tanah A")
        cls.removed = make_asset(agency=agency_a, geom=None, nama_barang="Tanah A dihapus")
        services.asset_remove(asset=cls.removed, user=None, sk_nomor="SK-1", tanggal=dt.date(2024, 1, 2))
        cls.certificate = services.certificate_create(asset=cls.asset, user=None)
        from assets.evidence import services as evidence
        from assets.evidence.models import DocumentType, StoragePlace
        from tests.evidence.files import pdf_bytes

        cls.issued = services.certificate_create(asset=cls.asset, user=None)
        cls.issued.jenis_hak, cls.issued.nomor, cls.issued.tanggal = "HP", "00042", dt.date(2020, 1, 2)
        cls.issued.stage = "SERTIFIKAT_TERBIT"
        services.certificate_save(certificate=cls.issued, user=None)
        fields = evidence.DocumentFields(doc_type=DocumentType.SURAT_UKUR)
        cls.document = evidence.document_add(asset=cls.asset, user=None, name="su.pdf", data=pdf_bytes(), fields=fields)
        place = StoragePlace.objects.create(code="BR-01", name="Brankas", kind=StoragePlace.Kind.BRANKAS)
        cls.custody = evidence.custody_store(certificate=cls.issued, place=place, user=None, date=dt.date(2024, 1, 2))
        cls.job = ImportJob(user=cls.users["officer_a"], original_name="a.geojson")
        cls.job.file.save("a.geojson", ContentFile(b'{"type": "FeatureCollection", "features": []}'), save=True)
        from assets.ledger.models import AgencyTransfer, ReconciliationItem, ReconciliationRun
        from assets.models import Signatory

        Signatory.objects.create(role=Signatory.Role.KEPALA_BPKAD, name="Kepala BPKAD")  # the admin's object pages
        from assets.ledger.models import OfficerSubUnit, SubUnit

        sub_unit = SubUnit.objects.create(agency=agency_b, code="UPT1", name="UPT 1")
        OfficerSubUnit.objects.create(user=make_user("upt_officer", permissions.OFFICER, agency_b), sub_unit=sub_unit)

        cls.ledger_run = ReconciliationRun.objects.create(source_name="kib.csv")
        cls.ledger_line = ReconciliationItem.objects.create(
            run=cls.ledger_run, asset=cls.asset, category="only_sipanah"
        )
        cls.ledger_transfer = AgencyTransfer.objects.create(asset=cls.asset, from_agency=agency_a, to_agency=agency_b,
                                                     reason="Mutasi")  # fmt: skip
        from assets.encumbrance import services as encumbrance

        cls.case = encumbrance.case_open(user=None, assets=[cls.asset], kind="OKUPASI", title="Okupasi")
        cls.utilisation = encumbrance.utilisation_create(
            user=None, asset=cls.asset, form="SEWA", partner_name="CV A", agreement_number="1", purpose="Kios",
            agreement_date=dt.date(2024, 1, 2), start_date=dt.date(2024, 1, 2), end_date=dt.date(2026, 1, 1),
        )  # fmt: skip
        cls.payment = encumbrance.payment_add(
            utilisation=cls.utilisation, user=None, due_date=dt.date(2024, 2, 1), amount_due=1000
        )
        cls.saved_mapping = AgencyMapping.objects.create(agency=agency_a, mapping={"fields": {"nama_barang": "NM"}})
        # A campaign over agency A with officer_a's team and one result: objects for the field URLs.
        from assets.field.models import Assignment, Campaign, FieldResult, Found, Team

        cls.campaign = Campaign.objects.create(
            name="Inventarisasi A", agency=agency_a, starts_on=dt.date(2026, 1, 5), ends_on=dt.date(2026, 12, 31)
        )
        cls.team = Team.objects.create(campaign=cls.campaign, name="Tim 1")
        cls.team.members.add(cls.users["officer_a"])
        assignment = Assignment.objects.create(campaign=cls.campaign, team=cls.team, asset=cls.asset)
        cls.field_result = FieldResult.objects.create(
            client_id="6f1c7d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f", assignment=assignment,
            submitted_by=cls.users["officer_a"], found=Found.FOUND, base_version=cls.asset.version,
        )  # fmt: skip
        # The publication policy and what the public sent: objects for their admin pages and URLs.
        from assets.public.lookup import answer, point_question
        from assets.public.models import PublicationPolicy, PublicExclusion, PublicReport

        PublicationPolicy.objects.create(pk=1)
        PublicExclusion.objects.create(asset=cls.removed, reason="uji")
        cls.lookup = answer(point_question("116.83", "-1.25"))
        from assets.transfer.models import PrintJob

        # a printed output asked for by the auditor: theirs and BPKAD's to open
        cls.print_job = PrintJob.objects.create(kind="audit-report", user=cls.users["auditor"], status="done", pages=41)
        cls.print_job.file.save("audit.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
        cls.report = PublicReport.objects.create(
            kind="okupasi", location="SRID=4326;POINT(116.83 -1.25)", description="x", contact_name="Warga"
        )
        # A successful and then a failed sign-in (a success clears the failures): objects for django-axes' admin.
        client = Client()
        client.post("/accounts/login/", {"username": "planner", "password": "pw-planner"})
        client.post("/accounts/login/", {"username": "stranger", "password": "wrong"})  # no one the walk signs in

    @classmethod
    def setUpClass(cls):
        # The import's file and the worker heartbeat go to a throw-away MEDIA_ROOT.
        temp_media_root(cls.addClassCleanup)
        super().setUpClass()

    def setUp(self):
        # The walk fills the process-wide cache (OGC extents, tiles) from this test's objects: leave none behind.
        cache.clear()
        self.addCleanup(cache.clear)

    def values(self, params: dict[str, str], route: str) -> dict[str, str]:
        from django.contrib.contenttypes.models import ContentType

        from assets.audit import findings

        objects = {
            "asset": str(self.asset.pk),
            "removed": str(self.removed.pk),
            "certificate": str(self.certificate.pk),
            "job": str(self.job.pk),
            "saved_mapping": str(self.saved_mapping.agency_id),
            "document": str(self.document.pk),
            "issued": str(self.issued.pk),
            "custody": str(self.custody.pk),
            "run": str(self.ledger_run.pk),
            "line": str(self.ledger_line.pk),
            "transfer": str(self.ledger_transfer.pk),
            "case": str(self.case.pk),
            "utilisation": str(self.utilisation.pk),
            "payment": str(self.payment.pk),
            "finding": next(iter(findings.FINDINGS)),
            "asset_type": str(ContentType.objects.get_for_model(self.asset).pk),
            "lookup": self.lookup.code,
            "report": str(self.report.pk),
            "report_token": self.report.token,
            "print_job": str(self.print_job.pk),
            "campaign": str(self.campaign.pk),
            "team": str(self.team.pk),
            "field_result": str(self.field_result.pk),
            "field_result_uuid": str(self.field_result.client_id),
        }
        values = {name: objects.get(value, value) for name, value in params.items()}
        # Admin object pages: the first object of the model named in the path.
        match = re.match(r"admin/(\w+)/(\w+)/", route)
        if match and "<path:object_id>" in route and "object_id" not in values:
            model = apps.get_model(match[1], match[2])
            values["object_id"] = str(model.objects.order_by("pk").first().pk)
        if "<id>" in route:
            values["id"] = str(self.users["officer_a"].pk)
        if "(?P<app_label>" in route:
            values["app_label"] = "assets"
        return values

    def outcome(self, response, role: str) -> int | str:
        if response.status_code == 302:
            location = response["Location"]
            if location.startswith("/accounts/login/"):
                return LOGIN
            if location.startswith("/admin/login/"):
                # For anonymous users either login page is the same refusal (the admin site's own views are
                # exempt from LoginRequiredMiddleware and use theirs); for a signed-in user it means "not staff".
                return LOGIN if role == "anonymous" else ADMIN_LOGIN
        return response.status_code


# /healthz answers 200 while the worker is alive: the walk checks access, not health, so the beat written at its
# start must not go stale while it walks (a minute at most by default; a loaded machine walks longer).
@override_settings(SIPANAH_WORKER_STALE_SECONDS=24 * 3600)
class AccessWalkTests(WalkCase):
    def test_every_url_pattern_is_classified_and_each_role_gets_the_expected_outcome(self):
        health.worker_beat()
        patterns = list(all_patterns())
        unclassified = [p.route for p in patterns if expectation(p.route) is None]
        self.assertEqual(unclassified, [], "URL patterns missing from ACCESS: decide who may open them")
        mismatches = []
        for role in ROLES:
            self.client.logout()
            if role != "anonymous":
                self.client.force_login(self.users[role])
            for pattern in patterns:
                expected, params = expectation(pattern.route)  # type: ignore[misc]
                url = fill(pattern.route, self.values(params, pattern.route))
                got = self.outcome(self.client.get(url), role)
                if got != expected[role]:
                    mismatches.append(f"{role:10} GET {url:45} expected {expected[role]!s:12} got {got}")
        self.assertEqual(mismatches, [], "\n" + "\n".join(mismatches))

    def test_the_table_has_no_rows_for_patterns_that_no_longer_exist(self):
        routes = [p.route for p in all_patterns()]
        stale = [key for key in ACCESS if not any(r == key or fnmatch.fnmatchcase(r, key) for r in routes)]
        self.assertEqual(stale, [])

    def test_an_api_token_reaches_the_api_and_a_wrong_one_does_not(self):
        token = Token.objects.get(user=self.users["admin"])
        ok = self.client.get("/api/v1/assets/", HTTP_AUTHORIZATION=f"Token {token.key}")
        self.assertEqual(ok.status_code, 200)
        bad = self.client.get("/api/v1/assets/", HTTP_AUTHORIZATION="Token " + "0" * 40)
        self.assertEqual(bad.status_code, 401)


# Hardening finding 3: no response echoes a parameter's markup. Every page is asked with markup in each parameter
# any view reads; an HTML answer must carry it escaped (a template), other answers are JSON or plain text.
MARKUP = "<meta http-equiv=refresh content='0;url=http://127.0.0.1:8299/x'><script>alert(1)</script>"
PARAMS = (
    "as_of", "format", "srid", "status", "tahap", "q", "agency", "kecamatan", "kelurahan", "jenis_hak", "plotting",
    "tahun_min", "luas_max", "removed", "page", "page_size", "bbox", "intersects", "point", "distance", "corridor",
    "buffer", "area", "datetime", "f", "limit", "offset", "days", "tol_pct", "tol_m2", "kib_tol_m2", "min_overlap",
    "kind", "from", "to", "asset", "user", "basemap", "next",
)  # fmt: skip


class ReflectedMarkupTests(WalkCase):
    # Printed outputs are laid out as PDF (WeasyPrint) for requests whose parameters were accepted: a PDF is no
    # page a browser runs, and laying them out was half of this walk's time (the 40 requests of /audit/report.pdf
    # and of an asset's card took 18 s each). Their error pages are HTML and are checked as every other page.
    @mock.patch("weasyprint.HTML.write_pdf", return_value=b"%PDF-1.7 not laid out in this walk")
    def test_no_response_echoes_markup_from_a_parameter(self, _write_pdf):
        health.worker_beat()
        self.client.force_login(self.users["admin"])
        echoed = []
        for pattern in all_patterns():
            if pattern.route.startswith("admin/") or pattern.route in ("accounts/logout/", "i18n/setlang/"):
                continue
            expected, params = expectation(pattern.route)  # type: ignore[misc]
            url = fill(pattern.route, self.values(params, pattern.route))
            for query in [{name: MARKUP} for name in PARAMS] + [dict.fromkeys(PARAMS, MARKUP)]:
                response = self.client.get(url, query)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                html = response.get("Content-Type", "").startswith("text/html")
                if html and MARKUP.encode() in body:
                    echoed.append(f"GET {url}?{'&'.join(query)} ({response.status_code})")
        self.assertEqual(echoed, [], "\n" + "\n".join(echoed))
