"""{% asset_map asset %}: the detail page's map (the asset, its neighbours faint), with its links inline."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from assets.maps import builders
from assets.register.models import LandAsset

register = template.Library()


@register.simple_tag(takes_context=True)
def asset_map(context: template.Context, asset: LandAsset) -> SafeString:
    request = context["request"]
    parts = builders.detail_map(asset, user=request.user, choice=request.GET.get("basemap"), nonce=request.csp_nonce)
    if parts is None:
        return mark_safe("")
    # Links, the map div and its script in one place: this tag is the only map on the page.
    return mark_safe(f'{parts.head}<div class="map-frame map-frame--detail">{parts.body}</div>{parts.script}')  # noqa: S308
