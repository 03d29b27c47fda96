"""URLs for the monitoring benchmarks: a trivial view and a three-query view."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.urls import path


def trivial(request):
    return HttpResponse("ok")


def three_queries(request, n):
    users = get_user_model().objects
    users.filter(pk=n).exists()
    users.filter(pk=2).exists()
    users.count()
    return HttpResponse("ok")


urlpatterns = [
    path("trivial/", trivial),
    path("three-queries/<int:n>/", three_queries),
]
