"""What the transfer room prints in the background (assets.transfer.print_jobs): the printed KIB A."""

from __future__ import annotations

from django.http import QueryDict

from assets.register.models import Agency, User
from assets.register.reads import RegisterSelection, parse_as_of
from assets.transfer import kib_print
from assets.transfer.print_jobs import printer


class KibRequestError(ValueError):
    """A KIB A request that cannot be printed: the message names the parameter."""


def kib_request(params: QueryDict) -> tuple[Agency | None, RegisterSelection, str]:
    """(agency, selection, paper) of a KIB A request: ``agency`` (a code; none: the whole city), ``as_of``,
    ``paper`` (a4, f4). Raises KibRequestError."""
    from django.utils.translation import gettext as _

    from assets.register.reads import SelectionError

    code = (params.get("agency") or "").strip()
    agency = None
    if code:
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            raise KibRequestError(_("Unknown agency %(agency)s.") % {"agency": code})
    paper = params.get("paper", "a4")
    if paper not in kib_print.PAPER_SIZES:
        raise KibRequestError(_("Unknown paper %(paper)s (known: a4, f4).") % {"paper": paper})
    try:
        selection = RegisterSelection.from_params(
            {"agency": agency.code} if agency else {}, as_of=parse_as_of(params.get("as_of"))
        )
    except SelectionError as exc:
        raise KibRequestError(str(exc)) from None
    return agency, selection, paper


@printer("kib-a")
def kib_a(params: QueryDict, user: User) -> tuple[bytes, str]:
    agency, selection, _paper = kib_request(params)
    card = kib_print.build(selection, agency)
    return kib_print.pdf(card), card.file_stem() + ".pdf"
