"""{% asset_map asset %}: the detail page's map (the asset, its neighbours faint), with its links inline."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from assets.evidence import selectors as evidence
from assets.evidence.services import PHOTO_FAR_M
from assets.maps import builders
from assets.register import permissions
from assets.register.models import LandAsset

register = template.Library()


@register.simple_tag(takes_context=True)
def asset_map(context: template.Context, asset: LandAsset) -> SafeString:
    request = context["request"]
    photos = []
    if permissions.can_view_asset_documents(request.user, asset):  # photo positions are the documents' own data
        photos = [
            builders.PhotoPoint(
                lon=doc.photo_lon,
                lat=doc.photo_lat,
                direction=doc.photo_direction,
                label=f"{doc.original_name}" + (f" ({doc.photo_distance_m:.0f} m)" if doc.photo_distance_m else ""),
                far=(doc.photo_distance_m or 0) > PHOTO_FAR_M,
            )
            for doc in evidence.photo_points(asset)
        ]
    parts = builders.detail_map(
        asset, user=request.user, choice=request.GET.get("basemap"), nonce=request.csp_nonce, photos=photos
    )
    if parts is None:
        return mark_safe("")
    # Links, the map div and its script in one place: this tag is the only map on the page.
    return mark_safe(f'{parts.head}<div class="map-frame map-frame--detail">{parts.body}</div>{parts.script}')  # noqa: S308
