"""The site map: each room's pages under its prefix. URL names stay flat (templates and tests reverse them by name);
the vector tiles are routed first, in sipanah/urls.py."""

from django.urls import include, path

from assets.interop.ogc import urls as ogc_urls
from assets.public.urls import staff_patterns as public_staff_patterns
from assets.transfer.urls import export_patterns, geometry_patterns

urlpatterns = [
    path("", include("assets.register.urls")),  # home, /assets/…, /certificates/…
    path("assets/", include("assets.card.urls")),  # the KIB A card: /assets/<id>/card.pdf
    path("assets/export/", include(export_patterns)),
    path("assets/geometry/check/", include(geometry_patterns)),  # transfer: a survey file is read by the importer
    path("imports/", include("assets.transfer.urls")),
    path("evidence/", include("assets.evidence.urls")),
    path("ledger/", include("assets.ledger.urls")),
    path("encumbrance/", include("assets.encumbrance.urls")),
    path("map/", include("assets.maps.urls")),
    path("query/", include("assets.query.urls")),
    path("audit/", include("assets.audit.urls")),
    path("api/v1/", include("assets.interop.urls")),
    *ogc_urls.landing,  # /ogc/ and /ogc: every OGC path answers with and without its final slash (QGIS)
    path("ogc/", include("assets.interop.ogc.urls")),
    path("publik/", include("assets.public.urls")),  # Cek Tanah: the public pages, no login
    path("public-reports/", include(public_staff_patterns)),
    path("field/", include("assets.field.urls")),  # inventory campaigns and the field app (PWA)
    path("field/", include("assets.followup.urls")),  # a case or a pemanfaatan check from a field result
]
