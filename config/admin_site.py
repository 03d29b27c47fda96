"""The admin site: the model admin everyone knows, plus the dashboards and overview."""

from __future__ import annotations

import logging

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from config import dashboards, page_cache
from config.timerange import PRESETS, TimeRangeError, parse_time_range

log = logging.getLogger(__name__)

OVERVIEW_PERMISSION = "core.view_overview"
RANGE_CHOICES = [*((key, label) for key, (label, _) in PRESETS.items()), ("custom", "Custom")]


class MonitorAdminSite(admin.AdminSite):
    site_header = "perfmon"
    site_title = "perfmon"
    index_title = "Overview"

    def get_urls(self):
        return [
            path(
                "dashboards/<slug:slug>/",
                self.admin_view(self.dashboard_view),
                name="dashboard",
            ),
            *super().get_urls(),
        ]

    def get_app_list(self, request, app_label=None):
        # Every model's permissions, for a sidebar a dashboard page does not show: a third
        # of the cost of a dashboard served from the page cache.
        if getattr(request, "without_app_list", False) and app_label is None:
            return []
        return super().get_app_list(request, app_label)

    def each_context(self, request):
        context = super().each_context(request)
        user = request.user
        staff = user.is_authenticated and user.is_active and user.is_staff
        context["dashboard_pages"] = dashboards.visible_pages(user) if staff else []
        context["can_view_overview"] = staff and user.has_perm(OVERVIEW_PERMISSION)
        context["banners"] = self._banners(request) if staff else []
        context["range_choices"] = RANGE_CHOICES
        return context

    def _banners(self, request):
        try:
            # On every admin page: shared for a few seconds by users who may see the same.
            return page_cache.for_request(
                request, lambda: dashboards.banners(request), "banners", ignore_path=True
            )
        except Exception:  # a broken banner must not take the admin down with it
            log.exception("a dashboard banner provider failed")
            return []

    def dashboard_view(self, request, slug):
        page = dashboards.get_page(slug)
        if page is None:
            raise Http404(f"No dashboard page {slug!r}")
        if not request.user.has_perm(page.permission):
            raise PermissionDenied
        request.without_app_list = True  # dashboard pages have no sidebar to list apps in
        base = {**self.each_context(request), "page": page, "title": page.title}
        try:
            time_range = parse_time_range(request.GET)
        except TimeRangeError as exc:
            base["time_range"] = parse_time_range({})
            base["range_error"] = str(exc)
            return TemplateResponse(request, "dashboards/bad_range.html", base, status=400)
        base["time_range"] = time_range
        ctx = dashboards.PageContext(request, page, time_range, base)
        if request.method != "GET" or "export" in request.GET:
            return page.view(request, ctx)
        return self._cached_page(request, page, ctx)

    def _cached_page(self, request, page, ctx):
        """The page's own context (figures, tables, cards) and its rendered part, shared for a
        few seconds by requests with the same range, filters and permissions; the frame
        (user, banners, CSRF token) is each request's own."""
        base = ctx.base_context
        answered = {}

        def compute():
            response = answered["response"] = page.view(request, ctx)
            if not isinstance(response, TemplateResponse) or response.status_code != 200:
                return None  # errors and redirects are not kept
            data = response.context_data or {}
            own = {k: v for k, v in data.items() if k not in base or v is not base[k]}
            own["page_fragment"] = data["page_fragment"] = page_cache.Fragment()
            return response.template_name, own

        kept = page_cache.for_request(request, compute, "page", page.slug)
        if "response" in answered or kept is None:
            return answered.get("response") or page.view(request, ctx)
        template, own = kept
        return TemplateResponse(request, template, {**base, **own})

    def index(self, request, extra_context=None):
        extra = dict(extra_context or {})
        if request.user.has_perm(OVERVIEW_PERMISSION):
            try:
                time_range = parse_time_range(request.GET)
            except TimeRangeError as exc:
                extra["range_error"] = str(exc)
                time_range = parse_time_range({})
            extra["time_range"] = time_range
            extra["cards"] = [
                self._card(slot, request, time_range)
                for slot in dashboards.card_slots(request.user)
            ]
        return super().index(request, extra)

    def _card(self, slot, request, time_range) -> dashboards.Card:
        try:
            card = slot.provider(request, time_range)
        except Exception:
            log.exception("overview card %s failed", slot.section)
            return dashboards.Card(
                slot.title,
                "nodata",
                note="This card could not be loaded; the server log has the details.",
            )
        if card is None:
            return dashboards.Card(slot.title, "nodata")
        return card
