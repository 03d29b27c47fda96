"""The OpenAPI schema lists the refusals each operation can answer, with their bodies.

Derived from what the view is: a query string or a body can be refused (400, 413,
414, 415), a path id can be unknown (404), permissions can refuse (401 when an
authenticator asks for credentials, else 403), a throttle can refuse (429). A view's
own `@extend_schema(responses=...)` wins for any code it names.

Strings DRF refuses when blank are trimmed first, so "   " is refused too: the schema
says so with a pattern (when the field has none of its own).
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from config.api import MAX_QUERY_STRING, ErrorSerializer, FieldErrorsSerializer


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, (serializer, description) in self.refusals(operation).items():
            if code not in responses:
                ref = self.resolve_serializer(serializer, "response").ref
                responses[code] = {
                    "content": {"application/json": {"schema": ref}},
                    "description": description,
                }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if (
            isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
            and "pattern" not in schema
            and schema.get("type") == "string"
        ):
            schema["pattern"] = r"\S"  # something besides whitespace

    def refusals(self, operation) -> dict:
        where = {p["in"] for p in operation.get("parameters", [])}
        body = "requestBody" in operation
        view = self.view
        found = {}
        if "query" in where or body:
            found["400"] = (FieldErrorsSerializer, "Invalid parameters or body: errors per field.")
        if view.get_authenticate_header(view.request):
            found["401"] = (ErrorSerializer, "Not authenticated.")
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            found["403"] = (ErrorSerializer, "Not logged in, or not allowed to do this.")
        if "path" in where:
            found["404"] = (ErrorSerializer, "Nothing with this id.")
        if body:
            found["413"] = (ErrorSerializer, "The body is too large.")
            found["415"] = (ErrorSerializer, "The body is not JSON.")
        if "query" in where:
            found["414"] = (ErrorSerializer, f"A query string over {MAX_QUERY_STRING} characters.")
        if view.get_throttles():
            found["429"] = (ErrorSerializer, "Too many requests; try again later.")
        return dict(sorted(found.items()))
