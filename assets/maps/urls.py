"""URLs of the map page (under /map/) and of the vector tiles (under /tiles/, first in sipanah/urls.py)."""

from __future__ import annotations

from django.urls import path

from assets.maps import views

urlpatterns = [
    path("", views.asset_map, name="asset-map"),
    path("totals/", views.map_totals, name="map-totals"),
    path("basemap/", views.remember_basemap, name="map-basemap"),
    path("boundaries/", views.boundaries, name="map-boundaries"),
    path("assets/<int:pk>/popup/", views.asset_popup, name="map-asset-popup"),
]

# The vector tiles come first in sipanah/urls.py: a map asks for dozens of them per view, and Django tries the URL
# patterns in order (behind nearly every other route, finding the tile's took about as long as the tile view's code).
tile_urlpatterns = [
    path("tiles/assets/<int:z>/<int:x>/<int:y>.pbf", views.asset_tile, name="asset-tile"),
    path("tiles/encumbrances/<int:z>/<int:x>/<int:y>.pbf", views.encumbrance_tile, name="encumbrance-tile"),
]
