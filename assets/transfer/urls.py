"""URLs of import and export: the import log with upload, preview and confirmation (under /imports/), and the
register's export (under /assets/export/)."""

from __future__ import annotations

from django.urls import path

from assets.transfer import views

urlpatterns = [
    path("", views.import_list, name="import-list"),
    path("<int:pk>/", views.import_detail, name="import-detail"),
    path("<int:pk>/status/", views.import_status, name="import-status"),
    path("<int:pk>/file/", views.import_file, name="import-file"),
    path("<int:pk>/mapping.json", views.import_mapping, name="import-mapping"),
    path("mappings/<int:agency>.json", views.agency_mapping, name="agency-mapping"),
]
export_patterns = [
    path("", views.asset_export, name="asset-export"),
    path("kib-a/", views.kib_a_export, name="kib-a-export"),  # the printed KIB A (XLSX, PDF)
    path("prints/<int:pk>/", views.print_job, name="print-job"),  # long printed outputs, printed by the worker
    path("prints/<int:pk>/file/", views.print_job_file, name="print-job-file"),
]
geometry_patterns = [path("", views.geometry_check, name="geometry_check")]  # the parcel widget's check
