"""Forms of the ledger pages: the upload of an official export, and the decisions on a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assets.ledger.matching import FIELDS
from assets.transfer.importing.source import SUFFIX_FORMATS

SYSTEMS = [("SIMDA BMD", "SIMDA BMD"), ("e-BMD", "e-BMD"), ("", _("other"))]


class RunUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Official KIB A export"),
        help_text=_(
            "The table or the printed layout exported by SIMDA BMD or e-BMD (XLSX, CSV, "
            "or any format the importer reads). Nothing is written to the register."
        ),
    )
    system = forms.ChoiceField(label=_("Official system"), choices=SYSTEMS, required=False)
    snapshot_date = forms.DateField(
        label=_("Register date of the export"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_file(self) -> Any:
        """A format the importer does not read is refused at once (the rest is checked by the worker)."""
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name or "").suffix.lower()
        if suffix not in SUFFIX_FORMATS:
            raise forms.ValidationError(
                _("%(file)s: the format %(suffix)s is not supported (accepted: %(accepted)s).")
                % {"file": upload.name, "suffix": suffix or "?", "accepted": ", ".join(sorted(SUFFIX_FORMATS))}
            )
        return upload


class DecisionForm(forms.Form):
    ACTIONS = ["accept", "keep", "confirm", "reject", "pair", "create"]
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    field = forms.ChoiceField(choices=[("", "")] + [(f, f) for f in FIELDS], required=False)
    reason = forms.CharField(required=False, max_length=2000)
    other = forms.IntegerField(required=False, min_value=1)  # the line to pair with (a candidate's radio)
    other_number = forms.IntegerField(required=False, min_value=1)  # or its number, typed


class TransferProposeForm(forms.Form):
    to_agency = forms.ModelChoiceField(label=_("To agency"), queryset=None)  # type: ignore[arg-type]
    kind = forms.ChoiceField(label=_("Kind"), choices=[])
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from assets.ledger.models import AgencyTransfer
        from assets.register.models import Agency

        super().__init__(*args, **kwargs)
        self.fields["to_agency"].queryset = Agency.objects.order_by("code")  # type: ignore[attr-defined]
        self.fields["kind"].choices = AgencyTransfer.Kind.choices  # type: ignore[attr-defined]


class TransferApproveForm(forms.Form):
    sk_nomor = forms.CharField(label=_("Decree (SK) number"), max_length=100)
    sk_tanggal = forms.DateField(label=_("Decree (SK) date"), widget=forms.DateInput(attrs={"type": "date"}))
    effective_date = forms.DateField(label=_("Effective date"), widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.ModelChoiceField(label=_("Decree (SK) scan"), queryset=None)  # type: ignore[arg-type]
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, asset: Any, **kwargs: Any) -> None:
        from assets.evidence.models import Document

        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = Document.objects.filter(  # type: ignore[attr-defined]
            asset=asset, withdrawn_at__isnull=True
        ).order_by("-id")


class TransferCloseForm(forms.Form):
    note = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class OpeningBalanceForm(forms.Form):
    mode = forms.ChoiceField(label=_("Dated"), choices=[])
    effective_date = forms.DateField(
        label=_("Date of the opening balance"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For example 31 December 2025 (the last year-end before go-live)."),
    )
    recorded_from = forms.DateField(label=_("Assets recorded from"), widget=forms.DateInput(attrs={"type": "date"}))
    recorded_until = forms.DateField(
        label=_("Assets recorded until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The days the opening balance was loaded into Sipanah."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from assets.ledger.models import OpeningBalance

        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = OpeningBalance.Mode.choices  # type: ignore[attr-defined]


class SubUnitForm(forms.Form):
    sub_unit = forms.ModelChoiceField(
        label=_("Sub-unit"),
        queryset=None,
        required=False,  # type: ignore[arg-type]
        empty_label=_("(the agency itself)"),
    )

    def __init__(self, *args: Any, asset: Any, **kwargs: Any) -> None:
        from assets.ledger.models import SubUnit

        super().__init__(*args, **kwargs)
        self.fields["sub_unit"].queryset = SubUnit.objects.filter(agency_id=asset.agency_id)  # type: ignore[attr-defined]
