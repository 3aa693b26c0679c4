from __future__ import annotations

from django.urls import path

from assets.audit import views

urlpatterns = [
    path("audit/", views.findings_index, name="audit-findings"),
    path("audit/findings/<slug:slug>/", views.finding_detail, name="audit-finding"),
    path("audit/report.xlsx", views.report_xlsx, name="audit-report-xlsx"),
    path("audit/report.pdf", views.report_pdf, name="audit-report-pdf"),
    path("audit/dashboard/", views.dashboard_page, name="audit-dashboard"),
    path("audit/log/", views.activity_log, name="audit-log"),
    path("assets/<int:pk>/remove/", views.asset_remove, name="asset-remove"),
    path("assets/<int:pk>/restore/", views.asset_restore, name="asset-restore"),
]
