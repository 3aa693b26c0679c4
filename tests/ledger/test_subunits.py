"""Sub-units (kuasa pengguna barang / UPT): chosen on an asset; an officer bound to one changes only its assets."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from assets.ledger import subunits
from assets.ledger.models import AssetSubUnit, OfficerSubUnit, SubUnit
from assets.register import permissions
from assets.register import services as register
from tests.factories import make_user
from tests.ledger.ledger_case import LedgerCase


class SubUnitTests(LedgerCase):
    def setUp(self):
        super().setUp()
        self.sd = SubUnit.objects.create(agency=self.dinas, code="SD001", name="SD Negeri 001")
        self.smp = SubUnit.objects.create(agency=self.dinas, code="SMP01", name="SMP Negeri 1")
        self.other_unit = SubUnit.objects.create(agency=self.other, code="PKM01", name="Puskesmas 1")
        self.bound = make_user("sd-officer", permissions.OFFICER, self.dinas)
        OfficerSubUnit.objects.create(user=self.bound, sub_unit=self.sd)
        subunits.set_sub_unit(asset=self.equal, sub_unit=self.sd, user=self.bpkad)
        subunits.set_sub_unit(asset=self.differs, sub_unit=self.smp, user=self.officer)

    def fresh(self, user):
        return type(user).objects.get(pk=user.pk)  # a new request's user: no cached roles or sub-unit

    def test_a_bound_officer_edits_only_their_sub_unit(self):
        bound = self.fresh(self.bound)
        self.assertTrue(permissions.can_edit_asset(bound, self.equal))
        self.assertFalse(permissions.can_edit_asset(bound, self.differs))  # another sub-unit
        self.assertFalse(permissions.can_edit_asset(bound, self.likely))  # the agency's own
        self.assertEqual(permissions.edit_asset_refusal(bound, self.likely),
                         "You may change only the assets of your sub-unit SD Negeri 001.")  # fmt: skip
        with self.assertRaises(PermissionDenied):
            register.asset_update(asset=self.differs, user=bound, data={"alamat": "x"})
        register.asset_update(asset=self.equal, user=bound, data={"alamat": "Jl. Baru"})
        unbound = self.fresh(self.officer)
        self.assertTrue(all(permissions.can_edit_asset(unbound, a) for a in (self.equal, self.differs, self.likely)))

    def test_choosing_a_sub_unit(self):
        with self.assertRaises(ValidationError):
            subunits.set_sub_unit(asset=self.likely, sub_unit=self.other_unit, user=self.bpkad)
        with self.assertRaises(PermissionDenied):
            subunits.set_sub_unit(asset=self.equal, sub_unit=self.smp, user=self.fresh(self.bound))
        subunits.set_sub_unit(asset=self.differs, sub_unit=None, user=self.officer)
        self.assertIsNone(AssetSubUnit.objects.get(asset=self.differs).sub_unit)  # kept, emptied

    def test_page(self):
        url = reverse("ledger-asset-sub-unit", args=[self.likely.pk])
        for user, status in ((self.bound, 403), (self.auditor, 403), (self.planner, 403)):
            self.client.force_login(user)
            self.assertEqual(self.client.get(url).status_code, status)
        self.client.force_login(self.officer)
        page = self.client.get(url)
        self.assertNotContains(page, "Puskesmas 1")  # another agency's sub-unit is not offered
        response = self.client.post(url, {"sub_unit": self.smp.pk})
        self.assertRedirects(response, reverse("asset-detail", args=[self.likely.pk]), fetch_redirect_response=False)
        self.assertEqual(AssetSubUnit.objects.get(asset=self.likely).sub_unit, self.smp)
        self.assertEqual(self.client.post(url, {"sub_unit": self.other_unit.pk}).status_code, 200)  # not a choice
        self.assertEqual(AssetSubUnit.objects.get(asset=self.likely).sub_unit, self.smp)
