"""The campaign form: period, scope and teams (one line per team: ``name: user, user``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext_lazy as _

from assets.field.models import Condition, Found, Occupation, Team
from assets.register import selectors
from assets.register.models import Agency, User


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    starts_on = forms.DateField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=Agency.objects.order_by("code"), required=False)
    kecamatan = forms.ModelChoiceField(label=_("Kecamatan"), queryset=selectors.kecamatan_list(), required=False)
    area = forms.CharField(
        label=_("Drawn area (GeoJSON or WKT, lon/lat)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    teams = forms.CharField(
        label=_("Teams"),
        help_text=_(
            "One line per team: the team's name, a colon, then its members' user names separated by commas; "
            "the first member named leads the team."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not (user.is_superuser or user.groups.filter(name__in=("bpkad", "admin")).exists()):
            self.fields["agency"].queryset = Agency.objects.filter(pk=user.agency_id)
            self.fields["agency"].required = True

    def clean_area(self) -> GEOSGeometry | None:
        text = self.cleaned_data["area"].strip()
        if not text:
            return None
        try:
            geom = GEOSGeometry(text)
        except (GEOSException, ValueError):
            raise forms.ValidationError(_("The drawn area is neither GeoJSON nor WKT.")) from None
        if geom.srid is None:
            geom.srid = 4326
        return geom

    def clean_teams(self) -> list[tuple[str, list[User]]]:
        teams = []
        for number, line in enumerate(self.cleaned_data["teams"].splitlines(), start=1):
            if not line.strip():
                continue
            name, _sep, names = line.partition(":")
            usernames = [n.strip() for n in names.split(",") if n.strip()]
            found = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
            users = [found[n] for n in dict.fromkeys(usernames) if n in found]  # in the order typed: the first leads
            missing = sorted(set(usernames) - set(found))
            if missing:
                raise forms.ValidationError(
                    _("Line %(line)s: no active user named %(names)s.") % {"line": number, "names": ", ".join(missing)}
                )
            if not users:
                raise forms.ValidationError(_("Line %(line)s: the team has no members.") % {"line": number})
            teams.append((name.strip(), users))
        if not teams:
            raise forms.ValidationError(_("Give at least one team."))
        return teams


class ResultEditForm(forms.Form):
    """A team member's correction of a result (the position, boundary and photos stay as the phone sent them)."""

    found = forms.ChoiceField(label=_("Found"), choices=Found.choices)
    condition = forms.ChoiceField(label=_("Condition"), choices=[("", "—"), *Condition.choices], required=False)
    use = forms.CharField(label=_("Use"), max_length=200, required=False)
    occupation = forms.ChoiceField(label=_("Occupation"), choices=[("", "—"), *Occupation.choices], required=False)
    patok = forms.NullBooleanField(label=_("Boundary markers (patok) present"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    edits = forms.IntegerField(widget=forms.HiddenInput)


class MoveForm(forms.Form):
    """Move ticked parcels of a team to another team of the campaign."""

    assignments = forms.TypedMultipleChoiceField(label=_("Parcels"), coerce=int, widget=forms.CheckboxSelectMultiple)
    to_team = forms.ModelChoiceField(label=_("Move to"), queryset=Team.objects.none())

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_team"].queryset = Team.objects.filter(campaign=team.campaign_id).exclude(pk=team.pk)
        self.fields["assignments"].choices = [
            (a.pk, f"{a.asset.kode_barang} / {a.asset.nomor_register} {a.asset.nama_barang}")
            for a in team.assignments.select_related("asset").order_by("order", "pk")
        ]
