"""The alerts app's tables, one module per concern."""

from alerts.models.alerts import Alert, AlertEvent, AlertState
from alerts.models.channels import Channel, ChannelKind, PayloadFormat
from alerts.models.deliveries import DeliveryAttempt, Notification, NotificationKind
from alerts.models.rules import AlertsDashboard, NoData, Operator, Rule, Severity
from alerts.models.silences import MaintenanceWindow, Silence
from alerts.models.sink import ReceivedWebhook

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertState",
    "AlertsDashboard",
    "Channel",
    "ChannelKind",
    "DeliveryAttempt",
    "MaintenanceWindow",
    "Notification",
    "NoData",
    "NotificationKind",
    "Operator",
    "PayloadFormat",
    "ReceivedWebhook",
    "Rule",
    "Severity",
    "Silence",
]
