"""HTML forms. Geometry goes through assets.geo's rules, like every other entry point."""

from __future__ import annotations

from typing import Any, cast

import shapely
from django import forms
from django.contrib.gis import forms as gis_forms
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assets.register import basemaps, geo, overlaps, permissions, place
from assets.register.geo import STORAGE_SRID, GeometryError, normalize_parcel_geometry
from assets.register.models import LANGUAGE_CHOICES, Agency, Certificate, JenisHak, LandAsset, Stage, User
from assets.register.rules import allowed_next_stages
from assets.register.services import ASSET_FIELDS, CERTIFICATE_FIELDS


class ParcelMapWidget(gis_forms.BaseGeometryWidget):
    """Sipanah's parcel widget: OpenLayers served by Sipanah (js/sipanah-parcel-widget.js), no GeoDjango script.

    Polygon first (the draw tool is active on an empty field), parts and holes, vertex editing with snapping to the
    neighbouring parcels (the register's vector tiles) and to the parcel's own corners, undo, labelled tools in the
    UI language (the template's {% translate %} texts, read by the script), the kecamatan/kelurahan boundaries of
    the map page (``map-boundaries``), corner lists, WKT/GeoJSON and survey files read by the server's geometry check
    (``geometry_check``), which also gives the live area, errors and overlaps. The field's text is a GeoJSON
    MultiPolygon in lon/lat. No inline script (the Content-Security-Policy allows none): the options are JSON beside
    the map. The basemap (SIPANAH_BASEMAP_URL) is optional: without it the boundaries and parcels are the context.
    """

    template_name = "gis/sipanah_parcel_widget.html"
    geom_type = "MultiPolygon"
    map_srid = 4326  # the field's text is lon/lat (the script converts for the map): text without SRID is lon/lat
    parcel = True  # a parcel of the register: live check, neighbouring parcels and the corner panel
    user: Any = None  # whose remembered basemap to draw (basemaps.basemap_for); None: the first configured

    def __init__(self, attrs: dict[str, Any] | None = None, *, parcel: bool | None = None) -> None:
        super().__init__(attrs)
        if parcel is not None:
            self.parcel = parcel

    def serialize(self, value: Any) -> str:
        return value.json if value else ""

    def deserialize(self, value: str) -> GEOSGeometry | None:
        # A refused form shows the posted geometry again. GeoDjango catches GEOS's parse errors here but not
        # OGR's (malformed GeoJSON raises GDALException): that was a 500 (found by tests/register/test_fuzz_forms.py).
        try:
            return super().deserialize(value)
        except GDALException:
            return None

    def _lonlat(self, value: Any) -> GEOSGeometry | None:
        """The value to show, in lon/lat. GeoDjango would transform it with GDAL, which never returns for huge
        projected coordinates (a refused form shows the posted geometry again); geo's checked reprojection instead,
        and a geometry that cannot be shown in lon/lat is not shown (the field's error says why)."""
        if isinstance(value, str):
            value = self.deserialize(value) if value else None
        if value is None or not value.srid or value.srid == STORAGE_SRID:
            return value
        try:
            lonlat = geo.reproject_to_lonlat(geo.to_shapely(value), value.srid, f"EPSG:{value.srid}")
        except Exception:  # noqa: BLE001 - GeometryError, or PROJ's own (no common class): nothing to show
            return None
        return GEOSGeometry(memoryview(shapely.to_wkb(lonlat)), srid=STORAGE_SRID)

    class Media:
        css = {"all": ("vendor/ol/ol.css", "css/sipanah-parcel-widget.css")}
        js = ("vendor/ol/ol.js", "js/sipanah-parcel-widget.js")

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, self._lonlat(value), attrs)
        here = place.city()
        parcel = self.parcel
        basemap = basemaps.basemap_for(self.user) if self.user is not None else next(iter(basemaps.catalogue()), None)
        context["options_id"] = f"{context['id']}_options"
        context["parcel"] = parcel
        context["crs_choices"] = [(srid, place.crs_name(srid)) for srid, _name in here.suggested_epsg] + [
            (STORAGE_SRID, place.crs_name(STORAGE_SRID))
        ]
        # What the script needs, as data (the texts are in the template, translated there).
        context["widget_options"] = {
            "id": context["id"],
            "center": [here.center[1], here.center[0]],  # lon, lat
            "zoom": here.zoom,
            "basemap": basemap.as_json() if basemap is not None else None,
            "boundaries_url": reverse("map-boundaries"),
            "tiles_url": reverse("asset-tile", kwargs={"z": 0, "x": 0, "y": 0}).replace(
                "/0/0/0.pbf", "/{z}/{x}/{y}.pbf"
            )
            if parcel
            else None,
            "check_url": _check_url() if parcel else None,
            "asset": self.attrs.get("asset"),
            "debounce_ms": 400,
        }
        return context


def _check_url() -> str | None:
    """The server's geometry check (area, errors, overlaps, corner lists and files), None where it is not routed:
    the widget then draws and edits without live feedback."""
    try:
        return reverse("geometry_check")
    except NoReverseMatch:
        return None


class ParcelGeometryField(gis_forms.GeometryField):
    """Accepts Polygon or MultiPolygon from the widget; the shared rules decide the rest."""

    widget = ParcelMapWidget

    def clean(self, value: Any) -> MultiPolygon | None:
        # Parsed (to_python) but not transformed by GeometryField.clean: its transform goes through GDAL, which
        # never returns for huge projected coordinates (GDAL 3.6 wraps the longitude in a loop; found by
        # tests/register/test_fuzz_forms.py with SRID=3857 and 1e20) and raises GDALException, a 500, for others.
        # assets.geo reprojects with pyproj and words every refusal.
        geom = forms.Field.clean(self, value)
        if geom is None:
            return None
        try:
            return normalize_parcel_geometry(geom)
        except GeometryError as exc:
            raise forms.ValidationError(str(exc), code="geometry") from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        # The same reason: GeometryField.has_changed transforms the raw input with GDAL (the admin calls it).
        try:
            data = self.clean(data)
            initial = self.to_python(initial)
        except forms.ValidationError:
            return True
        if initial is None or data is None:
            return (initial is None) != (data is None)
        return not initial.equals_exact(data, tolerance=0.000001)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class VersionedAssetForm(forms.ModelForm):
    """An asset form that carries the version it was loaded with, for the optimistic check of
    services.asset_update (the register's edit page and the admin). Not the model field itself: a refused save
    re-renders the form with the user's input and the version they started from. Required when editing: a post
    without it would skip the check and overwrite whatever was saved meanwhile."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, label=_("Version"))
    # Asked only when the parcel overlaps others: BPKAD and administrators save an overlap with a reason, recorded in
    # the asset's history (assets.register.overlaps); officers' forms do not have it.
    overlap_reason = forms.CharField(
        label=_("Reason for the overlap"),
        required=False,
        max_length=overlaps.MAX_REASON_LENGTH,
        help_text=_(
            "Only when the parcel overlaps other parcels: why it is recorded so (e.g. a dispute and its case)."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            field = self.fields["loaded_version"]
            field.initial = self.instance.version
            if "geom" in self.fields:  # the widget's live check leaves the asset's own stored parcel out of overlaps
                self.fields["geom"].widget.attrs["asset"] = self.instance.pk
            if "agency" in self.fields:  # an asset changes agency only through an approved transfer (assets.ledger)
                self.fields["agency"].disabled = True
                self.fields["agency"].help_text = _("Changes only through an approved transfer (mutasi).")
            field.required = True
            field.error_messages["required"] = _(
                "The form came without the version of the asset it was loaded with, so a save could overwrite "
                "changes made meanwhile. Open the asset again and make your changes there."
            )


class AssetForm(VersionedAssetForm):
    geom = ParcelGeometryField(label=_("Geometry"), required=False, srid=4326)

    class Meta:
        model = LandAsset
        fields = [*ASSET_FIELDS, "geom"]
        widgets = {
            "tanggal_perolehan": DateInput(),
            "alamat": forms.Textarea(attrs={"rows": 2}),
            "keterangan": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not permissions.can_edit_all(user):
            agency = cast(forms.ModelChoiceField, self.fields["agency"])  # a ForeignKey's form field
            # only their own agency (none at all for an officer without one, whom the views keep out)
            agency.queryset = (
                Agency.objects.filter(pk=user.agency_id) if user.agency_id is not None else Agency.objects.none()
            )
            agency.initial = user.agency_id
            agency.empty_label = None
            del self.fields["overlap_reason"]  # an officer's overlap is refused, not explained
        self.fields["geom"].widget.user = user  # the basemap the user chose on any map
        self.fields["plotting_status"].help_text = _(
            "Set automatically to 'located' when a geometry is drawn; choose 'approximate' if it is only a sketch."
        )

    def _post_clean(self) -> None:
        # Model validation runs in assets.services (which also derives area and kelurahan),
        # so the form only checks its own fields here.
        pass


class CertificateForm(forms.ModelForm):
    tanggal_tahap = forms.DateField(
        label=_("In this stage since"),
        widget=DateInput(),
        initial=timezone.localdate,
        help_text=_("Date of the document that started the current stage."),
    )
    nomor_dokumen = forms.CharField(label=_("Document number"), required=False, max_length=100)

    class Meta:
        model = Certificate
        fields = [*CERTIFICATE_FIELDS, "stage"]
        widgets = {"tanggal": DateInput(), "tanggal_surat_ukur": DateInput()}

    def _post_clean(self) -> None:
        pass


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("New stage"))
    tanggal = forms.DateField(label=_("Date"), widget=DateInput(), initial=timezone.localdate)
    nomor_dokumen = forms.CharField(label=_("Document number"), required=False, max_length=100)
    catatan = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    jenis_hak = forms.ChoiceField(label=_("Type of right"), required=False)
    nomor = forms.CharField(label=_("Certificate number"), required=False, max_length=64)
    tanggal_sertifikat = forms.DateField(label=_("Certificate date"), required=False, widget=DateInput())
    nib = forms.CharField(label=_("NIB"), required=False, max_length=14)
    luas_sertifikat_m2 = forms.DecimalField(label=_("Certificate area (m²)"), required=False, min_value=0)

    def __init__(self, *args: Any, certificate: Certificate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to_stage = cast(forms.ChoiceField, self.fields["to_stage"])  # the fields declared above
        jenis_hak = cast(forms.ChoiceField, self.fields["jenis_hak"])
        to_stage.choices = [(s, Stage(s).label) for s in allowed_next_stages(certificate.stage)]
        jenis_hak.choices = [("", "—"), *JenisHak.choices]  # Certificate.jenis_hak's choices

    def certificate_fields(self) -> dict[str, Any]:
        """The certificate fields the user filled in, to complete the certificate on the way."""
        data = self.cleaned_data
        mapping = {
            "jenis_hak": "jenis_hak",
            "nomor": "nomor",
            "tanggal_sertifikat": "tanggal",
            "nib": "nib",
            "luas_sertifikat_m2": "luas_sertifikat_m2",
        }
        return {target: data[source] for source, target in mapping.items() if data.get(source) not in (None, "")}


class RemovalForm(forms.Form):
    removal_sk_nomor = forms.CharField(label=_("Removal decree (SK) number"), max_length=100)
    removed_at = forms.DateField(
        label=_("Decree date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    removal_note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RestoreForm(forms.Form):
    reason = forms.CharField(label=_("Why is the removal reversed?"), widget=forms.Textarea(attrs={"rows": 3}))


class MySettingsForm(forms.ModelForm):
    """A user's own preferences (/settings/): the language of their e-mails (and pages), and whether the daily
    e-mail of what waits for them is sent (assets.work.digest)."""

    class Meta:
        model = User
        fields = ["language", "digest_opt_out"]
        help_texts = {
            "language": _("The language of the pages and of your e-mails; empty: Bahasa Indonesia."),
            "digest_opt_out": _("Tick to stop the daily e-mail that lists what waits for you."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["language"])
        field.choices = [("", _("Default (Bahasa Indonesia)")), *LANGUAGE_CHOICES]
