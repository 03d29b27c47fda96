from django.urls import path

from alerts import api, views

app_name = "alerts"

urlpatterns = [
    path("alerts/ack/<str:token>/", views.acknowledge_link, name="acknowledge"),
    path("alerts/sink/<int:channel_id>/", views.webhook_sink, name="sink"),
    path("api/alerts/status/", api.AlertStatusView.as_view(), name="api-status"),
    path("api/alerts/rules/", api.RuleListView.as_view(), name="api-rules"),
]
