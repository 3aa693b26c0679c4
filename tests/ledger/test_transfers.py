"""Transfers between agencies: proposal, approval with the SK (its scan through assets.evidence), the agency field
changing only through an approved transfer (services, register form, admin form, importer, reconciliation), the
history and the register as of a date following the effective date, the report."""

from __future__ import annotations

import datetime as dt
import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from assets.evidence import services as evidence
from assets.evidence.models import DocumentType
from assets.ledger import selectors, services, transfers
from assets.ledger.models import AgencyTransfer, Category
from assets.models import LandAsset
from assets.register import services as register
from assets.register.reads import RegisterSelection
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.run import run_import
from tests.factories import make_asset
from tests.ledger.ledger_case import PRINTED, LedgerCase

PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


class TransferCase(LedgerCase):
    def setUp(self):
        super().setUp()
        self.asset = make_asset(self.dinas, nomor_register="0500", tanggal_perolehan=None, tahun_perolehan=2001)

    def sk(self, asset=None):
        fields = evidence.DocumentFields(doc_type=DocumentType.SK_PENETAPAN_STATUS, number="SK-1")
        return evidence.document_add(asset=asset or self.asset, user=self.bpkad, name="sk.pdf", data=PDF, fields=fields)

    def propose(self, user=None):
        return transfers.propose(asset=self.asset, to_agency=self.other, user=user or self.officer, reason="Puskesmas")

    def approve(self, transfer, **changes):
        today = timezone.localdate()
        args = {"sk_nomor": "188.45/123/2026", "sk_tanggal": today, "effective_date": today, "document": self.sk()}
        args.update(changes)
        return transfers.approve(transfer=transfer, user=self.bpkad, **args)


class TransferTests(TransferCase):
    def test_propose_and_approve(self):
        transfer = self.propose()
        self.assertEqual((transfer.from_agency, transfer.status), (self.dinas, AgencyTransfer.Status.PROPOSED))
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.agency, self.dinas)  # nothing changes before approval
        self.approve(transfer)
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.agency, self.other)
        last = self.asset.history.latest("history_id")
        self.assertEqual(last.history_change_reason, f"Transfer SK 188.45/123/2026, effective {timezone.localdate()}")

    def test_who_proposes_and_who_approves(self):
        stranger = type(self.officer).objects.create(username="other-officer", agency=self.other)
        stranger.groups.set(self.officer.groups.all())
        for user in (stranger, self.auditor, self.planner):
            with self.assertRaises(PermissionDenied):
                self.propose(user)
        transfer = self.propose()
        for user in (self.officer, self.auditor):
            with self.assertRaises(PermissionDenied):
                transfers.approve(transfer=transfer, user=user, sk_nomor="x", sk_tanggal=timezone.localdate(),
                                  effective_date=timezone.localdate(), document=self.sk())  # fmt: skip

    def test_approval_needs_the_sk_and_its_scan(self):
        transfer = self.propose()
        with self.assertRaises(ValidationError) as caught:
            transfers.approve(
                transfer=transfer,
                user=self.bpkad,
                sk_nomor=" ",
                sk_tanggal=None,
                effective_date=None,
                document=self.sk(self.equal),
            )  # another asset's document
        self.assertEqual(set(caught.exception.message_dict), {"sk_nomor", "sk_tanggal", "effective_date", "document"})
        with self.assertRaises(ValidationError):
            self.approve(transfer, effective_date=timezone.localdate() + dt.timedelta(days=3))
        self.asset.refresh_from_db()
        self.assertEqual(self.asset.agency, self.dinas)

    def test_reject_and_cancel_keep_the_row(self):
        transfer = self.propose()
        with self.assertRaises(ValidationError):
            transfers.reject(transfer=transfer, user=self.bpkad, note="")
        transfers.reject(transfer=transfer, user=self.bpkad, note="No SK")
        again = self.propose()
        with self.assertRaises(PermissionDenied):
            transfers.cancel(transfer=again, user=self.auditor, note="x")
        transfers.cancel(transfer=again, user=self.officer, note="Mistake")
        self.assertEqual(sorted(AgencyTransfer.objects.values_list("status", flat=True)), ["cancelled", "rejected"])

    def test_effective_date_drives_history_and_as_of(self):
        self.asset.history.update(history_date=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        self.approve(self.propose(), effective_date=dt.date(2024, 6, 1), sk_tanggal=dt.date(2024, 5, 20))
        last = self.asset.history.latest("history_id")
        self.assertEqual(last.history_date.date(), dt.date(2024, 6, 1))

        def agency_on(day):
            states = RegisterSelection.from_params({"as_of": day}).states()
            return next(s.agency_id for s in states if s.id == self.asset.pk)

        self.assertEqual(agency_on("2024-05-31"), self.dinas.pk)
        self.assertEqual(agency_on("2024-06-02"), self.other.pk)

    def test_effective_date_never_rewrites_later_history(self):
        with self.assertRaises(ValidationError) as caught:
            self.approve(self.propose(), effective_date=dt.date(2024, 6, 1))
        self.assertIn("effective_date", caught.exception.message_dict)


class AgencyOnlyThroughTransfersTests(TransferCase):
    def test_register_service_refuses(self):
        with self.assertRaises(ValidationError) as caught:
            register.asset_update(asset=self.asset, user=self.bpkad, data={"agency_id": self.other.pk})
        self.assertIn("only through an approved transfer", str(caught.exception))
        register.asset_update(asset=self.asset, user=self.bpkad, data={"agency_id": self.dinas.pk, "alamat": "x"})

    def test_edit_form_keeps_the_agency(self):
        self.client.force_login(self.bpkad)
        url = reverse("asset-update", args=[self.asset.pk])
        form = self.client.get(url).context["form"]
        self.assertTrue(form.fields["agency"].disabled)
        data = {name: value for name, value in form.initial.items() if value is not None and name != "geom"}
        data.update({"agency": self.other.pk, "loaded_version": self.asset.version, "nama_barang": "Tanah Baru"})
        self.client.post(url, data)
        self.asset.refresh_from_db()
        self.assertEqual((self.asset.nama_barang, self.asset.agency), ("Tanah Baru", self.dinas))

    def test_admin_form_keeps_the_agency(self):
        from assets.admin import LandAssetAdminForm

        form = LandAssetAdminForm(instance=self.asset)
        self.assertTrue(form.fields["agency"].disabled)

    def test_import_update_refuses_another_agency(self):
        mapping = FieldMapping(constants={"agency": self.other.code})
        for row in ("0001",):
            self.assertTrue(LandAsset.objects.filter(nomor_register=row).exists())
        report = run_import(PRINTED, mapping=mapping, dry_run=True)
        messages = [i.message for i in report.errors]
        self.assertTrue(any("only through an approved transfer" in m for m in messages), messages)

    def test_reconciliation_proposes_a_transfer(self):
        run = services.start_run(PRINTED, user=self.bpkad)
        line = selectors.items(run, Category.DIFFERS).get()
        line.differences = ["nilai_perolehan", "agency"]
        line.save()
        official = line.official
        official.agency = self.other
        official.save()
        decision = services.accept_official(item=line, field="agency", user=self.bpkad)
        transfer = AgencyTransfer.objects.get()
        self.assertEqual((transfer.asset, transfer.to_agency, transfer.run), (self.differs, self.other, run))
        self.assertIn(f"Transfer #{transfer.pk}", decision.reason)
        self.differs.refresh_from_db()
        self.assertEqual(self.differs.agency, self.dinas)  # until BPKAD approves


class TransferPageTests(TransferCase):
    def test_pages_and_report(self):
        self.client.force_login(self.officer)
        response = self.client.post(reverse("ledger-transfer-propose", args=[self.asset.pk]),
                                    {"to_agency": self.other.pk, "kind": "mutasi", "reason": "Puskesmas"})  # fmt: skip
        transfer = AgencyTransfer.objects.get()
        self.assertRedirects(response, reverse("ledger-transfer", args=[transfer.pk]))
        url = reverse("ledger-transfer", args=[transfer.pk])
        self.assertEqual(self.client.post(url, {"action": "approve"}).status_code, 403)
        self.client.force_login(self.bpkad)
        document = self.sk()
        today = timezone.localdate().isoformat()
        self.client.post(url, {"action": "approve", "sk_nomor": "SK-9", "sk_tanggal": today, "effective_date": today,
                               "document": document.pk})  # fmt: skip
        transfer.refresh_from_db()
        self.assertEqual(transfer.status, AgencyTransfer.Status.APPROVED)
        for user, status in ((self.auditor, 200), (self.planner, 200), (self.officer, 200)):
            self.client.force_login(user)
            self.assertEqual(self.client.get(reverse("ledger-transfers")).status_code, status)
        self.client.force_login(self.planner)  # no agency: sees no transfer
        self.assertEqual(self.client.get(url).status_code, 404)
        self.client.force_login(self.auditor)
        response = self.client.get(reverse("ledger-transfers-xlsx") + f"?from={today}&to={today}")
        rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].values)
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][5:8], (self.dinas.name, self.other.name, "SK-9"))
        stranger_url = reverse("ledger-transfer-propose", args=[self.alone.pk])  # Dinas Kesehatan's asset
        self.client.force_login(self.officer)
        self.assertEqual(self.client.get(stranger_url).status_code, 403)


class ActivityLogTests(TransferCase):
    def test_decisions_and_transfers_are_in_the_activity_log(self):
        from assets.audit.activity import LogFilter, activity_log

        run = services.start_run(PRINTED, user=self.bpkad)
        line = selectors.items(run, Category.DIFFERS).get()
        services.keep_sipanah(item=line, field="nilai_perolehan", user=self.bpkad, reason="Appraisal 2024")
        transfer = self.propose()
        transfers.reject(transfer=transfer, user=self.bpkad, note="No SK")
        entries = activity_log(LogFilter(kind="ledger"))
        kept = "Sipanah's value kept (to send back to the BMD administrator)"
        self.assertEqual([e.action for e in entries], ["Rejected", "transfer proposed", kept])
        self.assertEqual(entries[2].changes, [("nilai_perolehan", "80000000", "75000000")])
        self.assertEqual(entries[1].changes, [("agency", str(self.dinas), str(self.other))])
        mine = activity_log(LogFilter(kind="ledger", asset_id=self.asset.pk))
        self.assertEqual(len(mine), 2)
        self.client.force_login(self.auditor)
        response = self.client.get("/audit/log/", {"kind": "ledger"})
        self.assertContains(response, "Appraisal 2024")
