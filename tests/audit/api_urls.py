"""A small API view that changes a rule, as any API view of the apps would."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import Rule


class DisableRule(APIView):
    def post(self, request, pk):
        rule = Rule.objects.get(pk=pk)
        rule.enabled = False
        rule.save()
        return Response(status=204)


urlpatterns = [path("api/rules/<int:pk>/disable/", DisableRule.as_view())]
