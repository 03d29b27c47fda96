"""What every JSON API under /api/ shares: strict query parameters, JSON bodies of the
types the schema says, a 413 past the body limit, JSON errors (also for the 404s
and 500s Django answers itself), and who may call a staff API: the same permission as
the dashboard page it serves (`permission_classes = [staff_with("rum.view_rum")]`), so
an API never answers someone its dashboard refuses.

Errors are `{"detail": "..."}`; a 400 names each refused field:
`{"hours": ["Ensure this value is less than or equal to 168."]}`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import JsonResponse
from django.views import defaults
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

# The largest integer a query parameter may carry: PostgreSQL's bigint and SQLite's
# INTEGER both stop at 2**63 - 1, and a larger one would fail in the database instead.
MAX_INT = 2**63 - 1
MAX_QUERY_STRING = 2048  # characters; URLs past this are refused with a 414


def staff_with(*permissions: str) -> type[BasePermission]:
    """A DRF permission class: an active staff user holding every one of `permissions`."""

    class StaffWith(BasePermission):
        message = f"Staff with the permission {' and '.join(permissions)} only."

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_active and user.is_staff and user.has_perms(permissions))

    StaffWith.__name__ = StaffWith.__qualname__ = f"StaffWith({', '.join(permissions)})"
    return StaffWith


class URITooLong(APIException):
    status_code = status.HTTP_414_REQUEST_URI_TOO_LONG
    default_detail = f"The query string is longer than {MAX_QUERY_STRING} characters."
    default_code = "uri_too_long"


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class Query(serializers.Serializer):
    """Query parameters, held to what the schema says.

    Only known parameters (a misspelt one would silently be ignored), each given once
    and never blank: Django's QueryDict would take the last of repeated values, and DRF
    reads a blank value as a missing one. Every integer is bounded (by MAX_INT unless the
    field says less), so a huge number is a 400 naming the field, not a database error.
    """

    @classmethod
    def read(cls, request, **kwargs):
        """The validated serializer of the request's query string (400/414 otherwise)."""
        if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY_STRING:
            raise URITooLong
        query = cls(data=request.query_params, **kwargs)
        query.is_valid(raise_exception=True)
        return query

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            if not isinstance(field, serializers.IntegerField):
                continue
            if field.max_value is None:
                field.max_value = MAX_INT
                message = field.error_messages["max_value"].format(max_value=MAX_INT)
                field.validators.append(MaxValueValidator(MAX_INT, message=message))
            if field.min_value is None:
                field.min_value = -MAX_INT - 1
                message = field.error_messages["min_value"].format(min_value=-MAX_INT - 1)
                field.validators.append(MinValueValidator(-MAX_INT - 1, message=message))
        return fields

    def to_internal_value(self, data):
        if hasattr(data, "lists"):  # a QueryDict: one value per name, or a field error
            errors = {k: ["Give this parameter once."] for k, v in data.lists() if len(v) > 1}
            known = {*self.fields, api_settings.URL_FORMAT_OVERRIDE}
            errors.update({k: ["Unknown parameter."] for k in data if k not in known})
            if errors:
                raise serializers.ValidationError(errors)
            data = data.dict()
        return super().to_internal_value(data)


# What a JSON body must send for each kind of field (subclasses before their bases).
# DRF would also take 12 or "12" for a string, "12" for a number, "yes" for a boolean;
# the schema says otherwise, so those are refused.
_JSON_TYPES = [
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.IntegerField, (int, float), "an integer"),  # 2.0 is an integer in JSON
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ListField, (list,), "a list"),
    (serializers.ListSerializer, (list,), "a list"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.Serializer, (dict,), "an object"),
]


def json_type_error(field, value) -> str | None:
    """Why `value` is not of the JSON type the field documents, or None."""
    if value is None:
        return None  # the field's own allow_null decides
    for kind, types, name in _JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(field, serializers.ChoiceField) and not all(
                isinstance(choice, str) for choice in field.choices
            ):
                return None
            wrong = isinstance(value, bool) and bool not in types
            if wrong or not isinstance(value, types):
                return f"Expected {name}."
            if isinstance(field, serializers.IntegerField) and isinstance(value, float):
                return None if value.is_integer() else f"Expected {name}."
            if isinstance(field, serializers.ListField):
                for item in value:
                    if error := json_type_error(field.child, item):
                        return error
            return None
    return None


class JsonSerializer(serializers.Serializer):
    """A JSON body's object: each field of the JSON type the schema gives it."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                error = name in data and json_type_error(field, data[name])
                if error and not field.read_only:
                    errors[name] = [error]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def exception_handler(exc, context):
    """DRF's, with a body past DATA_UPLOAD_MAX_MEMORY_SIZE a 413 (Django would say 400)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = BodyTooLarge(f"The request body is larger than {limit} bytes.")
    return drf_exception_handler(exc, context)


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal but a validation error."""

    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """A 400: each refused field (or `non_field_errors`, or `detail`) with its reasons.

    Nested input (a beacon's events) has nested errors: `{"events": {"0": {...}}}`.
    """

    detail = serializers.CharField(required=False)
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


def _json_or(page, status_code: int, detail: str):
    """Django's own error page, but JSON under /api/ (where clients expect JSON)."""

    def handler(request, *args, **kwargs):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=status_code)
        return page(request, *args, **kwargs)

    return handler


bad_request = _json_or(defaults.bad_request, 400, "Bad request.")
permission_denied = _json_or(defaults.permission_denied, 403, "Permission denied.")
not_found = _json_or(defaults.page_not_found, 404, "Not found.")
server_error = _json_or(defaults.server_error, 500, "Server error.")
