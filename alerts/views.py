"""Public endpoints: the acknowledge link in notifications, and the built-in webhook sink."""

from __future__ import annotations

import json

from django.core import signing
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from alerts.acks import acknowledge, read_ack_token
from alerts.models import Alert, Channel, ChannelKind, ReceivedWebhook
from alerts.transports.webhook import SIGNATURE_HEADER, verify

MAX_SINK_BODY = 256 * 1024
KEPT_HEADERS = ("Content-Type", "User-Agent", "X-Signature", "X-Timestamp", "Idempotency-Key")


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
    """Stores what a webhook channel sends to it, if signed with that channel's secret."""
    if int(request.headers.get("Content-Length") or 0) > MAX_SINK_BODY:
        return JsonResponse({"error": f"body larger than {MAX_SINK_BODY} bytes"}, status=413)
    body = request.body
    if len(body) > MAX_SINK_BODY:
        return JsonResponse({"error": f"body larger than {MAX_SINK_BODY} bytes"}, status=413)
    channel = Channel.objects.filter(pk=channel_id, kind=ChannelKind.WEBHOOK).first()
    if channel is None:
        return JsonResponse({"error": "no such webhook channel"}, status=404)
    if not verify(channel.secret, body, request.headers.get(SIGNATURE_HEADER)):
        return JsonResponse({"error": "bad or missing X-Signature"}, status=403)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    key = headers.get("Idempotency-Key", "")[:200]
    if key and ReceivedWebhook.objects.filter(channel=channel, idempotency_key=key).exists():
        return JsonResponse({"ok": True, "duplicate": True})
    ReceivedWebhook.objects.create(
        channel=channel,
        received_at=timezone.now(),
        headers=headers,
        idempotency_key=key,
        body=payload,
    )
    return JsonResponse({"ok": True})
