"""URLs of the ledger room (/ledger/…): reconciliation runs with the official BMD register."""

from __future__ import annotations

from django.urls import path

from assets.ledger import views

urlpatterns = [
    path("", views.run_list, name="ledger-runs"),
    path("runs/<int:pk>/", views.run_detail, name="ledger-run"),
    path("runs/<int:pk>/status/", views.run_status, name="ledger-run-status"),
    path("runs/<int:pk>/berita-acara.pdf", views.run_pdf, name="ledger-run-pdf"),
    path("runs/<int:pk>/berita-acara.xlsx", views.run_xlsx, name="ledger-run-xlsx"),
    path("lines/<int:pk>/", views.item_detail, name="ledger-item"),
    path("compare/", views.compare, name="ledger-compare"),
]

urlpatterns += [
    path("transfers/", views.transfer_list, name="ledger-transfers"),
    path("transfers/report.xlsx", views.transfer_xlsx, name="ledger-transfers-xlsx"),
    path("transfers/new/<int:asset>/", views.transfer_propose, name="ledger-transfer-propose"),
    path("transfers/<int:pk>/", views.transfer_detail, name="ledger-transfer"),
]
urlpatterns += [path("opening-balance/", views.opening_balance, name="ledger-opening-balance")]
urlpatterns += [path("assets/<int:asset>/sub-unit/", views.asset_sub_unit, name="ledger-asset-sub-unit")]
