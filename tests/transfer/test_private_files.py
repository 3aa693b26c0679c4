"""Uploaded files: kept under MEDIA_ROOT with no URL of their own, handed out only by a view that checks who asks.

The original file of an import goes to its uploader, BPKAD, auditors and admins; other roles get 403, anonymous
visitors the login page. Django streams it, or (SIPANAH_X_ACCEL_REDIRECT=1, behind nginx) answers with an
X-Accel-Redirect to nginx's internal location. A file name pointing out of MEDIA_ROOT is never served.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote

from django.core.files.base import ContentFile
from django.test import TestCase, override_settings
from django.urls import reverse

from assets.models import Agency, ImportJob
from assets.register import permissions
from tests.factories import make_user, temp_media_root

CONTENT = b'{"type": "FeatureCollection", "features": []}\n'
NAME = "Bidang Tanah Klandasan 2024 (revisi).geojson"  # spaces and brackets: kept in the download's name


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])  # eight users: fast hashing
class ImportFileTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        agency_a = Agency.objects.create(code="1.01.01", name="Dinas A")
        agency_b = Agency.objects.create(code="1.02.01", name="Dinas B")
        cls.users = {
            "officer_a": make_user("officer_a", permissions.OFFICER, agency_a),
            "officer_a2": make_user("officer_a2", permissions.OFFICER, agency_a),  # same agency, not the uploader
            "officer_b": make_user("officer_b", permissions.OFFICER, agency_b),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "admin": make_user("admin", permissions.ADMIN),
            "no_role": make_user("no_role", None),
        }

    def setUp(self):
        self.media = temp_media_root(self.addCleanup)
        self.job = ImportJob(user=self.users["officer_a"], original_name=NAME)
        self.job.file.save("unggahan é.geojson", ContentFile(CONTENT), save=True)  # stored as unggahan_é.geojson
        self.url = reverse("import-file", args=[self.job.pk])

    def get(self, role: str | None, url: str | None = None):
        self.client.logout()
        if role:
            self.client.force_login(self.users[role])
        return self.client.get(url or self.url)

    def test_the_uploader_bpkad_auditor_and_admin_download_the_original(self):
        for role in ("officer_a", "bpkad", "auditor", "admin"):
            with self.subTest(role=role):
                response = self.get(role)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(b"".join(response.streaming_content), CONTENT)
                self.assertEqual(
                    response["Content-Disposition"],
                    'attachment; filename="Bidang Tanah Klandasan 2024 (revisi).geojson"',
                )
                self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                self.assertEqual(response["Cache-Control"], "private, no-store")
                self.assertNotIn("X-Accel-Redirect", response)

    def test_other_roles_are_refused_and_anonymous_visitors_sent_to_login(self):
        for role in ("officer_a2", "officer_b", "planner", "no_role"):
            with self.subTest(role=role):
                response = self.get(role)
                self.assertEqual(response.status_code, 403)
                self.assertNotIn(CONTENT, response.content)
        response = self.get(None)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("login")), response["Location"])
        self.assertEqual(self.get("admin", reverse("import-file", args=[self.job.pk + 1000])).status_code, 404)

    def test_an_uploader_who_lost_every_role_is_refused(self):
        uploader = self.users["officer_a"]
        uploader.groups.clear()
        self.assertEqual(self.get("officer_a").status_code, 403)

    @override_settings(SIPANAH_X_ACCEL_REDIRECT=True)
    def test_behind_nginx_the_answer_is_an_x_accel_redirect_to_the_internal_location(self):
        response = self.get("auditor")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"")  # nginx sends the body
        target = response["X-Accel-Redirect"]
        self.assertTrue(target.startswith("/_protected/media/imports/"), target)
        self.assertTrue(target.isascii() and " " not in target, target)
        # The header is the file's path under MEDIA_ROOT, percent-encoded; it names exactly the stored file.
        self.assertEqual(self.media / unquote(target.removeprefix("/_protected/media/")), Path(self.job.file.path))
        self.assertEqual(response["Content-Disposition"], f'attachment; filename="{NAME}"')
        self.assertEqual(response["Content-Type"], "application/geo+json")
        self.assertEqual(response["Cache-Control"], "private, no-store")
        # The permission check comes first: no redirect header for a refused user.
        refused = self.get("planner")
        self.assertEqual(refused.status_code, 403)
        self.assertNotIn("X-Accel-Redirect", refused)

    def test_a_stored_name_leading_out_of_media_root_is_not_served(self):
        secret = self.media.parent / f"{self.media.name}-outside.txt"
        secret.write_bytes(b"not an upload")
        self.addCleanup(secret.unlink)
        for name in ("../" + secret.name, str(secret), "imports/../../" + secret.name):
            with self.subTest(name=name):
                ImportJob.objects.filter(pk=self.job.pk).update(file=name)
                for accel in (False, True):
                    with override_settings(SIPANAH_X_ACCEL_REDIRECT=accel):
                        response = self.get("admin")
                    self.assertEqual(response.status_code, 404)
                    self.assertNotIn("X-Accel-Redirect", response)
                    self.assertNotIn(b"not an upload", response.content)

    def test_a_symlink_out_of_media_root_is_not_followed(self):
        outside = tempfile.NamedTemporaryFile(delete=False)  # noqa: SIM115 - removed by the cleanup
        outside.write(b"outside secret")
        outside.close()
        self.addCleanup(os.unlink, outside.name)
        link = Path(self.job.file.path).with_name("link.geojson")
        link.symlink_to(outside.name)
        ImportJob.objects.filter(pk=self.job.pk).update(file=str(link.relative_to(self.media)))
        response = self.get("admin")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(b"outside secret", response.content)

    def test_a_missing_file_is_404_not_an_error(self):
        Path(self.job.file.path).unlink()
        self.assertEqual(self.get("bpkad").status_code, 404)

    def test_the_import_page_links_the_download_for_the_uploader(self):
        self.client.force_login(self.users["officer_a"])
        page = self.client.get(reverse("import-detail", args=[self.job.pk]))
        self.assertContains(page, f'href="{self.url}"')
