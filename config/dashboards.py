"""The dashboard registry: pages, overview cards and banners that apps contribute.

An app registers in its own `dashboards.py` (discovered at start-up):

    from config import dashboards

    @dashboards.page("performance", "Performance", permission="monitoring.view_dashboard")
    def performance(request, ctx):
        ...
        return ctx.render("monitoring/performance.html", {...}, tables=[endpoints])

    @dashboards.card("monitoring", "Performance", permission="monitoring.view_dashboard")
    def performance_card(request, time_range) -> dashboards.Card | None:
        ...  # None means "no data yet"

Pages live at /admin/dashboards/<slug>/, use the admin's base template, and
require staff plus the page's permission (an app declares it on a model, for
instance an unmanaged one with `permissions = [...]`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.template.response import TemplateResponse

from config.tables import find_table
from config.timerange import TimeRange

STATUSES = ("good", "warning", "critical", "nodata")


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    view: Callable
    permission: str
    # Pages hidden from the navigation are drill-downs reached by links.
    nav: bool = True
    order: int = 100


@dataclass
class Card:
    """A status card on the overview: a headline status and a few figures."""

    title: str
    status: str = "nodata"
    metrics: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    note: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"card status must be one of {STATUSES}, not {self.status!r}")


@dataclass(frozen=True)
class CardSlot:
    section: str
    title: str
    provider: Callable
    permission: str
    order: int = 100


@dataclass(frozen=True)
class Banner:
    """A line shown at the top of every admin page (e.g. firing alerts)."""

    level: str  # "warning" or "critical"
    text: str
    link: str | None = None


_pages: dict[str, Page] = {}
_cards: dict[str, CardSlot] = {}
_banners: list[Callable] = []


def page(slug: str, title: str, *, permission: str, nav: bool = True, order: int = 100):
    def register(view):
        _pages[slug] = Page(slug, title, view, permission, nav, order)
        return view

    return register


def card(section: str, title: str, *, permission: str, order: int = 100):
    """Register the overview card of a section; a later registration replaces it."""

    def register(provider):
        _cards[section] = CardSlot(section, title, provider, permission, order)
        return provider

    return register


def unregister(slug: str) -> None:
    """Remove a page (tests register throw-away pages)."""
    _pages.pop(slug, None)


def banner(provider: Callable):
    """Register a function(request) -> list[Banner], called on every admin page."""
    if provider not in _banners:
        _banners.append(provider)
    return provider


def unregister_banner(provider: Callable) -> None:
    if provider in _banners:
        _banners.remove(provider)


def pages() -> list[Page]:
    return sorted(_pages.values(), key=lambda p: (p.order, p.title))


def get_page(slug: str) -> Page | None:
    return _pages.get(slug)


def visible_pages(user) -> list[Page]:
    return [p for p in pages() if p.nav and user.is_active and user.has_perm(p.permission)]


def card_slots(user) -> list[CardSlot]:
    slots = sorted(_cards.values(), key=lambda s: (s.order, s.title))
    return [s for s in slots if user.has_perm(s.permission)]


def banners(request) -> list[Banner]:
    found: list[Banner] = []
    for provider in _banners:
        found.extend(provider(request) or [])
    return found


@dataclass
class PageContext:
    """What the frame hands a page view: the request's time range and a renderer."""

    request: object
    page: Page
    time_range: TimeRange
    base_context: dict

    def render(self, template: str, context: dict | None = None, *, tables=(), status=200):
        """Render the page, or answer ?export=<table> with that table as CSV."""
        wanted = self.request.GET.get("export")
        if wanted:
            table = find_table(tables, wanted)
            if table is None:
                names = ", ".join(t.name for t in tables) or "none"
                return HttpResponse(
                    f"No table {wanted!r} on this page (tables: {names}).\n",
                    status=400,
                    content_type="text/plain; charset=utf-8",
                )
            return table.csv_response(self.page.slug)
        full = {**self.base_context, **(context or {}), "tables": list(tables)}
        return TemplateResponse(self.request, template, full, status=status)
