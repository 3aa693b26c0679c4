"""Forms of the encumbrance room. The drawn parts use the register's parcel field (map widget, WKT/GeoJSON, the
geometry rules of assets.register.geo); the services check the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assets.encumbrance.models import CaseStage, DisputeCase, Utilisation, UtilisationStatus
from assets.encumbrance.rules import allowed_next_case_stages
from assets.evidence.models import Document
from assets.register import permissions
from assets.register.forms import DateInput, ParcelGeometryField, ParcelMapWidget
from assets.register.models import LandAsset, User


class PartMapWidget(ParcelMapWidget):
    """The register's parcel widget, opened on the asset's parcel (the part is drawn on it)."""

    around: Any = None  # the asset's geometry (lon/lat), or None: the city

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if self.around is not None:
            point = self.around.point_on_surface
            context["widget_options"].update(center=[point.x, point.y], zoom=18)
        return context


def _officers() -> Any:
    return User.objects.filter(
        Q(groups__name__in=[permissions.OFFICER, permissions.BPKAD]) | Q(is_superuser=True), is_active=True
    ).distinct().order_by("username")  # fmt: skip


class CaseForm(forms.ModelForm):
    geom = ParcelGeometryField(
        label=_("Disputed part"), required=False, srid=4326, widget=PartMapWidget,
        help_text=_("Draw the part of the parcel that is disputed or occupied (it may reach across the boundary)."),
    )  # fmt: skip
    other_assets = forms.CharField(
        label=_("Also on assets"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Other assets of the same case: kode barang/register number, one per line "
                    "(for example 1.3.1.01.01.01.001/12)."),
    )  # fmt: skip

    class Meta:
        model = DisputeCase
        fields = [
            "kind", "title", "parties", "description", "opened_on", "court_case_numbers", "next_hearing", "officer",
            "outcome", "geom",
        ]  # fmt: skip
        widgets = {
            "opened_on": DateInput(),
            "next_hearing": DateInput(),
            "parties": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 3}),
            "outcome": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, asset: LandAsset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asset = asset
        self.fields["geom"].widget.around = asset.geom
        self.fields["officer"].queryset = _officers()
        if self.instance.pk:
            del self.fields["opened_on"]
            others = [a for a in self.instance.assets.all() if a.pk != asset.pk]
            self.fields["other_assets"].initial = "\n".join(f"{a.kode_barang}/{a.nomor_register}" for a in others)
        else:
            del self.fields["outcome"]
            self.fields["opened_on"].required = False

    def clean_other_assets(self) -> list[LandAsset]:
        found: list[LandAsset] = []
        for number, line in enumerate(self.cleaned_data["other_assets"].splitlines(), start=1):
            text = line.strip()
            if not text:
                continue
            kode, _sep, nomor = text.rpartition("/")
            asset = LandAsset.objects.filter(kode_barang=kode.strip(), nomor_register=nomor.strip()).first()
            if asset is None:
                raise forms.ValidationError(
                    gettext("Line %(n)s: no asset %(text)s in the register.") % {"n": number, "text": text}
                )
            found.append(asset)
        return found


class CaseStageForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("New stage"))
    date = forms.DateField(label=_("Date"), widget=DateInput())
    court_case_number = forms.CharField(label=_("Court case number"), max_length=100, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the case is settled or stopped: why."),
    )  # fmt: skip

    def __init__(self, *args: Any, case: DisputeCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = [(s, CaseStage(s).label) for s in allowed_next_case_stages(case.stage)]


class CaseDocumentsForm(forms.Form):
    documents = forms.ModelMultipleChoiceField(
        label=_("Documents of the asset"), queryset=Document.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, case: DisputeCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].queryset = (
            Document.objects.filter(asset__in=case.assets.all(), withdrawn_at__isnull=True)
            .exclude(dispute_cases=case)
            .order_by("-uploaded_at")
        )


class UtilisationForm(forms.ModelForm):
    geom = ParcelGeometryField(
        label=_("Used part"), required=False, srid=4326, widget=PartMapWidget,
        help_text=_("Draw the part of the parcel the partner uses."),
    )  # fmt: skip

    class Meta:
        model = Utilisation
        fields = [
            "form", "partner_name", "partner_npwp", "partner_nik", "agreement_number", "agreement_date", "start_date",
            "end_date", "purpose", "tariff", "tariff_basis", "status", "status_reason", "geom",
        ]  # fmt: skip
        widgets = {
            "agreement_date": DateInput(),
            "start_date": DateInput(),
            "end_date": DateInput(),
            "status_reason": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, asset: LandAsset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["geom"].widget.around = asset.geom
        if not self.instance.pk:
            del self.fields["status"]
            del self.fields["status_reason"]
        else:
            self.fields["status"].choices = UtilisationStatus.choices


class PaymentForm(forms.Form):
    due_date = forms.DateField(label=_("Due date"), widget=DateInput())
    amount_due = forms.DecimalField(label=_("Amount due (Rp)"), min_value=0, max_digits=18, decimal_places=0)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class PaymentRecordForm(forms.Form):
    paid_amount = forms.DecimalField(label=_("Paid in total (Rp)"), min_value=0, max_digits=18, decimal_places=0)
    paid_date = forms.DateField(label=_("Paid on"), widget=DateInput(), required=False)
    receipt_number = forms.CharField(label=_("Receipt number"), max_length=100, required=False)
