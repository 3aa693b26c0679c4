"""Who may use the REST API and the OGC API: the same role rule as the register pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_not_required
from rest_framework.permissions import BasePermission

from assets.register import permissions

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings: no runtime import
    from rest_framework.request import Request
    from rest_framework.views import APIView


class CanViewRegister(BasePermission):
    """Every Sipanah role reads the register; a user without a role or an anonymous client does not.

    Anonymous clients get 401 with ``WWW-Authenticate: Basic`` (the first authentication class),
    so GDAL, QGIS and scripts can answer with credentials or a ``Token`` header.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        return permissions.can_view_register(request.user)


def machine_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Exempt a DRF view from the site's login redirect: it authenticates itself and answers 401."""
    return login_not_required(view)
