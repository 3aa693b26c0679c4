"""Forms of the import pages: the upload (file, options, a saved or uploaded column mapping) and the options of a
check run again (each column of the file against the register's fields, strict overlaps, what an update may
overwrite, save the mapping for an agency)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assets.register import permissions, place
from assets.register.models import Agency, User
from assets.transfer import jobs
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import SYNONYMS, FieldMapping
from assets.transfer.importing.report import ImportFileError, UpdateMode, field_label
from assets.transfer.models import AgencyMapping

MAX_MAPPING_BYTES = 64 * 1024


def update_choices() -> list[tuple[str, str]]:
    return [
        (UpdateMode.ALL, _("everything (attributes and geometry)")),
        (UpdateMode.GEOMETRY, _("the geometry only (the register's attributes stay)")),
        (UpdateMode.ATTRIBUTES, _("the attributes only (the register's geometry stays)")),
    ]


def field_choices() -> list[tuple[str, str]]:
    """Every field a column can give (the mapping file's keys), with the register's name for it."""
    return [("", _("(not used)"))] + [(name, f"{name} — {field_label(name)}") for name in SYNONYMS]


def mapping_agencies(user: User) -> Any:
    """The agencies whose saved mapping ``user`` may use and save: their own, or all for BPKAD and admins."""
    agencies = Agency.objects.order_by("code")
    return agencies if permissions.can_edit_all(user) else agencies.filter(pk=user.agency_id or 0)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("Shapefile (.zip), GeoPackage, GeoJSON, TopoJSON, KML/KMZ, DXF, CSV or XLSX (KIB A)."),
    )
    layer = forms.CharField(label=gettext_lazy("Layer"), required=False, max_length=200)
    srid = forms.CharField(
        label=gettext_lazy("Coordinate system when the file declares none"),
        required=False,
        max_length=20,
    )
    repair = forms.BooleanField(label=gettext_lazy("Repair invalid geometry (MakeValid)"), required=False)
    saved_mapping = forms.ChoiceField(label=gettext_lazy("Column mapping"), required=False)
    mapping_file = forms.FileField(
        label=gettext_lazy("or a mapping file (JSON)"),
        required=False,
        help_text=gettext_lazy("The same file import_assets --mapping reads."),
    )
    strict = forms.BooleanField(
        label=gettext_lazy("Strict: overlapping parcels are errors, not warnings"), required=False
    )
    update_mode = forms.ChoiceField(
        label=gettext_lazy("An update of an existing asset may overwrite"),
        widget=forms.RadioSelect,
        initial=UpdateMode.ALL,
        required=False,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        systems = [f"{code} ({name})" for code, name in place.city().suggested_epsg]
        self.fields["srid"].help_text = _("For example %(systems)s, 4326 (lon/lat).") % {"systems": ", ".join(systems)}
        saved = AgencyMapping.objects.filter(agency__in=mapping_agencies(user)).select_related("agency")
        self.fields["saved_mapping"].choices = [("", _("none: columns recognised by their names"))] + [
            (str(m.agency_id), _("saved for %(agency)s") % {"agency": m.agency}) for m in saved
        ]
        own = next((m for m in saved if m.agency_id == user.agency_id), None)
        if own is not None:
            self.fields["saved_mapping"].initial = str(own.agency_id)
        self.fields["update_mode"].choices = update_choices()
        self.saved = {str(m.agency_id): m.mapping for m in saved}

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(jobs.UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                _("%(file)s: this format is not accepted (accepted: %(accepted)s).")
                % {"file": upload.name, "accepted": ", ".join(jobs.UPLOAD_SUFFIXES)}
            )
        limit = ImportLimits.from_settings().max_file_bytes
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s bytes; at most %(max)s are accepted.") % {"size": upload.size, "max": limit}
            )
        return upload

    def clean_update_mode(self) -> str:
        return self.cleaned_data.get("update_mode") or UpdateMode.ALL

    def clean_mapping_file(self) -> dict[str, Any] | None:
        upload = self.cleaned_data.get("mapping_file")
        if not upload:
            return None
        if upload.size > MAX_MAPPING_BYTES:
            raise forms.ValidationError(_("A mapping file has at most %(max)s bytes.") % {"max": MAX_MAPPING_BYTES})
        try:
            data = json.loads(upload.read().decode("utf-8"))
            return FieldMapping.from_dict(data, name=upload.name).as_dict()
        except (UnicodeDecodeError, ValueError) as exc:
            raise forms.ValidationError(
                _("The mapping file %(file)s cannot be read: %(error)s") % {"file": upload.name, "error": exc}
            ) from exc
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def mapping(self) -> dict[str, Any]:
        """The mapping the upload asks for: the uploaded file, else the saved one chosen, else none ({})."""
        data = self.cleaned_data
        if data.get("mapping_file"):
            return data["mapping_file"]
        return self.saved.get(data.get("saved_mapping") or "", {})


class ImportOptionsForm(forms.Form):
    """Check the file again: each of its columns against the register's fields (``column-<i>``), strict overlaps,
    what an update may overwrite, and whether to keep the mapping for an agency."""

    strict = forms.BooleanField(
        label=gettext_lazy("Strict: overlapping parcels are errors, not warnings"), required=False
    )
    update_mode = forms.ChoiceField(
        label=gettext_lazy("An update of an existing asset may overwrite"), widget=forms.RadioSelect, required=False
    )
    save_for = forms.ChoiceField(label=gettext_lazy("Save this mapping for the agency"), required=False)

    def __init__(self, *args: Any, user: User, columns: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.fields["update_mode"].choices = update_choices()
        self.fields["save_for"].choices = [("", _("(do not save)"))] + [
            (str(a.pk), str(a)) for a in mapping_agencies(user)
        ]
        choices = field_choices()
        for i, column in enumerate(columns):
            self.fields[f"column-{i}"] = forms.ChoiceField(
                label=column["name"], choices=choices, required=False, initial=column.get("field") or ""
            )

    def clean_update_mode(self) -> str:
        return self.cleaned_data.get("update_mode") or UpdateMode.ALL

    def column_rows(self) -> list[tuple[dict[str, Any], Any]]:
        """(column, its select) for the template, unused columns first."""
        rows = [(column, self[f"column-{i}"]) for i, column in enumerate(self.columns)]
        return sorted(rows, key=lambda row: row[0].get("field") is not None)

    def chosen(self) -> dict[str, str]:
        """Column name -> field chosen ("" for none)."""
        return {column["name"]: self.cleaned_data.get(f"column-{i}") or "" for i, column in enumerate(self.columns)}
