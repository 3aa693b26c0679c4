from __future__ import annotations

from django.urls import path

from assets import audit_views

urlpatterns = [
    path("audit/", audit_views.findings_index, name="audit-findings"),
    path("audit/findings/<slug:slug>/", audit_views.finding_detail, name="audit-finding"),
    path("audit/report.xlsx", audit_views.report_xlsx, name="audit-report-xlsx"),
    path("audit/report.pdf", audit_views.report_pdf, name="audit-report-pdf"),
    path("audit/dashboard/", audit_views.dashboard, name="audit-dashboard"),
    path("audit/log/", audit_views.activity_log, name="audit-log"),
    path("assets/<int:pk>/remove/", audit_views.asset_remove, name="asset-remove"),
    path("assets/<int:pk>/restore/", audit_views.asset_restore, name="asset-restore"),
]
