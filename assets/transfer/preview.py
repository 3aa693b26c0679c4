"""The import page's view of a report (assets.transfer.importing.report holds the data, the same the command line
prints): the map of the file's parcels, the updates and overlaps page by page, the assets an import wrote, and the
column mapping run again or downloaded as the mapping file the command line reads."""

from __future__ import annotations

import json
import math
from typing import Any

import shapely
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from assets.register import selectors
from assets.register.models import User
from assets.transfer import jobs
from assets.transfer.forms import ImportOptionsForm
from assets.transfer.importing.report import ImportReport, overlap_message
from assets.transfer.models import ImportJob

PER_PAGE = 50
MAP_WIDTH, MAP_HEIGHT = 800, 360


def recheck(job: ImportJob, options: ImportOptionsForm, *, user: User) -> ImportJob:
    """Queue the check again with the options chosen; keep the mapping for the agency when asked."""
    mapping = jobs.mapping_from_columns(job, options.chosen())
    data = options.cleaned_data
    jobs.job_recheck(job=job, mapping=mapping, strict=data["strict"], update_mode=data["update_mode"])
    if data.get("save_for"):
        jobs.save_mapping(agency_id=int(data["save_for"]), mapping=mapping, user=user)
    return job


def mapping_download(mapping: dict[str, Any], filename: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"fields": {}, **mapping}, indent=1, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def page(job: ImportJob, report: dict[str, Any], params: QueryDict) -> dict[str, Any]:
    """The template's context for a report: the map, the lists (each paginated by its own parameter)."""
    numbering = ImportReport(numbering=report.get("numbering", "feature"))
    overlaps = [{**o, "message": overlap_message(o, numbering)} for o in report.get("overlaps", [])]
    return {
        "preview_svg": preview_svg(report),
        "changes_page": Paginator(report.get("changes", []), PER_PAGE).get_page(params.get("updates")),
        "overlaps_page": Paginator(overlaps, PER_PAGE).get_page(params.get("overlaps")),
        "errors_page": Paginator(report.get("errors", []), PER_PAGE).get_page(params.get("errors")),
        "created_page": Paginator(report.get("created_assets", []), PER_PAGE).get_page(params.get("created")),
        "unused_columns": [c for c in report.get("columns", []) if c.get("field") is None],
        "has_mapping": bool(job.mapping),
    }


def preview_svg(report: dict[str, Any], width: int = MAP_WIDTH, height: int = MAP_HEIGHT) -> SafeString:
    """The file's parcels drawn as SVG, each its own path (holes and parts included), styled by what it would be:
    new, an update, or in an overlap. Fits a fixed box (no tiles: works offline); longitudes are scaled by the cosine
    of the latitude so that the shapes keep their proportions."""
    items = [{**item, "kind": "register"} for item in report.get("preview_register", [])] + report.get("preview", [])
    overlapping = {o["n"] for o in report.get("overlaps", [])} | {
        o["other_n"] for o in report.get("overlaps", []) if o.get("other_n")
    }
    shapes: list[tuple[dict[str, Any], list[list[list[float]]]]] = []
    for item in items:
        geometry = item.get("geometry") or {}
        coordinates = geometry.get("coordinates", [])
        polygons = coordinates if geometry.get("type") == "MultiPolygon" else [coordinates]
        shapes.append((item, [ring for polygon in polygons for ring in polygon]))
    points = [p for _item, rings in shapes for ring in rings for p in ring]
    if not points:
        return mark_safe("")  # noqa: S308 - empty
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    stretch = math.cos(math.radians((y0 + y1) / 2))
    span_x, span_y = max((x1 - x0) * stretch, 1e-9), max(y1 - y0, 1e-9)
    margin = 12
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def path(rings: list[Any]) -> str:
        return " ".join(
            " ".join(
                f"{'M' if i == 0 else 'L'}{off_x + (x - x0) * stretch * scale:.1f},{off_y + (y1 - y) * scale:.1f}"
                for i, (x, y, *_z) in enumerate(ring)
            )
            + " Z"
            for ring in rings
        )

    # the kecamatan and kelurahan around the parcels, from Sipanah's own data (no basemap needed)
    seen = (x0 - width / scale, y0 - height / scale, x1 + width / scale, y1 + height / scale)
    styles = (("kelurahan", 'stroke-width="0.8" stroke-dasharray="5 4"'), ("kecamatan", 'stroke-width="2"'))
    tolerance = max(x1 - x0, y1 - y0, 1e-6) / 500
    areas = [
        f'<path class="{level}" d="{path([ring])}" {style}/>'
        for level, style in styles
        for ring in _boundary_rings(level, seen, tolerance=tolerance)
    ]
    paths = []
    for item, rings in shapes:
        d = path(rings)
        kind = item.get("kind", "new")
        if kind != "register" and item.get("n") in overlapping:
            kind = "overlap"
        title = (
            numbering_label(report, item)
            if kind != "register"
            else _("Register: %(asset)s") % {"asset": item.get("label", "")}
        )
        paths.append(
            f'<path class="parcel parcel--{escape(kind)}" d="{d}" fill-rule="evenodd" '
            f'vector-effect="non-scaling-stroke" data-n="{int(item.get("n", 0))}"><title>{escape(title)}</title></path>'
        )
    label = escape(_("Map of the parcels in the file"))
    return mark_safe(  # noqa: S308 - numbers, and labels escaped above
        f'<svg class="import-preview" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-label="{label}"><g fill="none" stroke="#78909c" vector-effect="non-scaling-stroke">'
        f"{''.join(areas)}</g>{''.join(paths)}</svg>"
    )


def _boundary_rings(level: str, bbox: tuple[float, float, float, float], *, tolerance: float) -> list[Any]:
    """The outer rings of the administrative areas of ``level`` that touch ``bbox`` (lon/lat), simplified."""
    box = shapely.box(*bbox)
    rings = []
    for area in selectors.area_shapes(level):
        if not shapely.intersects(area.geom, box):
            continue
        geom = shapely.simplify(area.geom, tolerance)
        for polygon in getattr(geom, "geoms", [geom]):
            if polygon.geom_type == "Polygon":
                rings.append(list(polygon.exterior.coords))
    return rings


def numbering_label(report: dict[str, Any], item: dict[str, Any]) -> str:
    place = ImportReport(numbering=report.get("numbering", "feature")).place(int(item.get("n", 0)))
    return f"{place}: {item.get('label', '')}"
