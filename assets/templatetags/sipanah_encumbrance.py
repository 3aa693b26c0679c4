"""Template tags of the encumbrance room: an asset's cases and agreements on its page (the dashboard draws its
revenue and cases charts in assets.audit.dashboard)."""

from __future__ import annotations

from typing import Any

from django import template

from assets.encumbrance import selectors
from assets.register import permissions

register = template.Library()


@register.inclusion_tag("encumbrance/_asset_panel.html", takes_context=True)
def asset_encumbrances(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    return {
        "asset": asset,
        "cases": list(selectors.asset_cases(asset)),
        "utilisations": list(selectors.asset_utilisations(asset)),
        "can_edit": permissions.can_edit_asset(context["request"].user, asset),
    }
