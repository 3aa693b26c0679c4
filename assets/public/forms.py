"""The public forms: the lookup by coordinates, kelurahan or file, and the report / request with its challenge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assets.public import guards, selectors
from assets.register import place


def crs_choices() -> list[tuple[str, str]]:
    return [(str(srid), place.crs_name(srid)) for srid in place.city().entry_srids()]


class CoordinatesForm(forms.Form):
    coordinates = forms.CharField(label=_("Coordinates (x, y)"), max_length=80)
    crs = forms.ChoiceField(label=_("Coordinate system"), choices=crs_choices)


class KelurahanForm(forms.Form):
    kelurahan = forms.ChoiceField(label=_("Kelurahan"), choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kelurahan"].choices = [("", "—"), *selectors.kelurahan_choices()]


class FileForm(forms.Form):
    file = forms.FileField(
        label=_("Parcel file"), help_text=_("GeoJSON, KML or a zipped shapefile of one parcel, at most 2 MB.")
    )
    crs = forms.ChoiceField(
        label=_("Coordinate system, if the file does not say"), choices=[("", "—"), *crs_choices()], required=False
    )


class ReportForm(forms.Form):
    """A report or request: the place (picked on the map: lon/lat, or typed coordinates), what, who."""

    lon = forms.FloatField(widget=forms.HiddenInput, required=False)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False)
    coordinates = forms.CharField(
        label=_("Or type the coordinates (longitude, latitude)"), max_length=80, required=False
    )
    description = forms.CharField(
        label=_("What is happening, and where exactly"), widget=forms.Textarea, max_length=4000
    )
    photo = forms.FileField(label=_("Photo (optional)"), required=False)
    contact_name = forms.CharField(label=_("Your name"), max_length=200)
    contact_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    contact_email = forms.EmailField(label=_("E-mail"), required=False)
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}))
    challenge = forms.CharField(widget=forms.HiddenInput)
    answer = forms.CharField(label=_("Your answer"), max_length=8)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.question, token = guards.new_challenge()
        self.initial["challenge"] = token
        if self.is_bound:  # a new question for the page shown again; the posted token is checked in clean()
            data = self.data.copy()
            self.posted_token = data.get("challenge", "")
            data["challenge"] = token
            self.data = data
        else:
            self.posted_token = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("website"):  # a field people do not see: filled by robots
            raise forms.ValidationError(_("The form could not be sent."))
        problem = guards.check_challenge(self.posted_token, cleaned.get("answer", ""))
        if problem:
            self.add_error("answer", problem)
        if not cleaned.get("contact_phone") and not cleaned.get("contact_email"):
            self.add_error("contact_phone", _("Give a phone number or an e-mail address so that BPKAD can reach you."))
        if cleaned.get("lon") is None and not (cleaned.get("coordinates") or "").strip():
            self.add_error("coordinates", _("Pick the place on the map or type its coordinates."))
        return cleaned
