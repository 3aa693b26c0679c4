from django.urls import path

from assets import io_views

urlpatterns = [
    path("assets/export/", io_views.asset_export, name="asset-export"),
    path("imports/", io_views.import_list, name="import-list"),
    path("imports/<int:pk>/", io_views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status/", io_views.import_status, name="import-status"),
    path("imports/<int:pk>/file/", io_views.import_file, name="import-file"),
]
