from django.urls import path

from assets.transfer import views

urlpatterns = [
    path("assets/export/", views.asset_export, name="asset-export"),
    path("imports/", views.import_list, name="import-list"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status/", views.import_status, name="import-status"),
    path("imports/<int:pk>/file/", views.import_file, name="import-file"),
]
