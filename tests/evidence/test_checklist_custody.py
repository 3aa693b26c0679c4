"""The document checklist (seeded by the migration, BPKAD's in the admin), the ninth finding "documents incomplete"
and the tenth "original certificate not in custody / overdue", each with planted and clean cases; the custody log
(append-only), overdue loans on BPKAD's home page, and the printable custody receipt."""

from __future__ import annotations

import datetime as dt
import io

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from assets.audit import findings
from assets.evidence import selectors, services
from assets.evidence.models import CustodyEvent, DocumentRequirement, DocumentType, StoragePlace
from assets.models import Agency, AsalUsul, JenisHak, Stage
from assets.register import history, permissions
from assets.register import services as register_services
from tests.evidence import files
from tests.factories import load_reference, make_asset, make_user, square, temp_media_root

TODAY = timezone.localdate()


def issue(asset, nomor="00042"):
    certificate = register_services.certificate_create(asset=asset, user=None)
    certificate.jenis_hak, certificate.nomor, certificate.tanggal = JenisHak.HP, nomor, dt.date(2020, 1, 2)
    certificate.stage = Stage.SERTIFIKAT_TERBIT
    register_services.certificate_save(certificate=certificate, user=None)
    return certificate


def add(asset, doc_type, data=None):
    return services.document_add(
        asset=asset,
        user=None,
        name="scan.pdf",
        data=data or files.pdf_bytes(),
        fields=services.DocumentFields(doc_type=doc_type),
    )


def rows(slug):
    return findings.run_finding(slug, history.snapshot())


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class ChecklistTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")

    def setUp(self):
        temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages in English, as the assertions

    def test_the_migration_seeds_a_checklist_by_origin_and_stage(self):
        reqs = selectors.active_requirements()
        self.assertGreaterEqual(len(reqs), 8)
        self.assertEqual(
            selectors.required_types(AsalUsul.HIBAH, Stage.BELUM, reqs),
            [DocumentType.BAST, DocumentType.SK_PENETAPAN_STATUS, DocumentType.SK_HIBAH, DocumentType.FOTO_LAPANGAN],
        )
        issued = selectors.required_types(AsalUsul.PEMBELIAN, Stage.SERTIFIKAT_TERBIT, reqs)
        for doc_type in (
            DocumentType.SERTIFIKAT,
            DocumentType.SURAT_UKUR,
            DocumentType.PETA_BIDANG,
            DocumentType.AKTA_PEMBELIAN,
        ):
            self.assertIn(doc_type, issued)
        self.assertNotIn(DocumentType.SERTIFIKAT, selectors.required_types(AsalUsul.PEMBELIAN, Stage.PENGUKURAN, reqs))

    def test_documents_incomplete_planted_and_clean_and_bpkad_changes_the_checklist(self):
        DocumentRequirement.objects.all().delete()
        DocumentRequirement.objects.create(asal_usul=AsalUsul.HIBAH, doc_type=DocumentType.BAST)
        DocumentRequirement.objects.create(doc_type=DocumentType.FOTO_LAPANGAN)
        complete = make_asset(agency=self.agency, asal_usul=AsalUsul.HIBAH, nama_barang="Lengkap")
        add(complete, DocumentType.BAST)
        add(complete, DocumentType.FOTO_LAPANGAN, files.photo_bytes())
        missing = make_asset(agency=self.agency, asal_usul=AsalUsul.HIBAH, nama_barang="Kurang BAST")
        add(missing, DocumentType.FOTO_LAPANGAN, files.photo_bytes())
        withdrawn = make_asset(agency=self.agency, asal_usul=AsalUsul.PEMBELIAN, nama_barang="Foto ditarik")
        photo = add(withdrawn, DocumentType.FOTO_LAPANGAN, files.photo_bytes())
        services.document_withdraw(document=photo, user=None, reason="foto kabur")
        found = {r.asset.nama_barang: r for r in rows("documents")}
        self.assertEqual(set(found), {"Kurang BAST", "Foto ditarik"})
        self.assertEqual(found["Kurang BAST"].values["missing"], str(DocumentType.BAST.label))
        self.assertEqual(found["Kurang BAST"].values["present"], "1/2")
        self.assertEqual(found["Foto ditarik"].values["origin"], str(AsalUsul.PEMBELIAN.label))
        # As of yesterday nothing had been uploaded: every asset misses its documents.
        yesterday = TODAY - dt.timedelta(days=1)
        as_of = findings.run_finding("documents", history.snapshot(), as_of=yesterday)
        self.assertEqual(len(as_of), 3)  # by the end of yesterday no document had been uploaded
        # BPKAD turns the photo requirement off: only the BAST is missing.
        DocumentRequirement.objects.filter(doc_type=DocumentType.FOTO_LAPANGAN).update(active=False)
        self.assertEqual({r.asset.nama_barang for r in rows("documents")}, {"Kurang BAST"})
        # The asset page shows present and missing.
        user = make_user("bpkad", permissions.BPKAD)
        self.client.force_login(user)
        page = self.client.get(reverse("asset-detail", args=[missing.pk]))
        self.assertContains(page, 'checklist__item--missing" data-doc-type="BAST"')
        page = self.client.get(reverse("asset-detail", args=[complete.pk]))
        self.assertContains(page, 'checklist__item--present" data-doc-type="BAST"')

    def test_the_findings_page_exports_and_pdf_carry_the_two_new_findings(self):
        make_asset(agency=self.agency, geom=square(116.83, -1.25), asal_usul=AsalUsul.HIBAH, nama_barang="Hibah")
        issue(make_asset(agency=self.agency, geom=square(116.84, -1.25), nama_barang="Bersertifikat"))
        self.client.force_login(make_user("auditor", permissions.AUDITOR))
        index = self.client.get(reverse("audit-findings"))
        self.assertContains(index, 'data-finding="documents"')
        self.assertContains(index, 'data-finding="custody"')
        detail = self.client.get(reverse("audit-finding", args=["documents"]))
        self.assertContains(detail, "By agency and kecamatan")
        self.assertContains(detail, "Hibah")
        csv = self.client.get(reverse("audit-finding", args=["custody"]), {"format": "csv"})
        text = b"".join(csv.streaming_content).decode()
        self.assertIn("Bersertifikat", text)
        self.assertIn("not in custody", text)
        xlsx = self.client.get(reverse("audit-finding", args=["documents"]), {"format": "xlsx"})
        self.assertEqual(xlsx.status_code, 200)
        from pypdf import PdfReader

        pdf = self.client.get(reverse("audit-report-pdf"))
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        self.assertIn("Documents incomplete", text)
        self.assertIn("Original certificate not in custody or overdue", text)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class CustodyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        load_reference()
        cls.agency = Agency.objects.get(code="1.01.01")
        cls.bpkad = make_user("bpkad", permissions.BPKAD)
        cls.officer = make_user("officer_a", permissions.OFFICER, cls.agency)
        cls.safe = StoragePlace.objects.create(code="BR-01", name="Brankas BPKAD lt. 2", kind=StoragePlace.Kind.BRANKAS)
        cls.box = StoragePlace.objects.create(code="FB-07", name="Filing box 7", kind=StoragePlace.Kind.FILING_BOX)

    def setUp(self):
        temp_media_root(self.addCleanup)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # pages in English, as the assertions
        self.asset = make_asset(agency=self.agency, nama_barang="Tanah Kantor")
        self.certificate = issue(self.asset)

    def test_not_in_custody_stored_lent_overdue_returned(self):
        self.assertEqual([r.values["custody"] for r in rows("custody")], ["not in custody"])
        services.custody_store(certificate=self.certificate, place=self.safe, user=self.bpkad, date=TODAY)
        self.assertEqual(rows("custody"), [])  # clean
        loan = services.custody_lend(
            certificate=self.certificate,
            user=self.bpkad,
            borrower="Bagian Hukum",
            purpose="sidang PN",
            date=TODAY - dt.timedelta(days=30),
            due_date=TODAY - dt.timedelta(days=3),
        )
        found = rows("custody")
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0].values["days"], 3)
        self.assertIn("Bagian Hukum", found[0].values["custody"])
        # BPKAD's home page lists it; an officer's does not show the panel.
        self.client.force_login(self.bpkad)
        home = self.client.get(reverse("home"))
        self.assertContains(home, "Original certificates overdue")
        self.assertContains(home, "Bagian Hukum")
        self.client.force_login(self.officer)
        self.assertNotContains(self.client.get(reverse("home")), "Original certificates overdue")
        # Returned into another place: a new line pointing at the loan; the loan line is unchanged.
        with self.assertRaisesMessage(ValidationError, "out on loan"):
            services.custody_store(certificate=self.certificate, place=self.box, user=self.bpkad, date=TODAY)
        back = services.custody_return(loan=loan, user=self.bpkad, date=TODAY, place=self.box)
        self.assertEqual(rows("custody"), [])
        self.assertEqual(list(CustodyEvent.objects.values_list("kind", flat=True)), ["STORED", "LENT", "RETURNED"])
        self.assertEqual(back.loan, loan)
        self.assertEqual(services.custody_state(self.certificate).place, self.box)
        with self.assertRaisesMessage(ValidationError, "already returned"):
            services.custody_return(loan=loan, user=self.bpkad, date=TODAY)
        self.assertEqual(len(selectors.open_loans()), 0)

    def test_refusals_name_the_reason(self):
        with self.assertRaisesMessage(ValidationError, "not in a storage place"):
            services.custody_lend(certificate=self.certificate, user=None, borrower="X", purpose="Y", date=TODAY)
        services.custody_store(certificate=self.certificate, place=self.safe, user=None, date=TODAY)
        with self.assertRaises(ValidationError) as caught:
            services.custody_lend(certificate=self.certificate, user=None, borrower=" ", purpose="", date=TODAY)
        self.assertEqual(set(caught.exception.message_dict), {"borrower", "purpose"})
        pending = register_services.certificate_create(asset=self.asset, user=None)
        with self.assertRaisesMessage(ValidationError, "Only an issued certificate"):
            services.custody_store(certificate=pending, place=self.safe, user=None, date=TODAY)

    def test_the_custody_page_is_bpkad_s_to_change_and_the_receipt_is_a_pdf(self):
        url = reverse("certificate-custody", args=[self.certificate.pk])
        self.client.force_login(self.officer)
        self.assertContains(self.client.get(url), "not in custody")
        self.assertEqual(
            self.client.post(
                url, {"action": "store", "store-place": self.safe.pk, "store-date": TODAY.isoformat()}
            ).status_code,
            403,
        )
        self.client.force_login(self.bpkad)
        response = self.client.post(url, {"action": "store", "store-place": self.safe.pk, "store-date": TODAY})
        self.assertRedirects(response, url, fetch_redirect_response=False)
        response = self.client.post(
            url, {"action": "lend", "lend-borrower": "Inspektorat", "lend-purpose": "audit", "lend-date": TODAY}
        )
        self.assertRedirects(response, url, fetch_redirect_response=False)
        loan = CustodyEvent.objects.get(kind="LENT")
        self.assertEqual(loan.due_date, TODAY + dt.timedelta(days=14))  # settings' default loan period
        receipt = self.client.get(reverse("custody-receipt", args=[loan.pk]))
        self.assertEqual(receipt["Content-Type"], "application/pdf")
        from pypdf import PdfReader

        text = PdfReader(io.BytesIO(receipt.content)).pages[0].extract_text()
        self.assertIn("Inspektorat", text)
        self.assertIn("00042", text)
        self.client.force_login(make_user("planner", permissions.PLANNER))
        self.assertEqual(self.client.get(reverse("custody-receipt", args=[loan.pk])).status_code, 403)

    def test_past_the_in_list_limit_the_findings_read_everything_and_filter_alike(self):
        """Above selectors.IN_LIST_MAX ids (SQLite takes 32,766 parameters) the reads go without an IN list."""
        from unittest import mock

        other = make_asset(agency=self.agency, nama_barang="Lain")
        issue(other, nomor="00077")
        services.custody_store(certificate=self.certificate, place=self.safe, user=None, date=TODAY)
        add(self.asset, DocumentType.FOTO_LAPANGAN, files.photo_bytes())
        states = [s for s in history.snapshot() if s.id == other.id]  # a selection without self.asset
        small = {slug: findings.run_finding(slug, states) for slug in ("documents", "custody")}
        with mock.patch("assets.evidence.selectors.IN_LIST_MAX", 0):
            large = {slug: findings.run_finding(slug, states) for slug in ("documents", "custody")}
        for slug in small:
            self.assertEqual(
                [(r.asset.id, r.values) for r in small[slug]], [(r.asset.id, r.values) for r in large[slug]]
            )
        self.assertEqual([r.asset.id for r in small["custody"]], [other.id])
        self.assertEqual(len(small["documents"]), 1)
