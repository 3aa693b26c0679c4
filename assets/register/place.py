"""The city whose land Sipanah registers: its name, centre, extent, coordinate systems and basemap, in one place.

Everything comes from settings (``SIPANAH_CITY``, ``SIPANAH_AREA_SRID``, ``SIPANAH_BASEMAP_URL``), read when asked
(tests override settings), so another city is a settings change. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, cast

from django.conf import settings
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from assets.register.basemaps import Basemap

STORAGE_SRID = 4326  # every geometry is stored in lon/lat (WGS84); see assets.register.geo


class CitySettings(TypedDict):
    """``settings.SIPANAH_CITY``: what sipanah/settings.py (or a test's override) gives for the city."""

    name: str
    government: str
    office: str
    office_full: str
    office_address: str
    signing_place: str
    kemendagri_code: str
    center: Sequence[float]  # lat, lon
    zoom: int
    bbox: Sequence[float]  # west, south, east, north
    region: str
    region_bbox: Sequence[float]
    accepted_epsg: Sequence[int]
    suggested_epsg: Sequence[tuple[int, str]]
    export_srids: Sequence[int]


@dataclass(frozen=True)
class City:
    name: str  # "Kota Balikpapan"
    government: str  # "Pemerintah Kota Balikpapan": the holder (atas nama) of the city's certificates
    office: str  # "BPKAD Kota Balikpapan": who runs the register
    office_full: str  # "Badan Pengelolaan Keuangan dan Aset Daerah": the letterhead's office line
    office_address: str  # the letterhead's address line
    signing_place: str  # "Balikpapan": the place before the date above a signature block
    kemendagri_code: str
    center: tuple[float, float]  # (lat, lon) of the maps' first view
    zoom: int
    bbox: tuple[float, float, float, float]  # (west, south, east, north) in lon/lat, with a margin
    region: str  # "Indonesia": where any parcel the city holds can lie
    region_bbox: tuple[float, float, float, float]  # its lon/lat extent, with a margin
    accepted_epsg: tuple[int, ...]
    suggested_epsg: tuple[tuple[int, str], ...]
    export_srids: tuple[int, ...]
    area_srid: int  # metric CRS for planar work (overlap ranking, buffers, nearest distances)
    basemap_url: str  # the first XYZ basemap's tile template; "" for none (every basemap: assets.register.basemaps)
    basemap_attribution: str

    def suggested_systems(self) -> str:
        """ "TM-3 zone 50.1 = EPSG:23837, UTM 50S = EPSG:23880 or EPSG:32750": what the error messages suggest."""
        items = [f"{name} = EPSG:{code}" for code, name in self.suggested_epsg]
        if len(items) < 2:
            return "".join(items)
        return _("%(first)s or %(last)s") % {"first": ", ".join(items[:-1]), "last": items[-1]}

    def entry_srids(self) -> tuple[int, ...]:
        """The CRS a corner list may be typed in: lon/lat first, then the city's projected systems (TM-3, UTM)."""
        return tuple(dict.fromkeys((STORAGE_SRID, *(code for code, _name in self.suggested_epsg))))

    def export_choices(self) -> list[tuple[int, str]]:
        """(EPSG code, name) of each CRS the exports offer."""
        return [(srid, crs_name(srid)) for srid in self.export_srids]

    def contains_lonlat(self, xmin: float, xmax: float, ymin: float, ymax: float) -> bool:
        """Whether a lon/lat extent lies inside the city's extent."""
        west, south, east, north = self.bbox
        return west <= xmin and xmax <= east and south <= ymin and ymax <= north

    def region_contains_lonlat(self, xmin: float, xmax: float, ymin: float, ymax: float) -> bool:
        """Whether a lon/lat extent lies inside the region where the city's parcels can lie."""
        west, south, east, north = self.region_bbox
        return west <= xmin and xmax <= east and south <= ymin and ymax <= north


def city() -> City:
    """The city of this deployment, from settings."""
    conf = cast(CitySettings, settings.SIPANAH_CITY)  # a plain dict literal in settings: its values read as object
    lat, lon = conf["center"]
    west, south, east, north = conf["bbox"]
    r_west, r_south, r_east, r_north = conf["region_bbox"]
    first = _first_xyz()
    return City(
        name=conf["name"],
        government=conf["government"],
        office=conf["office"],
        office_full=conf.get("office_full", conf["office"]),
        office_address=conf.get("office_address", ""),
        signing_place=conf.get("signing_place", conf["name"]),
        kemendagri_code=conf["kemendagri_code"],
        center=(lat, lon),
        zoom=int(conf["zoom"]),
        bbox=(west, south, east, north),
        region=conf["region"],
        region_bbox=(r_west, r_south, r_east, r_north),
        accepted_epsg=tuple(conf["accepted_epsg"]),
        suggested_epsg=tuple((int(code), str(name)) for code, name in conf["suggested_epsg"]),
        export_srids=tuple(conf["export_srids"]),
        area_srid=settings.SIPANAH_AREA_SRID,
        basemap_url=first.url if first else "",
        basemap_attribution=first.attribution if first else "",
    )


def area_srid() -> int:
    """The metric CRS for planar work in the city (``SIPANAH_AREA_SRID``)."""
    return settings.SIPANAH_AREA_SRID


def overlap_tolerance_m2() -> float:
    """Two parcels sharing at most this many m² do not overlap: survey slivers (``SIPANAH_OVERLAP_TOLERANCE_M2``)."""
    return float(settings.SIPANAH_OVERLAP_TOLERANCE_M2)


def basemap_url() -> str:
    """The first configured XYZ basemap's tile template (``SIPANAH_BASEMAP_URL`` or the first XYZ entry of
    ``SIPANAH_BASEMAPS``); empty: none. The Leaflet maps offer every basemap and follow each user's choice
    (``assets.register.basemaps.basemap_for``)."""
    first = _first_xyz()
    return first.url if first else ""


def _first_xyz() -> Basemap | None:
    from assets.register import basemaps  # here: basemaps imports the models, which import this module

    return next((b for b in basemaps.catalogue() if b.kind == "xyz"), None)


def crs_name(srid: int) -> str:
    """A CRS as people in the city name it: "TM-3 zone 50.1 (EPSG:23837)", "lon/lat (EPSG:4326)"."""
    names = dict(city().suggested_epsg)
    if srid == STORAGE_SRID:
        return _("longitude/latitude (EPSG:%(srid)s)") % {"srid": srid}
    return f"{names[srid]} (EPSG:{srid})" if srid in names else f"EPSG:{srid}"
