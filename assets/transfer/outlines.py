"""The geometry check of the parcel widget (``POST /assets/geometry/check/``): a geometry typed, pasted or taken from
a survey file, checked by the register's rules before anything is saved.

It lives in the transfer room because a survey file is read by the import's reader (assets.transfer.importing: the
hostile-file checks, the CRS rules and the sandboxed child under the import's budget), and transfer may use the
register but not the other way round (the import contract, docs/development.md). Text and corner lists are read by
assets.register.entry, and every rule, area and overlap comes from the register (geo, overlaps): this module only
says which input was given and puts the answer together.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _

from assets.register import geo
from assets.register.entry import (
    CheckResult,
    EntryError,
    add_part,
    check_geometry,
    corner_srid,
    geojson,
    parse_corners,
    parse_geometry_text,
    parse_part_of,
)
from assets.register.models import LandAsset
from assets.register.place import STORAGE_SRID
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.report import ImportFileError
from assets.transfer.importing.sandbox import OutlineSource
from assets.transfer.importing.survey import MAX_OUTLINES, SURVEY_FORMATS

# The import's limits apply to a survey file, but someone waits on the page (and a web thread with them): its reading
# gets at most this many seconds, not an import's half hour. A surveyor's file reads in well under a second.
CHECK_WALL_SECONDS = 30


class CheckRefused(ValueError):
    """The input cannot be read at all (the endpoint's 400); the message names the line, part or file."""


@dataclass
class Answer:
    result: CheckResult
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "geometry": geojson(result.geometry),
            "area_m2": result.area_m2,
            "valid": result.valid,
            "errors": [{"message": m, "location": list(loc) if loc else None} for m, loc in result.errors],
            "overlaps": [
                {"id": o.id, "label": o.label, "url": reverse("asset-detail", args=[o.id]), "area_m2": o.area_m2}
                for o in result.overlaps
            ],
            "candidates": self.candidates,
        }


def check_input(data: Any, files: Any) -> Answer:
    """Check what the form holds: ``geometry`` (WKT/GeoJSON), ``corners`` with ``crs``, or ``file`` (with ``crs`` for
    a file declaring none); ``asset`` left out of the overlaps; ``part_of`` the parcel the outline joins. Raises
    CheckRefused for unreadable input."""
    text = (data.get("geometry") or "").strip()
    corners = (data.get("corners") or "").strip()
    upload = files.get("file")
    given = [name for name, present in (("geometry", text), ("corners", corners), ("file", upload)) if present]
    if len(given) != 1:
        raise CheckRefused(
            _("Give one of: a geometry (WKT or GeoJSON), a corner list with its coordinate system, or a survey file.")
            if not given
            else _("Give only one of geometry, corners and file (got %(given)s).") % {"given": ", ".join(given)}
        )
    try:
        exclude = _asset_id(data.get("asset"))
        part_of = parse_part_of(data.get("part_of"))
        if upload is not None:
            return _check_file(upload, data.get("crs"), part_of, exclude)
        if corners:
            srid = corner_srid(data.get("crs"))
            geom = parse_corners(corners)
        else:
            geom, srid = parse_geometry_text(text)
    except EntryError as exc:
        raise CheckRefused(str(exc)) from None
    return Answer(_check(geom, srid, part_of, exclude))


def _asset_id(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not LandAsset.objects.filter(pk=int(text)).exists():
        raise EntryError(_("asset: there is no asset %(id)s.") % {"id": text[:20]})
    return int(text)


def _check(geom: shapely.Geometry, srid: int, part_of: shapely.Geometry | None, exclude: int | None) -> CheckResult:
    if part_of is not None:
        if srid != STORAGE_SRID:  # the parcel so far is lon/lat: the new outline joins it there
            try:
                geom = geo.reproject_to_lonlat(shapely.force_2d(geom), srid, f"EPSG:{srid}")
            except Exception as exc:  # noqa: BLE001 - GeometryError or PROJ's own, worded by the rules below
                result = CheckResult()
                result.error(str(exc))
                return result
            srid = STORAGE_SRID
        geom = add_part(geom, part_of)
    try:
        return check_geometry(geom, srid, exclude=exclude)
    except geo.GeometryError as exc:  # an unknown CRS declared by the text (SRID=999999)
        result = CheckResult()
        result.error(str(exc))
        return result


def read_survey_file(
    upload: UploadedFile, crs: str | None, *, max_bytes: int | None = None
) -> tuple[list[tuple[str, shapely.Geometry]], int, str]:
    """The outlines of a survey file (GeoJSON, KML, zipped shapefile ...) as (label, lon/lat geometry), how many the
    file holds, and the file's name: read by the import's sandboxed reader with its hostile-file checks, under a
    page's budget. ``max_bytes`` lowers the import's file size limit (the public pages take small files only).
    Raises CheckRefused with a message naming the file."""
    name = Path(upload.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in SURVEY_FORMATS:
        raise CheckRefused(
            _("%(file)s: this format is not accepted (accepted: %(accepted)s).")
            % {"file": name[:100], "accepted": ", ".join(sorted(SURVEY_FORMATS))}
        )
    limits = ImportLimits.from_settings()
    limits = replace(limits, wall_seconds=min(limits.wall_seconds, CHECK_WALL_SECONDS))
    if max_bytes is not None:
        limits = replace(limits, max_file_bytes=min(limits.max_file_bytes, max_bytes))
    if (upload.size or 0) > limits.max_file_bytes:
        raise CheckRefused(
            _("The file is %(size)s bytes; at most %(max)s are accepted.")
            % {"size": upload.size, "max": limits.max_file_bytes}
        )
    try:
        srid = str(corner_srid(crs)) if (crs or "").strip() else None
    except EntryError as exc:
        raise CheckRefused(str(exc)) from None
    folder = Path(getattr(settings, "FILE_UPLOAD_TEMP_DIR", None) or tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix="sipanah-outline-", dir=folder) as temporary:
        path = Path(temporary) / f"survey{suffix}"  # the user's name stays out of the server's paths
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        try:
            with OutlineSource(path, srid=srid, limits=limits) as source:
                outlines, found = source.header  # type: ignore[misc]
        except ImportFileError as exc:  # BudgetExceeded too: the file named as the user named it
            raise CheckRefused(str(exc).replace(path.name, name)) from None
    if not outlines:
        raise CheckRefused(
            _("%(file)s holds no polygon and no closed line: nothing in it can be a parcel's outline.") % {"file": name}
        )
    shapes = shapely.from_wkb([o.wkb for o in outlines])
    return [(o.label, shape) for o, shape in zip(outlines, shapes, strict=True)], found, name


def _check_file(upload: UploadedFile, crs: str | None, part_of: shapely.Geometry | None, exclude: int | None) -> Answer:
    read, found, name = read_survey_file(upload, crs)
    labels = [label for label, _shape in read]
    shapes = np.asarray([shape for _label, shape in read], dtype=object)
    areas = geo.geodesic_areas_m2(shapes)
    candidates = [
        {"label": label, "geometry": geojson(shape), "area_m2": area}
        for label, shape, area in zip(labels, shapes, areas, strict=True)
    ]
    if len(shapes) == 1:
        answer = Answer(_check(shapes[0], STORAGE_SRID, part_of, exclude), candidates)
    else:
        answer = Answer(CheckResult(), candidates)
        answer.result.error(
            _("%(file)s holds %(count)s outlines: choose the parcel's.") % {"file": name, "count": found}
        )
    if found > MAX_OUTLINES:
        answer.result.error(
            _("Only the first %(max)s of its %(count)s outlines are listed.") % {"max": MAX_OUTLINES, "count": found}
        )
    return answer
