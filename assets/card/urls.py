"""URLs of the card room, under /assets/ (assets/urls.py)."""

from __future__ import annotations

from django.urls import path

from assets.card import views

urlpatterns = [
    path("<int:pk>/card.pdf", views.asset_card, name="asset-card"),
]
