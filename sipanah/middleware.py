"""Sipanah's own middleware (the rest of the stack is Django's and its libraries', sipanah/settings.py)."""

from __future__ import annotations

from django.contrib.auth import middleware as auth_middleware


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, asking the view first: Django 5.2 reads ``request.user`` (a query for the
    user, and the session's) before it looks whether the view is ``login_not_required``. Views that need no login,
    or that check the session themselves (the map's vector tiles, assets.maps.views.asset_tile), then pay nothing
    for a user they do not read. Every other view is redirected to the login page exactly as before."""

    def process_view(self, request, view_func, view_args, view_kwargs):  # noqa: ANN001, ANN201 - Django's signature
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
