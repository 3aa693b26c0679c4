"""URLs of the audit pages (under /audit/): findings, the report, the dashboard and the activity log."""

from __future__ import annotations

from django.urls import path

from assets.audit import views

urlpatterns = [
    path("", views.findings_index, name="audit-findings"),
    path("findings/<slug:slug>/", views.finding_detail, name="audit-finding"),
    path("report.xlsx", views.report_xlsx, name="audit-report-xlsx"),
    path("report.pdf", views.report_pdf, name="audit-report-pdf"),
    path("dashboard/", views.dashboard_page, name="audit-dashboard"),
    path("dashboard/charts/<slug:slug>.svg", views.dashboard_chart_svg, name="audit-dashboard-svg"),
    path("dashboard/numbers.xlsx", views.dashboard_xlsx, name="audit-dashboard-xlsx"),
    path("log/", views.activity_log, name="audit-log"),
]
