"""The public map: every Sipanah map's basemaps and boundaries (assets.maps.builders.base_map) with the outline
tiles of the published land, and the click (or the place picking of a report form) of js/sipanah-public.js."""

from __future__ import annotations

import folium
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.translation import gettext as _

from assets.maps import builders


def public_map(*, nonce: str) -> builders.MapParts:
    m = builders.base_map(user=AnonymousUser(), kelurahan=True)
    tile_url = reverse("public-tile", kwargs={"z": 0, "x": 0, "y": 0}).replace("0/0/0.mvt", "{z}/{x}/{y}.mvt")
    builders.OutlineTiles(tile_url, name=_("City land")).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return builders.render_map_parts(m, nonce=nonce)
