"""The basemaps of the maps and each user's choice among them: the one place every map (and the asset form's
parcel widget) asks which basemap to draw.

The basemaps come from settings (``SIPANAH_BASEMAP_URL`` or ``SIPANAH_BASEMAPS``, checked by sipanah/basemaps.py);
a user's choice is ``User.map_basemap``, set when they switch base layer on any map (``remember``). Every map is
useful without a basemap: boundaries and parcels come from Sipanah's own data.

For the parcel widget (assets/register/forms.py)::

    from assets.register.basemaps import basemap_for
    basemap = basemap_for(request.user)   # None: draw without a basemap and show the one-line note
    if basemap and basemap.kind == "xyz": ol.source.XYZ({url: basemap.url})
    if basemap and basemap.kind == "wms": ol.source.TileWMS({url: basemap.url, params: basemap.wms_params()})

``basemap.as_json()`` is what a script needs (kind, url, name, attribution, and the WMS parameters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from assets.register.models import User
from sipanah import basemaps as config

NONE = config.NONE_KEY  # the "no basemap" choice


@dataclass(frozen=True)
class Basemap:
    key: str  # what a user's choice stores
    name: str  # shown in the layer control
    kind: str  # "xyz" or "wms"
    url: str  # XYZ: tile template with {z}/{x}/{y}; WMS: the service address
    attribution: str
    layers: str = ""  # WMS only
    format: str = "image/png"
    version: str = "1.1.1"
    styles: str = ""
    transparent: bool = False

    def wms_params(self) -> dict[str, Any]:
        """The GetMap parameters a WMS client adds to ``url`` (besides bbox, width, height and the CRS)."""
        return {
            "layers": self.layers,
            "format": self.format,
            "version": self.version,
            "styles": self.styles,
            "transparent": self.transparent,
        }

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def catalogue() -> tuple[Basemap, ...]:
    """The configured basemaps, in the order of the settings (the first is the default); empty for none."""
    entries = config.catalogue(
        json_text=settings.SIPANAH_BASEMAPS,
        url=settings.SIPANAH_BASEMAP_URL,
        attribution=settings.SIPANAH_BASEMAP_ATTRIBUTION,
        name=settings.SIPANAH_BASEMAP_NAME or _("Basemap"),
    )
    return tuple(Basemap(**entry) for entry in entries)


def choice_of(user: Any) -> str:
    """The user's choice as a key of ``catalogue()`` or ``NONE``: the stored one while it is still configured,
    else the first basemap (``NONE`` when there is none)."""
    available = catalogue()
    stored = getattr(user, "map_basemap", "") or ""
    if stored == NONE or not available:
        return NONE
    keys = [b.key for b in available]
    return stored if stored in keys else keys[0]


def basemap_for(user: Any, choice: str | None = None) -> Basemap | None:
    """The basemap to draw for ``user`` (``choice`` overrides the stored one); None: no basemap, because none is
    configured or the user chose none."""
    key = choice if choice is not None else choice_of(user)
    return next((b for b in catalogue() if b.key == key), None)


def remember(user: Any, choice: str) -> None:
    """Store the user's choice (a basemap's key or ``NONE``); ValueError naming the choice if it is neither."""
    if choice != NONE and choice not in {b.key for b in catalogue()}:
        raise ValueError(_("There is no basemap %(choice)s.") % {"choice": repr(choice)[:60]})
    if getattr(user, "map_basemap", None) != choice:
        User.objects.filter(pk=user.pk).update(map_basemap=choice)
        user.map_basemap = choice
