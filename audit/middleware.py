"""Attributes what a request changes to its user and client address (after authentication)."""

from config import audit


class AuditActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit.acting(audit.request_actor(request)):
            return self.get_response(request)
