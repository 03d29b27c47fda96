from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from config.metrics import metrics_view
from config.views import healthz

# Under /api/ errors are JSON too, even those Django answers before any API view runs.
handler400 = "config.api.bad_request"
handler403 = "config.api.permission_denied"
handler404 = "config.api.not_found"
handler500 = "config.api.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Each app owns its URLs (APIs, beacon endpoint, demo pages).
    path("", include("monitoring.urls")),
    path("", include("rum.urls")),
    path("", include("dataquality.urls")),
    path("", include("alerts.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
