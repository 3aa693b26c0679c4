"""URLs of the evidence room (/evidence/…): uploads, files, withdrawals, custody of originals."""

from __future__ import annotations

from django.urls import path

from assets.evidence import views

urlpatterns = [
    path("assets/<int:pk>/upload/", views.document_upload, name="document-upload"),
    path("documents/<int:pk>/file/", views.document_file, name="document-file"),
    path("documents/<int:pk>/view/", views.document_view, name="document-view"),
    path("documents/<int:pk>/thumbnail/", views.document_thumbnail, name="document-thumbnail"),
    path("documents/<int:pk>/withdraw/", views.document_withdraw, name="document-withdraw"),
    path("certificates/<int:pk>/custody/", views.certificate_custody, name="certificate-custody"),
    path("custody/<int:pk>/receipt.pdf", views.custody_receipt, name="custody-receipt"),
    path("loans/", views.loans, name="custody-loans"),
]
