"""URLs of the encumbrance room (/encumbrance/…): dispute and occupation cases, pemanfaatan and payments."""

from __future__ import annotations

from django.urls import path

from assets.encumbrance import views

urlpatterns = [
    path("cases/", views.case_list, name="encumbrance-cases"),
    path("cases/<int:pk>/", views.case_detail, name="encumbrance-case"),
    path("cases/<int:pk>/edit/", views.case_update, name="encumbrance-case-edit"),
    path("cases/<int:pk>/stage/", views.case_stage, name="encumbrance-case-stage"),
    path("cases/<int:pk>/documents/", views.case_documents, name="encumbrance-case-documents"),
    path("assets/<int:pk>/cases/new/", views.case_create, name="encumbrance-case-new"),
    path("utilisations/", views.utilisation_list, name="encumbrance-utilisations"),
    path("utilisations/<int:pk>/", views.utilisation_detail, name="encumbrance-utilisation"),
    path("utilisations/<int:pk>/edit/", views.utilisation_update, name="encumbrance-utilisation-edit"),
    path("utilisations/<int:pk>/payments/", views.payment_add, name="encumbrance-payment-add"),
    path("assets/<int:pk>/utilisations/new/", views.utilisation_create, name="encumbrance-utilisation-new"),
    path("payments/<int:pk>/", views.payment_record, name="encumbrance-payment"),
    path("revenue.csv", views.revenue_csv, name="encumbrance-revenue-csv"),
    path("cases.csv", views.cases_csv, name="encumbrance-cases-csv"),
]
