"""Template tags of the audit module: an asset's change timeline and its removal actions."""

from __future__ import annotations

from typing import Any

from django import template

from assets.audit import activity
from assets.register import permissions

register = template.Library()

TIMELINE_LIMIT = 200


@register.inclusion_tag("audit/_asset_timeline.html", takes_context=True)
def asset_timeline(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    user = context["request"].user
    return {
        "asset": asset,
        "entries": activity.activity_log(activity.LogFilter(asset_id=asset.pk), limit=TIMELINE_LIMIT),
        "limit": TIMELINE_LIMIT,
        "can_remove": asset.removed_at is None and permissions.can_edit_asset(user, asset),
        "can_restore": asset.removed_at is not None and permissions.can_restore_asset(user),
        "show_asset_links": False,
    }
