"""Documents on an asset: several files at once, each checked from its bytes (hostile files refused with a message
naming the file and the reason, nothing written), thumbnails, EXIF GPS of photos with the far-from-parcel flag,
withdrawal (never deletion) in the asset's timeline and the activity log, and who may download what."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse

from assets.audit import activity
from assets.evidence import checks, services
from assets.evidence.models import Document, DocumentType
from assets.models import Agency
from assets.register import permissions
from tests.evidence import files
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root

LON, LAT = 116.83, -1.25


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class DocumentCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency_a = Agency.objects.get(code="1.01.01")
        cls.agency_b = Agency.objects.get(code="1.02.01")
        cls.users = {
            "officer_a": make_user("officer_a", permissions.OFFICER, cls.agency_a),
            "officer_b": make_user("officer_b", permissions.OFFICER, cls.agency_b),
            "bpkad": make_user("bpkad", permissions.BPKAD),
            "auditor": make_user("auditor", permissions.AUDITOR),
            "planner": make_user("planner", permissions.PLANNER),
            "admin": make_user("admin", permissions.ADMIN),
        }
        cls.asset = make_asset(agency=cls.agency_a, geom=square(LON, LAT), nama_barang="Tanah SD 1")

    def setUp(self):
        self.media = temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages in English, as the assertions

    def post(self, role: str, *uploads, json: bool = True, **fields):
        self.client.force_login(self.users[role])
        data = {"doc_type": DocumentType.FOTO_LAPANGAN, "files": list(uploads), **fields}
        headers = {"Accept": "application/json"} if json else {}
        return self.client.post(reverse("document-upload", args=[self.asset.pk]), data, headers=headers)

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.media.rglob("*") if p.is_file())


class UploadTests(DocumentCase):
    def test_several_files_at_once_each_kept_with_checksum_type_from_bytes_and_thumbnail(self):
        pdf, photo, png, tiff = (
            files.pdf_bytes(),
            files.photo_bytes(LON, LAT, 90),
            files.png_bytes(),
            files.tiff_bytes(),
        )
        response = self.post(
            "officer_a",
            upload("surat ukur.pdf", pdf),
            upload("IMG_0001.jpg", photo),
            upload("peta.png", png),
            upload("scan.tif", tiff),
            doc_type=DocumentType.SURAT_UKUR,
            number="SU-12/2020",
            issuer="Kantor Pertanahan Kota Balikpapan",
        )
        self.assertEqual(response.status_code, 200, response.content)
        results = response.json()["results"]
        self.assertEqual([r["ok"] for r in results], [True] * 4, results)
        docs = {d.original_name: d for d in Document.objects.filter(asset=self.asset)}
        self.assertEqual(
            {n: d.content_type for n, d in docs.items()},
            {
                "surat ukur.pdf": "application/pdf",
                "IMG_0001.jpg": "image/jpeg",
                "peta.png": "image/png",
                "scan.tif": "image/tiff",
            },
        )
        for name, data in (("surat ukur.pdf", pdf), ("IMG_0001.jpg", photo), ("peta.png", png), ("scan.tif", tiff)):
            doc = docs[name]
            self.assertEqual(doc.sha256, hashlib.sha256(data).hexdigest())
            self.assertEqual(doc.size, len(data))
            self.assertEqual(Path(doc.file.path).read_bytes(), data)
            self.assertTrue(Path(doc.file.path).is_relative_to(self.media))
            self.assertNotIn(name.split(".")[0], doc.file.name)  # stored under a generated name
            self.assertTrue(doc.thumbnail, name)  # PDF (pdftoppm) and images (Pillow) alike
            self.assertEqual(Path(doc.thumbnail.path).read_bytes()[:3], b"\xff\xd8\xff")
            self.assertEqual(doc.number, "SU-12/2020")
            self.assertEqual(doc.uploaded_by, self.users["officer_a"])

    def test_hostile_uploads_are_refused_each_with_its_reason_and_nothing_is_written(self):
        cases = {
            "install.pdf": (files.SCRIPT_AS_PDF, "is not a PDF, JPEG, PNG or TIFF"),
            "page.pdf": (files.HTML_AS_PDF, "is not a PDF, JPEG, PNG or TIFF"),
            "bomb.png": (files.bomb_png(), "decompression bomb"),
            "script.pdf": (files.pdf_with_javascript(), "contains JavaScript"),
            "escaped.pdf": (files.pdf_with_javascript(hidden=True), "contains JavaScript"),
            "objstm.pdf": (files.pdf_with_compressed_javascript(), "contains JavaScript"),
            "empty.jpg": (b"", "empty (0 bytes)"),
            "cut.jpg": (files.photo_bytes()[:400], "damaged or incomplete"),
        }
        response = self.post("officer_a", *(upload(n, d) for n, (d, _m) in cases.items()))
        self.assertEqual(response.status_code, 400)
        results = {r["name"]: r for r in response.json()["results"]}
        for name, (_data, message) in cases.items():
            with self.subTest(name=name):
                self.assertFalse(results[name]["ok"])
                self.assertIn(name, results[name]["error"])
                self.assertIn(message, results[name]["error"])
        self.assertEqual(Document.objects.count(), 0)
        self.assertEqual(self.stored_files(), [])

    def test_a_good_file_is_kept_beside_a_refused_one(self):
        response = self.post("officer_a", upload("ok.pdf", files.pdf_bytes()), upload("bad.pdf", files.SCRIPT_AS_PDF))
        self.assertEqual(response.status_code, 200)
        self.assertEqual([r["ok"] for r in response.json()["results"]], [True, False])
        self.assertEqual(list(Document.objects.values_list("original_name", flat=True)), ["ok.pdf"])

    @override_settings(
        SIPANAH_EVIDENCE_LIMITS={"max_file_bytes": 1000, "max_image_pixels": 10**6, "max_files": 5, "loan_days": 14}
    )
    def test_size_and_pixel_limits_come_from_settings(self):
        response = self.post("officer_a", upload("big.pdf", files.pdf_bytes() + b"\0" * 2000))
        self.assertIn("more than the 0.000953674 MB", response.json()["results"][0]["error"])
        with self.assertRaisesMessage(checks.UploadRefused, "more than 1 million pixels"):
            checks._open_image(files.png_bytes((1001, 1000)), "wide.png")

    def test_a_name_with_a_path_is_refused_by_the_service_and_never_used_as_a_path(self):
        fields = services.DocumentFields(doc_type=DocumentType.LAINNYA)
        for name in ("../../etc/passwd.pdf", "..\\evil.pdf", "a/b.pdf"):
            with self.subTest(name=name), self.assertRaisesMessage(checks.UploadRefused, "folder path"):
                services.document_add(asset=self.asset, user=None, name=name, data=files.pdf_bytes(), fields=fields)
        # Through the page Django keeps only the last part of the name; the file goes under a generated name.
        response = self.post("officer_a", upload("../../../outside.pdf", files.pdf_bytes()))
        self.assertTrue(response.json()["results"][0]["ok"])
        doc = Document.objects.get()
        self.assertEqual(doc.original_name, "outside.pdf")
        self.assertTrue(Path(doc.file.path).resolve().is_relative_to(self.media.resolve()))

    def test_a_plain_form_post_comes_back_to_the_asset_page_with_messages(self):
        response = self.post("officer_a", upload("a.pdf", files.pdf_bytes()), upload("b.pdf", b""), json=False)
        self.assertRedirects(
            response, reverse("asset-detail", args=[self.asset.pk]) + "#documents", fetch_redirect_response=False
        )
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(page, "1 file(s) added.")
        self.assertContains(page, "the file is empty (0 bytes)")

    def test_no_file_or_no_type_is_a_clear_400(self):
        self.client.force_login(self.users["officer_a"])
        url = reverse("document-upload", args=[self.asset.pk])
        response = self.client.post(url, {"doc_type": "SERTIFIKAT"}, headers={"Accept": "application/json"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose at least one file.", response.json()["errors"])
        response = self.client.post(
            url,
            {"doc_type": "NOPE", "files": [upload("a.pdf", files.pdf_bytes())]},
            headers={"Accept": "application/json"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Document.objects.count(), 0)

    def test_only_who_may_edit_the_asset_uploads(self):
        for role in ("officer_b", "auditor", "planner"):
            with self.subTest(role=role):
                self.assertEqual(self.post(role, upload("a.pdf", files.pdf_bytes())).status_code, 403)
        self.assertEqual(Document.objects.count(), 0)
        self.assertEqual(self.post("bpkad", upload("a.pdf", files.pdf_bytes())).status_code, 200)


class LinkTests(DocumentCase):
    def test_a_document_of_a_stage_change_names_it_and_one_of_another_asset_is_refused(self):
        from django.utils import timezone

        from assets.register import services as register_services

        certificate = register_services.certificate_create(asset=self.asset, user=None)
        register_services.certificate_change_stage(
            certificate=certificate, user=None, to_stage="PERSIAPAN_BERKAS", tanggal_tahap=timezone.localdate()
        )
        event = certificate.events.order_by("-id").first()
        response = self.post("officer_a", upload("berkas.pdf", files.pdf_bytes()), stage_event=event.pk)
        self.assertTrue(response.json()["results"][0]["ok"])
        doc = Document.objects.get()
        self.assertEqual((doc.stage_event, doc.certificate), (event, certificate))  # the certificate follows
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(page, f"Stage change: {event}")
        other = make_asset(agency=self.agency_a, nama_barang="Lain")
        fields = services.DocumentFields(doc_type=DocumentType.LAINNYA, stage_event=event)
        with self.assertRaisesMessage(Exception, "belongs to another asset"):
            services.document_add(asset=other, user=None, name="x.pdf", data=files.pdf_bytes(), fields=fields)


class PhotoTests(DocumentCase):
    def test_exif_gps_position_direction_and_time_are_read(self):
        position = checks.photo_position(files.photo_bytes(116.8312, -1.2534, 247.5))
        self.assertAlmostEqual(position.lon, 116.8312, places=5)
        self.assertAlmostEqual(position.lat, -1.2534, places=5)  # S is negative
        self.assertEqual(position.direction, 247.5)
        self.assertEqual(position.taken_at.isoformat(), "2024-05-17T09:30:00+08:00")
        self.assertIsNone(checks.photo_position(files.photo_bytes()).lon)  # no GPS: nothing invented
        self.assertIsNone(checks.photo_position(files.pdf_bytes()).lat)

    def test_a_photo_far_from_its_parcel_is_flagged_and_a_near_one_is_not(self):
        self.post(
            "officer_a",
            upload("near.jpg", files.photo_bytes(LON + 0.0002, LAT, 10)),
            upload("far.jpg", files.photo_bytes(LON + 0.01, LAT, 200)),
        )
        near, far = Document.objects.get(original_name="near.jpg"), Document.objects.get(original_name="far.jpg")
        self.assertEqual(near.photo_distance_m, 0.0)  # inside the square (about 110 m a side)
        self.assertGreater(far.photo_distance_m, 1000)  # 0.01° of longitude minus half the square: ~1.05 km
        self.assertLess(far.photo_distance_m, 1100)
        self.assertEqual(far.photo_direction, 200)
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(page, f'data-photo-distance="{far.photo_distance_m}"')
        self.assertContains(page, "badge badge--dispute", count=1)


class WithdrawTests(DocumentCase):
    def test_withdrawn_never_deleted_with_who_when_why_in_the_timeline_and_the_log(self):
        self.post("officer_a", upload("akta.pdf", files.pdf_bytes()), doc_type=DocumentType.AKTA_PEMBELIAN)
        doc = Document.objects.get()
        url = reverse("document-withdraw", args=[doc.pk])
        self.client.force_login(self.users["officer_b"])
        self.assertEqual(self.client.post(url, {"reason": "x"}).status_code, 403)
        self.client.force_login(self.users["officer_a"])
        self.assertEqual(self.client.post(url, {"reason": " "}).status_code, 200)  # the form again, with its error
        self.assertIsNone(Document.objects.get().withdrawn_at)
        self.client.post(url, {"reason": "Salah unggah: akta bidang lain"})
        doc.refresh_from_db()
        self.assertIsNotNone(doc.withdrawn_at)
        self.assertEqual(doc.withdrawn_by, self.users["officer_a"])
        self.assertEqual(doc.withdrawal_reason, "Salah unggah: akta bidang lain")
        self.assertTrue(Path(doc.file.path).is_file())  # the file stays
        log = activity.activity_log(activity.LogFilter(asset_id=self.asset.pk, kind="document"))
        self.assertEqual([a.action for a in log], ["document withdrawn", "document added"])
        self.assertEqual(log[0].note, "Salah unggah: akta bidang lain")
        self.assertEqual(log[1].user, "officer_a")
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertContains(page, "1 withdrawn document")
        self.assertContains(page, "document withdrawn")  # the asset's timeline
        self.assertEqual(self.client.get(reverse("document-file", args=[doc.pk])).status_code, 200)
        with self.assertRaisesMessage(Exception, "already withdrawn"):
            services.document_withdraw(document=doc, user=None, reason="again")


class DownloadPermissionTests(DocumentCase):
    """Every path that hands out a file, for every role; and after a role is taken away."""

    def setUp(self):
        super().setUp()
        self.post("officer_a", upload("foto.jpg", files.photo_bytes(LON, LAT, 45)), upload("su.pdf", files.pdf_bytes()))
        self.photo = Document.objects.get(original_name="foto.jpg")
        self.pdf = Document.objects.get(original_name="su.pdf")
        self.client.logout()

    def paths(self):
        for doc in (self.photo, self.pdf):
            for name in ("document-file", "document-view", "document-thumbnail"):
                yield name, doc, reverse(name, args=[doc.pk])

    def test_agency_bpkad_auditor_admin_read_others_are_refused_anonymous_go_to_login(self):
        for name, doc, url in self.paths():
            for role in ("officer_a", "bpkad", "auditor", "admin"):
                with self.subTest(path=name, doc=doc.original_name, role=role):
                    self.client.force_login(self.users[role])
                    response = self.client.get(url)
                    self.assertEqual(response.status_code, 200)
                    body = b"".join(response.streaming_content)
                    if name != "document-thumbnail":
                        self.assertEqual(body, Path(doc.file.path).read_bytes())
                    self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                    self.assertEqual(response["Cache-Control"], "private, no-store")
            for role in ("officer_b", "planner"):
                with self.subTest(path=name, role=role):
                    self.client.force_login(self.users[role])
                    response = self.client.get(url)
                    self.assertEqual(response.status_code, 403)
                    self.assertNotIn("X-Accel-Redirect", response)
            self.client.logout()
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith(reverse("login")))

    def test_after_the_role_is_removed_the_officer_is_refused(self):
        officer = self.users["officer_a"]
        self.client.force_login(officer)
        self.assertEqual(self.client.get(reverse("document-file", args=[self.pdf.pk])).status_code, 200)
        officer.groups.clear()
        for _name, _doc, url in self.paths():
            self.assertEqual(self.client.get(url).status_code, 403)

    def test_an_officer_moved_to_another_agency_is_refused(self):
        officer = self.users["officer_a"]
        officer.agency = self.agency_b
        officer.save()
        self.client.force_login(officer)
        self.assertEqual(self.client.get(reverse("document-file", args=[self.pdf.pk])).status_code, 403)

    def test_inline_view_and_download_headers(self):
        self.client.force_login(self.users["auditor"])
        download = self.client.get(reverse("document-file", args=[self.pdf.pk]))
        self.assertEqual(download["Content-Disposition"], 'attachment; filename="su.pdf"')
        view = self.client.get(reverse("document-view", args=[self.pdf.pk]))
        self.assertEqual(view["Content-Type"], "application/pdf")  # from the bytes
        self.assertTrue(view["Content-Disposition"].startswith("inline"))
        self.assertEqual(view["X-Frame-Options"], "SAMEORIGIN")  # the asset page's iframe, nobody else's
        self.assertIn("frame-ancestors 'self'", view["Content-Security-Policy"])
        self.assertNotIn("frame-ancestors 'none'", view["Content-Security-Policy"])
        page = self.client.get(reverse("asset-detail", args=[self.asset.pk]))
        self.assertIn("frame-ancestors 'none'", page["Content-Security-Policy"])  # the rest of the site unchanged

    @override_settings(SIPANAH_X_ACCEL_REDIRECT=True)
    def test_behind_nginx_an_x_accel_redirect_to_the_internal_location_after_the_check(self):
        self.client.force_login(self.users["bpkad"])
        response = self.client.get(reverse("document-file", args=[self.pdf.pk]))
        self.assertEqual(response.content, b"")
        target = response["X-Accel-Redirect"]
        self.assertEqual(target, "/_protected/media/" + self.pdf.file.name)
        self.client.force_login(self.users["planner"])
        refused = self.client.get(reverse("document-file", args=[self.pdf.pk]))
        self.assertEqual(refused.status_code, 403)
        self.assertNotIn("X-Accel-Redirect", refused)

    def test_the_asset_page_shows_documents_only_to_those_who_may_read_them(self):
        url = reverse("asset-detail", args=[self.asset.pk])
        self.client.force_login(self.users["auditor"])
        self.assertContains(self.client.get(url), reverse("document-file", args=[self.pdf.pk]))
        self.assertNotContains(self.client.get(url), "data-evidence-upload")  # auditors read, never upload
        self.client.force_login(self.users["planner"])
        page = self.client.get(url)
        self.assertNotContains(page, reverse("document-file", args=[self.pdf.pk]))
        self.assertContains(page, "open to its agency, BPKAD and auditors")
