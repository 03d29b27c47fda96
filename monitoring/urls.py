from django.urls import path

from monitoring import api

urlpatterns = [
    path("api/monitoring/overview/", api.OverviewView.as_view(), name="monitoring-overview"),
    path("api/monitoring/endpoints/", api.EndpointsView.as_view(), name="monitoring-endpoints"),
    path("api/monitoring/system/", api.SystemView.as_view(), name="monitoring-system"),
]
