"""Reading query strings safely: a NUL character is refused, ids are ASCII digits.

No page or API takes a NUL on purpose, and PostgreSQL cannot compare a text holding one:
such a value would otherwise fail deep inside a query, as a server error.
"""

from django.http import HttpResponseBadRequest


def has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Once the URL is resolved, so the refusal is counted under its route.
        if has_nul(request.GET):
            return HttpResponseBadRequest(
                "Query parameters may not contain NUL characters.\n",
                content_type="text/plain; charset=utf-8",
            )
        return None


# The largest id a database column holds (a signed 64-bit integer); SQLite refuses more.
MAX_ID = 2**63 - 1


def query_id(raw: str | None) -> int | None:
    """A database id given in a query parameter, or None: ASCII digits only (str.isdigit()
    also accepts "²", which int() refuses), and no larger than a column holds."""
    if not (raw and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None
