"""Public endpoints: the acknowledge link in notifications, and the built-in webhook sink."""

from __future__ import annotations

from django.core import signing
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from alerts import sink
from alerts.acks import acknowledge, read_ack_token
from alerts.models import Alert


@require_http_methods(["GET", "POST"])
def acknowledge_link(request, token):
    """GET shows the alert and a button; only the POST acknowledges (mail scanners GET links)."""
    try:
        alert = Alert.objects.select_related("rule").get(pk=read_ack_token(token))
    except (signing.BadSignature, Alert.DoesNotExist, ValueError, KeyError):
        return render(request, "alerts/acknowledge.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        done = acknowledge(alert, by="notification link")
        alert.refresh_from_db()
    return render(request, "alerts/acknowledge.html", {"alert": alert, "done": done})


@csrf_exempt
@require_POST
def webhook_sink(request, channel_id):
    """Stores what a webhook channel sends to it: see alerts/sink.py for what is accepted."""
    throttle = sink.SinkThrottle()
    if not throttle.allow_request(request, None):
        response = JsonResponse({"error": "too many messages; slow down"}, status=429)
        response["Retry-After"] = str(int(throttle.wait() or 1))
        return response
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return JsonResponse({"error": "Content-Length is not a number"}, status=400)
    if length > sink.MAX_BODY:
        return JsonResponse({"error": f"body larger than {sink.MAX_BODY} bytes"}, status=413)
    try:
        return JsonResponse(sink.receive(channel_id, request.body, request.headers))
    except sink.Refused as refused:
        return JsonResponse({"error": str(refused)}, status=refused.status)
