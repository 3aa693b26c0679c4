from __future__ import annotations

from django.urls import path

from assets import map_views

urlpatterns = [
    path("map/", map_views.asset_map, name="asset-map"),
    path("map/totals/", map_views.map_totals, name="map-totals"),
    path("map/assets/<int:pk>/popup/", map_views.asset_popup, name="map-asset-popup"),
    path("tiles/assets/<int:z>/<int:x>/<int:y>.pbf", map_views.asset_tile, name="asset-tile"),
]
