"""The KIB A card's view: thin, the card is built by assets.card.services."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from assets.card import services
from assets.register import permissions
from assets.register.permissions import AuthenticatedRequest, role_required
from assets.register.reads import SelectionError, parse_as_of


@role_required(permissions.can_view_register)  # whoever may open the asset's page may print its card
def asset_card(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        as_of = parse_as_of(request.GET.get("as_of"))
    except SelectionError as exc:
        return render(request, "bad_request.html", {"message": str(exc)}, status=400)
    try:
        asset = services.read_asset(pk, as_of)
    except services.CardNotFound as exc:
        raise Http404(_("No such asset.") if as_of is None else _("No such asset on that date.")) from exc
    url = request.build_absolute_uri(reverse("asset-detail", args=[pk]))
    card = services.build_card(asset, user=request.user, asset_url=url, as_of=as_of)
    response = HttpResponse(services.card_pdf(card), content_type="application/pdf")
    name = f"kib-a-{asset.kode_barang}-{asset.nomor_register}{f'-{as_of.isoformat()}' if as_of else ''}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response
