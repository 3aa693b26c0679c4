"""The source CRS of an import: declared by the file, named by the user (EPSG code or WKT, checked by pyproj), or
refused when the coordinates cannot be in it (swapped lat/lon, projected metres read as degrees), naming the
city's systems."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from django.utils.translation import gettext as _
from osgeo import ogr, osr

from assets.register import geo, place
from assets.register.kib import normalise_name
from assets.transfer.importing.report import ImportFileError, ImportReport, out_of_memory


@dataclass(frozen=True)
class SourceCRS:
    srs: Any  # osr.SpatialReference, axis order lon/lat (traditional GIS order)
    label: str
    epsg: int | None
    geographic: bool


def parse_user_crs(value: str) -> SourceCRS:
    """An EPSG code (``23837``, ``EPSG:23837``) or custom WKT (a string or a .prj file), checked by pyproj first."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = value.strip()
    if text and Path(text).suffix.lower() in (".prj", ".wkt") and Path(text).exists():
        text = Path(text).read_text(encoding="utf-8", errors="replace").strip()
    code = re.fullmatch(r"(?:EPSG:)?(\d{4,6})", text, flags=re.IGNORECASE)
    try:
        # pyproj first: it gives a clear message, where a bad WKT handed to GDAL can only say "corrupt data".
        crs = CRS.from_epsg(int(code.group(1))) if code else CRS.from_wkt(text)
    except CRSError as exc:
        raise ImportFileError(
            _("%(value)s is not a coordinate reference system pyproj knows: %(error)s")
            % {"value": value[:80], "error": exc}
        ) from exc
    srs = osr.SpatialReference()
    srs.ImportFromWkt(crs.to_wkt())
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    epsg = crs.to_epsg()
    return SourceCRS(srs, f"EPSG:{epsg}" if epsg else crs.name, epsg, bool(crs.is_geographic))


def _describe_srs(srs: Any) -> SourceCRS:
    srs = srs.Clone()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    epsg = None
    with contextlib.suppress(RuntimeError):  # raises when the CRS matches no EPSG code: a custom WKT
        srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None)
    if code and (srs.GetAuthorityName(None) or "").upper() == "EPSG":
        epsg = int(code)
    else:
        try:
            matches = srs.FindMatches()
        except RuntimeError:
            matches = []
        if matches and matches[0][1] >= 90 and matches[0][0].GetAuthorityCode(None):
            epsg = int(matches[0][0].GetAuthorityCode(None))
    label = f"EPSG:{epsg}" if epsg else (srs.GetName() or _("custom WKT"))
    return SourceCRS(srs, label, epsg, bool(srs.IsGeographic()))


def resolve_crs(layer: Any, user_crs: str | None, report: ImportReport) -> SourceCRS:
    here = place.city()
    declared = layer.GetSpatialRef()
    try:
        extent = layer.GetExtent() if layer.GetGeomType() != ogr.wkbNone else None
    except RuntimeError as exc:
        if out_of_memory(exc):  # not "no extent": the reading is over (assets.transfer.importing.sandbox)
            raise
        extent = None
    named = re.search(r"epsg_?(\d{4,6})", normalise_name(layer.GetGeometryColumn() or ""))
    if not user_crs and declared is None and named:
        user_crs = named.group(1)  # our CSV exports name the CRS in the geometry column: wkt_epsg_4326
    if user_crs:
        crs = parse_user_crs(user_crs)
        if declared is not None:
            described = _describe_srs(declared)
            if described.epsg != crs.epsg:
                report.warnings.append(
                    _("The file declares %(declared)s; %(named)s was used as you asked.")
                    % {"declared": described.label, "named": crs.label}
                )
    elif declared is not None:
        crs = _describe_srs(declared)
    elif extent is None:
        crs = SourceCRS(None, "", None, True)  # no geometry column: nothing to transform
    else:
        lonlat_possible = extent[0] >= -180 and extent[1] <= 180 and extent[2] >= -90 and extent[3] <= 90
        hint = (
            _("the coordinates look like longitude/latitude (EPSG:4326)")
            if lonlat_possible
            else _("the coordinates cannot be longitude/latitude; in %(city)s try %(systems)s")
            % {"city": here.name, "systems": here.suggested_systems()}
        )
        raise ImportFileError(
            _("The file declares no coordinate reference system: name one with --srid (%(hint)s).") % {"hint": hint}
        )
    report.crs = crs.label
    if crs.geographic and extent is not None and crs.srs is not None:
        xmin, xmax, ymin, ymax = extent
        swapped = (ymin, ymax, xmin, xmax)
        if here.contains_lonlat(*swapped) and not here.contains_lonlat(*extent):
            raise ImportFileError(
                _(
                    "Latitude and longitude are swapped: the coordinates (x %(xmin).5f…%(xmax).5f, y %(ymin).5f…"
                    "%(ymax).5f) fall in %(city)s only when swapped. Export the file as longitude, latitude."
                )
                % {"xmin": xmin, "xmax": xmax, "ymin": ymin, "ymax": ymax, "city": here.name}
            )
        if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
            raise ImportFileError(
                _(
                    "The coordinates (x %(xmin).0f…%(xmax).0f, y %(ymin).0f…%(ymax).0f) cannot be longitude/latitude "
                    "as %(crs)s says: the file's CRS is missing or wrong. Name the right one with --srid; in "
                    "%(city)s: %(systems)s."
                )
                % {
                    "xmin": xmin,
                    "xmax": xmax,
                    "ymin": ymin,
                    "ymax": ymax,
                    "crs": crs.label,
                    "city": here.name,
                    "systems": here.suggested_systems(),
                }
            )
    if extent is not None and crs.srs is not None:
        _refuse_outside_region(extent, crs)
    if crs.epsg is not None and crs.epsg not in here.accepted_epsg:
        report.warnings.append(
            _("%(crs)s is not a CRS used in %(city)s; the parcels were transformed from it as declared.")
            % {"crs": crs.label, "city": here.name}
        )
    return crs


def _refuse_outside_region(extent: tuple[float, float, float, float], crs: SourceCRS) -> None:
    """A file whose whole extent lands outside the region once reprojected was given in the wrong CRS: refused as a
    whole, naming the CRS that would put it in the city. Each parcel is checked too (assets.register.geo), so a few
    far-off parcels in a good file are errors of their own, and coordinates that do not reproject are left to it."""
    xmin, xmax, ymin, ymax = extent
    if xmin == xmax == ymin == ymax == 0:
        return  # GDAL's extent of a layer whose features have no geometry
    source: int | str = crs.epsg if crs.epsg is not None else crs.srs.ExportToWkt()
    corners = shapely.MultiPoint([(xmin, ymin), (xmin, ymax), (xmax, ymin), (xmax, ymax)])
    try:
        lonlat = geo.reproject_to_lonlat(corners, source, crs.label)
    except Exception:  # noqa: BLE001 - GeometryError or PROJ's own (no common class): each parcel's check words it
        return
    lon_min, lat_min, lon_max, lat_max = lonlat.bounds
    west, south, east, north = place.city().region_bbox
    if lon_max < west or lon_min > east or lat_max < south or lat_min > north:
        raise ImportFileError(
            geo.outside_region_message(
                (lon_min + lon_max) / 2, (lat_min + lat_max) / 2, crs.epsg, crs.label, (xmin, ymin, xmax, ymax)
            )
        )


def wkt_column_crs(
    columns: list[str], plan: dict[str, int | str], user_crs: str | None, report: ImportReport
) -> SourceCRS:
    """The CRS of geometry given as WKT in a plain column (XLSX): named by the user or in the column's name."""
    named = re.search(r"epsg_?(\d{4,6})", normalise_name(columns[plan["wkt"]]) if isinstance(plan["wkt"], int) else "")
    if not user_crs and not named:
        raise ImportFileError(
            _("The geometry column %(column)s declares no coordinate reference system: name one with --srid "
              "(in %(city)s: EPSG:4326 for longitude/latitude, or %(systems)s).")
            % {"column": report.mapping.get("wkt", "?"), "city": place.city().name,
               "systems": place.city().suggested_systems()}
        )  # fmt: skip
    crs = parse_user_crs(user_crs or named.group(1))  # type: ignore[union-attr]
    report.crs = crs.label
    return crs
