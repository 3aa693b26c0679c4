from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from assets.maps.urls import tile_urlpatterns
from assets.ops.views import healthz

urlpatterns = [
    *tile_urlpatterns,  # first: the most frequent request (assets/maps/urls.py)
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The language switch works before login too (the login page offers it).
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("assets.urls")),
]
