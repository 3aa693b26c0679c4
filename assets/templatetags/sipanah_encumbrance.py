"""Template tags of the encumbrance room: an asset's cases and agreements on its page, the dashboard's section."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from assets.audit import svg
from assets.encumbrance import selectors
from assets.encumbrance.models import CLOSED_STAGES, CaseStage
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


@register.inclusion_tag("encumbrance/_dashboard.html", takes_context=True)
def encumbrance_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    """The audit dashboard's encumbrance section: revenue per year (due vs paid) and open cases by stage and
    kecamatan, each with its CSV."""
    revenue = selectors.revenue_by_year()
    by_kecamatan = selectors.open_cases_by_kecamatan_stage()
    stages = [s for s in CaseStage if s not in CLOSED_STAGES]
    series = [str(s.label) for s in stages]
    cases_chart = svg.bar_chart(
        [(name, [counts.get(s, 0) for s in stages]) for name, counts, _total in by_kecamatan],
        list(zip(series, svg.PALETTE, strict=False)),
        title=gettext("Open cases by kecamatan and stage"),
        empty=gettext("No case."),
    )
    revenue_chart = svg.bar_chart(
        [(str(year), (float(due) / 1e6, float(paid) / 1e6)) for year, due, paid in revenue],
        [(gettext("Due (Rp million)"), svg.PALETTE[1]), (gettext("Paid (Rp million)"), svg.PALETTE[4])],
        title=gettext("Utilisation revenue per year"),
        stacked=False,
        empty=gettext("No payment row."),
    )
    return {
        "request": context["request"],
        "revenue": [(year, due, paid, due - paid) for year, due, paid in revenue],
        "revenue_chart": mark_safe(revenue_chart),  # noqa: S308 - built by assets.audit.svg, which escapes
        "stages": stages,
        "by_kecamatan": [(name, [counts.get(s, 0) for s in stages], total) for name, counts, total in by_kecamatan],
        "cases_chart": mark_safe(cases_chart),  # noqa: S308 - as above
        "can_export": permissions.can_export(context["request"].user),
    }
