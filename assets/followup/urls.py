"""/field/results/<id>/…: a dispute case or a pemanfaatan check opened from a field result."""

from django.urls import path

from assets.followup import views

urlpatterns = [
    path("results/<int:pk>/case/", views.result_case, name="field-result-case"),
    path("results/<int:pk>/pemanfaatan/", views.result_utilisation, name="field-result-utilisation"),
]
