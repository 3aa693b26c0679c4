"""A row read from the file (assets.transfer.importing.sandbox) made a checked row: every field parsed
(assets.transfer.importing.values), the agency resolved, the certificate columns read; a row with errors adds them
to the report and gives none. The geometry comes read and in lon/lat already."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import shapely
from django.utils import translation
from django.utils.translation import gettext as _

from assets.register import permissions
from assets.register.kib import normalise_name
from assets.register.models import (
    AsalUsul,
    JenisHak,
    PlottingStatus,
    Stage,
    User,
)
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportReport, Issue
from assets.transfer.importing.sandbox import RawRow
from assets.transfer.importing.values import (
    STAGE_ALIASES,
    ValueRefused,
    agency_lookup,
    choice_of,
    date_of,
    decimal_of,
    digits_of,
    text_of,
)

ABSENT_KEEPS = ("tanggal_perolehan", "alamat", "penggunaan", "keterangan")  # kept on update when the file lacks them


@dataclass
class Row:
    number: int
    asset_fields: dict[str, Any]
    certificate: dict[str, Any] | None
    geom: shapely.Geometry | None  # lon/lat (SRID 4326), not yet checked by the geometry rules
    has_geometry: bool


class Reader:
    """Turns the rows read from the file into checked rows; a row with errors gives None and adds them to the
    report (with what the reading itself refused: an unreadable feature, a geometry, a text too long)."""

    def __init__(self, plan: dict[str, int | str], mapping: FieldMapping, *, user: User | None, report: ImportReport):
        self.plan, self.mapping, self.user, self.report = plan, mapping, user, report
        self.agencies = agency_lookup()
        self.language = translation.get_language()  # choice labels are matched in the import's language
        # Optional fields no column, constant or default gives: left out of the row, so that an update keeps the
        # register's value (a printed KIB A has no tanggal perolehan column; importing it must not erase the date)
        given = set(plan) | set(mapping.constants) | set(mapping.defaults)
        self.absent = tuple(name for name in ABSENT_KEEPS if name not in given)
        self.forced_agency = None
        if user is not None and not permissions.can_edit_all(user):
            self.forced_agency = user.agency_id  # officers import for their own agency only

    def raw(self, feature: RawRow, number: int, name: str) -> Any:
        if name in self.plan:
            where = self.plan[name]
            if where == "$feature":
                return number
            value = feature.values.get(where)  # type: ignore[call-overload]
            if name in self.mapping.defaults and text_of(value) == "":
                return self.mapping.defaults[name]
            return value
        if name in self.mapping.constants:
            return self.mapping.constants[name]
        return self.mapping.defaults.get(name)

    def read(self, feature: RawRow) -> Row | None:
        number = feature.number
        errors_before = self.report.error_count

        def fail(name: str, message: str) -> None:
            self.report.add_error(number, name, message)

        for name, message in feature.errors:  # what the reading refused (assets.transfer.importing.sandbox)
            fail(name, message)
        if any(name == "" for name, _message in feature.errors):
            return None  # GDAL could not read the feature at all: nothing more to say about its fields
        if feature.repaired is not None:
            self.report.repairs.append(
                Issue(number, "geom", _("Repaired with MakeValid (was: %(reason)s).") % {"reason": feature.repaired})
            )

        values: dict[str, Any] = {}
        for name in ("kode_barang", "nibar", "nama_barang", "alamat", "penggunaan", "keterangan"):
            values[name] = text_of(self.raw(feature, number, name))
        values["nomor_register"] = digits_of(self.raw(feature, number, "nomor_register"))
        for name in ("kode_barang", "nomor_register", "nama_barang"):
            if not values[name]:
                fail(name, _("%(field)s is empty.") % {"field": name})
        parsers: dict[str, Callable[[Any], Any]] = {
            "tanggal_perolehan": date_of,
            "nilai_perolehan": lambda v: decimal_of(v, "nilai_perolehan"),
            "luas_kib_m2": lambda v: decimal_of(v, "luas_kib_m2"),
            "asal_usul": lambda v: choice_of(v, AsalUsul, "asal_usul", self.language),
            "plotting_status": lambda v: choice_of(v, PlottingStatus, "plotting_status", self.language),
        }
        for name, parse in parsers.items():
            try:
                values[name] = parse(self.raw(feature, number, name))
            except ValueRefused as exc:
                fail(name, str(exc))
                values[name] = None
        year = digits_of(self.raw(feature, number, "tahun_perolehan"))
        if year:
            if year.isdigit():
                values["tahun_perolehan"] = int(year)
            else:
                fail("tahun_perolehan", _("%(value)s is not a year.") % {"value": year})
        elif values.get("tanggal_perolehan"):
            values["tahun_perolehan"] = values["tanggal_perolehan"].year
        else:
            fail("tahun_perolehan", _("tahun_perolehan is empty."))
        for name in ("nilai_perolehan", "luas_kib_m2", "asal_usul"):
            if values.get(name) is None and not any(
                i.feature == number and i.field == name for i in self.report.errors[-5:]
            ):
                fail(name, _("%(field)s is empty.") % {"field": name})
        if values.get("nilai_perolehan") is not None:
            values["nilai_perolehan"] = values["nilai_perolehan"].quantize(Decimal(1))
        if values.get("luas_kib_m2") is not None:
            values["luas_kib_m2"] = values["luas_kib_m2"].quantize(Decimal("0.01"))
        if values.get("plotting_status") in (None, PlottingStatus.UNKNOWN):
            values.pop("plotting_status", None)
        agency_text = text_of(self.raw(feature, number, "agency"))
        agency_id = self.agencies.get(agency_text.lower()) or self.agencies.get(normalise_name(agency_text))
        if self.forced_agency is not None:
            if agency_text and agency_id != self.forced_agency:
                fail("agency", _("%(agency)s is not your agency: you may import only your own agency's assets.")
                     % {"agency": agency_text})  # fmt: skip
            agency_id = self.forced_agency
        elif not agency_text:
            fail("agency", _("The agency (OPD) is empty."))
        elif agency_id is None:
            fail("agency", _("Unknown agency %(agency)s (give its code or name).") % {"agency": agency_text})
        values["agency_id"] = agency_id
        if not values["nibar"]:
            values["nibar"] = None
        certificate = self._certificate(feature, number, fail)
        if self.report.error_count > errors_before:
            return None
        for name in self.absent:
            del values[name]
        return Row(number, values, certificate, feature.geom, feature.has_geometry)

    def _certificate(self, feature: RawRow, number: int, fail: Callable[[str, str], None]) -> dict[str, Any] | None:
        raw = {name: self.raw(feature, number, name) for name in (
            "jenis_hak", "nomor_sertifikat", "tanggal_sertifikat", "nib", "atas_nama", "luas_sertifikat_m2", "stage"
        )}  # fmt: skip
        if not any(text_of(v) for v in raw.values()):
            return None
        data: dict[str, Any] = {"nomor": text_of(raw["nomor_sertifikat"]), "nib": digits_of(raw["nib"]),
                                "atas_nama": text_of(raw["atas_nama"])}  # fmt: skip
        try:
            data["jenis_hak"] = choice_of(raw["jenis_hak"], JenisHak, "jenis_hak", self.language) or ""
            data["tanggal"] = date_of(raw["tanggal_sertifikat"])
            data["luas_sertifikat_m2"] = decimal_of(raw["luas_sertifikat_m2"], "luas_sertifikat_m2")
            if data["luas_sertifikat_m2"] is not None:
                data["luas_sertifikat_m2"] = data["luas_sertifikat_m2"].quantize(Decimal("0.01"))
            stage_text = normalise_name(text_of(raw["stage"])).upper()
            stage = STAGE_ALIASES.get(stage_text) or choice_of(raw["stage"], Stage, "stage", self.language)
        except ValueRefused as exc:
            fail("certificate", str(exc))
            return None
        if stage is None:
            stage = Stage.SERTIFIKAT_TERBIT if data["nomor"] and data["tanggal"] else Stage.BELUM
        data["stage"] = stage
        return data
