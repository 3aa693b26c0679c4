"""Forms of the evidence room: the description shared by the files of one upload, a withdrawal, custody lines."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.evidence.models import Document, DocumentType, StoragePlace
from assets.register.models import Certificate, CertificateStageEvent, LandAsset


class DateInput(forms.DateInput):
    input_type = "date"


class DocumentForm(forms.Form):
    """What the files of one upload are (the files themselves come as request.FILES["files"])."""

    doc_type = forms.ChoiceField(label=_("Document type"), choices=DocumentType.choices)
    number = forms.CharField(label=_("Document number"), required=False, max_length=100)
    date = forms.DateField(label=_("Document date"), required=False, widget=DateInput())
    issuer = forms.CharField(label=_("Issued by"), required=False, max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    certificate = forms.ModelChoiceField(label=_("Certificate"), queryset=Certificate.objects.none(), required=False)
    stage_event = forms.ModelChoiceField(
        label=_("Stage change"), queryset=CertificateStageEvent.objects.none(), required=False
    )

    def __init__(self, *args: Any, asset: LandAsset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        certificate = self.fields["certificate"]
        stage_event = self.fields["stage_event"]
        assert isinstance(certificate, forms.ModelChoiceField) and isinstance(stage_event, forms.ModelChoiceField)
        certificate.queryset = Certificate.objects.filter(asset=asset)
        stage_event.queryset = CertificateStageEvent.objects.filter(certificate__asset=asset).select_related(
            "certificate"
        )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Why is the document withdrawn?"), widget=forms.Textarea(attrs={"rows": 3}))


class StoreForm(forms.Form):
    place = forms.ModelChoiceField(label=_("Storage place"), queryset=StoragePlace.objects.filter(active=True))
    date = forms.DateField(label=_("Date"), widget=DateInput(), initial=timezone.localdate)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class LendForm(forms.Form):
    borrower = forms.CharField(label=_("Borrowed by"), max_length=200)
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    date = forms.DateField(label=_("Date"), widget=DateInput(), initial=timezone.localdate)
    due_date = forms.DateField(label=_("Due back"), widget=DateInput(), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    receipt = forms.ModelChoiceField(label=_("Receipt scan"), queryset=Document.objects.none(), required=False)

    def __init__(self, *args: Any, asset: LandAsset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        receipt = self.fields["receipt"]
        assert isinstance(receipt, forms.ModelChoiceField)
        receipt.queryset = Document.objects.filter(asset=asset, withdrawn_at__isnull=True)


class ReturnForm(forms.Form):
    date = forms.DateField(label=_("Returned on"), widget=DateInput(), initial=timezone.localdate)
    place = forms.ModelChoiceField(
        label=_("Into storage place"), queryset=StoragePlace.objects.filter(active=True), required=False
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
