"""Answer a public question "is this the city's land?" for a point, typed coordinates, a kelurahan or a small
parcel file, from the published fields only (assets.public.selectors), and keep the answer for its verification
code (PublicLookup)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry
from django.utils.translation import gettext as _

from assets.public import selectors
from assets.public.models import PublicationPolicy, PublicLookup
from assets.register import geo, place
from assets.register.entry import EntryError, corner_srid
from assets.register.place import STORAGE_SRID

POINT_NEAR_M = 5.0  # a clicked or typed point "touches" land within this distance (a click on a boundary line)
PUBLIC_FILE_BYTES = 2 * 1024 * 1024  # the public pages take one parcel's file, not a register


class LookupRefused(ValueError):
    """The question cannot be answered: the message says what is wrong and where."""


@dataclass(frozen=True)
class Question:
    method: str  # "point", "coordinates", "kelurahan", "file"
    geom: shapely.Geometry  # lon/lat


_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_PAIR = re.compile(rf"^\s*({_NUMBER})\s*[,;\s]\s*({_NUMBER})\s*$")


def _float(text: str) -> float:
    return float(text.replace(",", "."))


def point_question(lon: str | None, lat: str | None) -> Question:
    """A click on the public map: lon/lat in the query string."""
    try:
        x, y = float(lon or ""), float(lat or "")
    except ValueError:
        raise LookupRefused(_("lon and lat must be numbers (degrees).")) from None
    return Question("point", _inside_region(shapely.Point(x, y), STORAGE_SRID, _("the clicked point")))


def coordinates_question(text: str | None, crs: str | None) -> Question:
    """Typed coordinates "x, y" in lon/lat, TM-3 or UTM (one of the city's entry systems)."""
    try:
        srid = corner_srid(crs)
    except EntryError as exc:
        raise LookupRefused(str(exc)) from None
    match = _PAIR.match(text or "")
    if not match:
        raise LookupRefused(
            _("Coordinates: type two numbers separated by a comma or a space (%(example)s).")
            % {"example": "116.8312, -1.2654" if srid == STORAGE_SRID else "472350.5, 9860120.0"}
        )
    x, y = _float(match.group(1)), _float(match.group(2))
    if srid == STORAGE_SRID and abs(x) <= 90 and abs(y) > 90:  # typed "lat, lon": say so rather than guess
        raise LookupRefused(_("Coordinates: give the longitude first, then the latitude (e.g. 116.83, -1.26)."))
    return Question("coordinates", _inside_region(shapely.Point(x, y), srid, place.crs_name(srid)))


def file_question(upload: Any, crs: str | None) -> Question:
    """One parcel's file (GeoJSON, KML, zipped shapefile ...), read by the importer's hostile-file checks."""
    from assets.transfer.outlines import CheckRefused, read_survey_file

    try:
        outlines, found, name = read_survey_file(upload, crs, max_bytes=PUBLIC_FILE_BYTES)
    except CheckRefused as exc:
        raise LookupRefused(str(exc)) from None
    if found != 1:
        raise LookupRefused(
            _("%(file)s holds %(count)s outlines; upload the file of one parcel.") % {"file": name, "count": found}
        )
    shape = outlines[0][1]
    if not shapely.is_valid(shape):
        shape = shapely.make_valid(shape)
    return Question("file", _inside_city(shape, name))


def _inside_region(point: shapely.Geometry, srid: int, label: str) -> shapely.Geometry:
    try:
        lonlat = point if srid == STORAGE_SRID else geo.reproject_to_lonlat(point, srid, label)
    except geo.GeometryError as exc:
        raise LookupRefused(str(exc)) from None
    return _inside_city(lonlat, label)


def _inside_city(geom: shapely.Geometry, label: str) -> shapely.Geometry:
    xmin, ymin, xmax, ymax = geom.bounds
    if not place.city().contains_lonlat(xmin, xmax, ymin, ymax):
        raise LookupRefused(
            _("%(what)s lies outside %(city)s (%(lon).5f, %(lat).5f): check the coordinates and their system.")
            % {"what": label, "city": place.city().name, "lon": xmin, "lat": ymin}
        )
    return geom


def answer(question: Question, policy: PublicationPolicy | None = None) -> PublicLookup:
    """Answer and keep the answer (its code is printed on the PDF)."""
    policy = policy or PublicationPolicy.current()
    geom = question.geom
    probe = geom
    if geom.geom_type == "Point":  # a click: land within a few metres counts (the click on a boundary line)
        probe = geo.from_metric(geo.to_metric(geom).buffer(POINT_NEAR_M, quad_segs=8))
    probe_geos = geo.from_shapely(probe)
    parcels = selectors.parcels_touching(probe_geos, policy)
    asked_area = geo.geodesic_area_m2(geom) if geom.area > 0 else None
    found = []
    for parcel in parcels:
        overlap = shapely.intersection(parcel.outline, geom) if asked_area else None
        found.append(
            {
                "kelurahan": parcel.kelurahan,
                "kode_barang": parcel.kode_barang,
                "certificate_status": parcel.certificate_status,
                "overlap_m2": round(geo.geodesic_area_m2(overlap) or 0.0, 1) if overlap is not None else None,
                "outline": shapely.geometry.mapping(shapely.set_precision(parcel.outline, 1e-6)),
            }
        )
    kelurahan = selectors.kelurahan_at(geo.from_shapely(geom))
    result = {
        "touches": bool(found),
        "kelurahan": kelurahan,
        "asked_area_m2": round(asked_area, 1) if asked_area else None,
        "overlap_m2": round(sum(p["overlap_m2"] or 0.0 for p in found), 1) if asked_area else None,
        "parcels": found,
        "contact": policy.contact,
        "lon": round(geom.centroid.x, 6),
        "lat": round(geom.centroid.y, 6),
    }
    return PublicLookup.objects.create(method=question.method, query_geom=geo.from_shapely(geom), answer=result)


def kelurahan_answer(code: str, policy: PublicationPolicy | None = None) -> dict[str, Any]:
    """The city's published land in one kelurahan: how many parcels and their area."""
    policy = policy or PublicationPolicy.current()
    summary = selectors.kelurahan_summary(code, policy)
    if summary is None:
        raise LookupRefused(_("There is no kelurahan with the code %(code)s.") % {"code": code[:20]})
    xmin, ymin, xmax, ymax = summary.geom.extent
    return {
        "name": summary.name,
        "parcels": summary.parcels,
        "area_m2": round(summary.area_m2, 1),
        "bounds": [ymin, xmin, ymax, xmax],
    }
