"""The KIB A card of one asset (Kartu Inventaris Barang A – Tanah): what the printed page holds, and its PDF.

Everything is read from the rooms that own it: the asset through the register's one read path (live, or as of a
date, ``RegisterSelection``), its 14 columns from ``kib.PRINTED`` (codes printed as the model's words), the map
from the register's geometry (``parcel_map``), the documents checklist from the evidence room, the signature block
from ``signatories``; the PDF through ``lib.printing``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import shapely
from django.contrib.gis.db.models.functions import AsWKB
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from assets.card import parcel_map, qr
from assets.evidence import selectors as evidence
from assets.evidence.models import DocumentType
from assets.lib import formats
from assets.lib.printing import pdf_from_template
from assets.register import geo, kib, permissions, place, selectors
from assets.register.models import AdministrativeArea, Certificate, LandAsset, Signatory, User
from assets.register.reads import RegisterSelection
from assets.register.signatories import signature_block

NEIGHBOUR_DISTANCE_M = 100.0  # parcels this close to the asset are drawn as its neighbours
MAX_NEIGHBOURS = 500  # a dense block is bounded (the map shows a few dozen at most)
TEMPLATE = "card/kib_a_card.html"
MONEY = frozenset({"nilai_perolehan"})
AREAS = frozenset({"luas_kib_m2", "luas_sertifikat_m2", "luas_gis_m2"})


class CardNotFound(LookupError):
    """No such asset (or none by that id on the date asked)."""


@dataclass(frozen=True)
class KibLine:
    number: int  # its number among the 14 columns of a printed KIB A
    label: str
    lines: tuple[str, ...]  # the value in words, one line per certificate for the certificate columns


@dataclass(frozen=True)
class CertificateLine:
    jenis_hak: str
    nomor: str
    tanggal: str
    nib: str
    atas_nama: str
    luas: str
    stage: str
    stage_since: str


@dataclass(frozen=True)
class ChecklistLine:
    label: str
    present: bool


@dataclass
class Card:
    asset: Any  # a LandAsset, or as of a date a record that reads like one
    as_of: dt.date | None
    kib: list[KibLine]
    certificates: list[CertificateLine]
    details: list[tuple[str, str]]
    map: parcel_map.ParcelMap | None
    checklist: list[ChecklistLine] | None  # None: the user may not see the asset's documents
    qr: qr.QrCode
    signatures: Any
    removed: str = ""  # the removal, in words, when the asset has left the register
    coordinates: list[tuple[str, str]] = field(default_factory=list)

    @property
    def map_svg(self) -> SafeString:
        return mark_safe(self.map.svg) if self.map else mark_safe("")  # noqa: S308 - escaped where it is built

    @property
    def qr_svg(self) -> SafeString:
        return mark_safe(self.qr.svg)  # noqa: S308 - numbers and the escaped payload only


# --- values in words ----------------------------------------------------------------------------------------------


def _model_field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, models.Field) else None


def words(value: Any, model_field: models.Field | None = None, name: str = "") -> str:
    """A value as the card prints it: choice labels for codes, Indonesian-style numbers, dates in words."""
    if value is None or value == "":
        return formats.EMPTY
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, dt.date):
        return date_format(value, "j F Y")
    if name in MONEY:
        return f"Rp {formats.number(value, 2)}"
    if name in AREAS:
        return formats.number(value, 2)
    if isinstance(value, Decimal | float):
        return formats.number(value, 2)
    return str(value)


def kib_lines(asset: Any, certificates: list[Any]) -> list[KibLine]:
    """The 13 columns of a printed KIB A after its running number (2 to 14), in words; the certificate columns
    (8 to 10) list every certificate that has the value, in order."""
    result = []
    for column in kib.PRINTED:
        source = column.source or column.name
        if column.from_certificate:
            attr = source[len(kib.CERT) :]
            model_field = _model_field(Certificate, attr)
            values = [getattr(c, attr, None) for c in certificates]
            lines = tuple(words(v, model_field, attr) for v in values if v not in (None, ""))
        else:
            model_field = _model_field(LandAsset, source) if "." not in source else None
            lines = (words(column.value(asset, None), model_field, column.name),)
            if column.name == "alamat" and not _names_kelurahan(asset):
                lines = (*(lines if asset.alamat else ()), _location(asset))
            elif column.name == "tahun_perolehan" and asset.tanggal_perolehan:
                lines = (f"{asset.tahun_perolehan} ({date_format(asset.tanggal_perolehan, 'j F Y')})",)
        result.append(KibLine(number=column.kib_no or 0, label=column.label, lines=lines or (formats.EMPTY,)))
    return result


def _names_kelurahan(asset: Any) -> bool:
    """Whether the address already names the asset's kelurahan (addresses often end "Kel. …, Kec. …")."""
    return bool(asset.kelurahan and asset.alamat and asset.kelurahan.name.lower() in asset.alamat.lower())


def _location(asset: Any) -> str:
    kelurahan = asset.kelurahan.name if asset.kelurahan else formats.EMPTY
    kecamatan = asset.kecamatan.name if asset.kecamatan else formats.EMPTY
    return _("Kelurahan %(kelurahan)s, Kecamatan %(kecamatan)s") % {"kelurahan": kelurahan, "kecamatan": kecamatan}


def certificate_lines(certificates: list[Any]) -> list[CertificateLine]:
    def word(cert: Any, name: str) -> str:
        return words(getattr(cert, name, None), _model_field(Certificate, name), name)

    return [
        CertificateLine(
            jenis_hak=word(c, "jenis_hak"),
            nomor=word(c, "nomor"),
            tanggal=word(c, "tanggal"),
            nib=word(c, "nib"),
            atas_nama=word(c, "atas_nama"),
            luas=formats.m2(c.luas_sertifikat_m2) if c.luas_sertifikat_m2 is not None else formats.EMPTY,
            stage=word(c, "stage"),
            stage_since=word(c, "stage_since"),
        )
        for c in certificates
    ]


def detail_lines(asset: Any) -> list[tuple[str, str]]:
    """What the card adds to the 14 columns: the identifiers and derived values of the register, labelled as the
    KIB A table labels them."""
    names = ("nibar", "status_sertifikat", "plotting_status", "luas_gis_m2")
    return [
        (kib.BY_NAME[name].label, words(getattr(asset, name, None), _model_field(LandAsset, name), name))
        for name in names
    ]


# --- the map ------------------------------------------------------------------------------------------------------


def _wkb_list(qs: Any) -> list[shapely.Geometry]:
    return [shapely.from_wkb(bytes(w)) for w in qs.annotate(wkb=AsWKB("geom")).values_list("wkb", flat=True) if w]


def asset_map(asset_id: int, geom: GEOSGeometry | None) -> parcel_map.ParcelMap | None:
    """The parcel's map with the live register's parcels within NEIGHBOUR_DISTANCE_M and the kelurahan around."""
    if geom is None:
        return None
    parcel = geo.to_shapely(geom)
    near = GEOSGeometry(
        memoryview(shapely.to_wkb(geo.buffer_metres(parcel, NEIGHBOUR_DISTANCE_M, quad_segs=8))), srid=4326
    )
    live = LandAsset.objects.filter(removed_at__isnull=True, geom__isnull=False).exclude(pk=asset_id)
    neighbours = _wkb_list(selectors.intersecting(live, near).order_by("id")[:MAX_NEIGHBOURS])
    around = GEOSGeometry(memoryview(shapely.to_wkb(geo.buffer_metres(parcel, 1000, quad_segs=8))), srid=4326)
    kelurahan = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN, geom__intersects=around)
    areas = [
        (name, shapely.from_wkb(bytes(wkb)))
        for name, wkb in kelurahan.annotate(wkb=AsWKB("geom")).order_by("code").values_list("name", "wkb")
    ]
    return parcel_map.draw(parcel, srid=place.area_srid(), neighbours=neighbours, areas=areas)


def coordinate_lines(drawn: parcel_map.ParcelMap) -> list[tuple[str, str]]:
    lon, lat = drawn.centroid_lonlat
    x, y = drawn.centroid_metric
    lon_text = (_("%(lon)s° E") if lon >= 0 else _("%(lon)s° W")) % {"lon": formats.number(abs(lon), 6)}
    lat_text = (_("%(lat)s° S") if lat < 0 else _("%(lat)s° N")) % {"lat": formats.number(abs(lat), 6)}
    return [
        (place.crs_name(geo.STORAGE_SRID), f"{lon_text}, {lat_text}"),
        (place.crs_name(drawn.srid), f"X {formats.number(x, 2)} m, Y {formats.number(y, 2)} m"),
    ]


# --- the card -----------------------------------------------------------------------------------------------------


def read_asset(pk: int, as_of: dt.date | None) -> Any:
    """The asset with its certificates: live, or as it stood at the end of ``as_of`` (the register's read path)."""
    if as_of is None:
        try:
            return selectors.asset_detail(pk=pk)
        except LandAsset.DoesNotExist as exc:
            raise CardNotFound(pk) from exc
    params = QueryDict(mutable=True)
    params["removed"] = "include"
    selection = RegisterSelection(params=params, as_of=as_of, refine=lambda qs: qs.filter(id=pk))
    for record in selection.records():
        return record
    raise CardNotFound(pk)


def checklist_lines(asset: Any, as_of: dt.date | None) -> list[ChecklistLine]:
    """Which documents the evidence room's checklist asks of this asset, and whether each is there (on ``as_of``)."""
    wanted = evidence.required_types(asset.asal_usul, asset.tahap_sertifikat, evidence.active_requirements())
    have = evidence.present_types([asset.id], as_of=as_of).get(asset.id, set())
    labels = dict(DocumentType.choices)
    return [ChecklistLine(label=str(labels.get(t, t)), present=t in have) for t in wanted]


def removal_text(asset: Any) -> str:
    if not asset.removed_at:
        return ""
    text = _("This asset was removed from the register on %(date)s.") % {"date": date_format(asset.removed_at, "j F Y")}
    if asset.removal_sk_nomor:
        text += " " + _("Removal decree (SK): %(sk)s.") % {"sk": asset.removal_sk_nomor}
    return text


SIGNING_ROLES = (Signatory.Role.PENGGUNA_BARANG, Signatory.Role.PENGURUS_BARANG)


def build_card(asset: Any, *, user: User, asset_url: str, as_of: dt.date | None = None) -> Card:
    certificates = list(asset.certificates.all())
    drawn = asset_map(asset.id, asset.geom)
    allowed = permissions.can_view_asset_documents(user, asset)
    return Card(
        asset=asset,
        as_of=as_of,
        kib=kib_lines(asset, certificates),
        certificates=certificate_lines(certificates),
        details=detail_lines(asset),
        map=drawn,
        checklist=checklist_lines(asset, as_of) if allowed else None,
        qr=qr.qr_svg(asset_url),
        signatures=signature_block(SIGNING_ROLES, agency=asset.agency),
        removed=removal_text(asset),
        coordinates=coordinate_lines(drawn) if drawn else [],
    )


def card_pdf(card: Card) -> bytes:
    return pdf_from_template(TEMPLATE, card_context(card))


def card_context(card: Card) -> dict[str, Any]:
    asset = card.asset
    return {
        "city": place.city(),
        "card": card,
        "asset": asset,
        "printed_note": _("Sipanah · KIB A card %(kode)s/%(reg)s")
        % {"kode": asset.kode_barang, "reg": asset.nomor_register},
        "signatures": card.signatures,
    }
