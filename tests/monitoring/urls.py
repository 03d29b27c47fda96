"""A small site for the monitoring tests: routes with parameters, an error, an N+1."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse, JsonResponse
from django.urls import include, path


def order(request, pk):
    return JsonResponse({"order": pk})


def boom(request):
    raise RuntimeError("the view failed")


def not_found(request):
    return HttpResponse("gone", status=404)


def n_plus_one(request):
    users = get_user_model().objects
    names = [users.filter(pk=pk).first() for pk in range(1, 8)]
    return JsonResponse({"found": sum(1 for n in names if n)})


def one_query(request):
    return JsonResponse({"users": get_user_model().objects.count()})


def secrets(request):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT %s, 'inline-secret', 42", ["param-secret"])
    return HttpResponse("ok")


def bulk(request):
    from django.db import connection

    rows = 3000  # a bulk insert's worth of values: over 10,000 SQL tokens
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (VALUES "  # noqa: S608 (placeholders only)
            + ", ".join(["(%s, %s)"] * rows)
            + ") AS v (a, b)",
            list(range(2 * rows)),
        )
    return HttpResponse("ok")


api = [
    path("bulk/", bulk),
    path("secrets/", secrets),
    path("orders/<int:pk>/", order),
    path("boom/", boom),
    path("missing/", not_found),
    path("users/", one_query),
    path("users/n-plus-one/", n_plus_one),
]

urlpatterns = [path("api/", include(api))]
