"""RUM pages in the admin: Web Vitals, a page's drill-down, JS errors; the overview card."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from config import dashboards
from config.query_string import query_id
from config.tables import Column, Table
from lib import sketch
from rum import queries, vitals
from rum.models import Site
from rum.useragent import DEVICE_CLASSES

PERMISSION = "rum.view_rum"


def _filters(request, time_range, page: str | None = None) -> queries.Filters:
    device = request.GET.get("device")
    return queries.Filters(
        time_range.start,
        time_range.end,
        site_id=query_id(request.GET.get("site")),
        device=device if device in DEVICE_CLASSES else None,
        page=page,
    )


def _select(name: str, label: str, choices, current) -> str:
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == str(current or "") else "", text)
         for value, text in [("", "All"), *choices]),
    )  # fmt: skip
    return format_html('<label>{} <select name="{}">{}</select></label>', label, name, options)


def _filter_controls(f: queries.Filters, device: bool = True) -> str:
    sites = [(s.id, s.name) for s in Site.objects.order_by("name")]
    html = _select("site", "Site", sites, f.site_id)
    if device:
        html += _select("device", "Device", [(d, d) for d in DEVICE_CLASSES], f.device)
    return html


def _link(slug: str, time_range, **params) -> str:
    query = {**time_range.params(), **{k: v for k, v in params.items() if v not in (None, "")}}
    return f"{reverse('admin:dashboard', args=[slug])}?{urlencode(query)}"


def _percent(value) -> str:
    return f"{value:.0f}%"


def _tiles(summaries: list[dict]) -> list[dict]:
    """What the template draws per vital: p75 in its rating colour and the CrUX-style bar."""
    return [
        {
            **s,
            "title": vitals.VITALS[s["name"]].title,
            "display": vitals.VITALS[s["name"]].format(s["p75"]),
            "css": vitals.rating_css(s["rating"]),
        }
        for s in summaries
    ]


def _vital_column(name: str) -> Column:
    return Column(name, f"{name} p75", format=vitals.VITALS[name].format, numeric=True,
                  css=f"{name}_css")  # fmt: skip


def pages_table(rows: list[dict], time_range, sites: dict[int, str]) -> Table:
    entries = []
    for page in queries.pages(rows):
        entry = {**page, "site": sites.get(page["site_id"], "?")}
        entry["url"] = _link("web-vitals-page", time_range, site=page["site_id"], page=page["page"])
        for name in vitals.NAMES:
            value = page[name]
            entry[f"{name}_css"] = vitals.rating_css(
                vitals.VITALS[name].rate(value) if value is not None else None
            )
        entries.append(entry)
    columns = [
        Column("page", "Page", link="url"),
        Column("site", "Site"),
        Column("page_views", "Page views", numeric=True),
        *(_vital_column(name) for name in vitals.NAMES),
        Column("good_share", "Passing CWV", format=_percent, numeric=True),
    ]
    return Table("pages", "Pages", columns, entries, empty="No page views in this range.")


@dashboards.page("web-vitals", "Web Vitals", permission=PERMISSION, order=20)
def web_vitals(request, ctx):
    from rum import charts  # plotly and pandas load with the first chart, not at start-up

    f = _filters(request, ctx.time_range)
    rows = queries.rollup_rows(f)
    views, assessed, passed = queries.passing(rows)
    sites = dict(Site.objects.values_list("id", "name"))
    trend = charts.trend_figure(queries.trend(rows, ctx.time_range.step_seconds))
    context = {
        "tiles": _tiles(queries.vital_summaries(rows)),
        "page_views": views,
        "passing_share": queries.share(passed, assessed),
        "figures": [trend] if trend else [],
        "filters_html": _filter_controls(f),
    }
    return ctx.render(
        "rum/web_vitals.html", context, tables=[pages_table(rows, ctx.time_range, sites)]
    )


def _targets_table(name: str, title: str, found: list[dict]) -> Table:
    vital = vitals.VITALS[name]
    for entry in found:
        entry["css"] = vitals.rating_css(entry["rating"])
    columns = [
        Column("target", "Element"),
        Column("count", "Page views", numeric=True),
        Column("p75", f"{name} p75", format=vital.format, numeric=True, css="css"),
    ]
    return Table(f"{name.lower()}-targets", title, columns, found, empty="No attribution yet.")


def route_link(route: str) -> str | None:
    if not route:
        return None
    return f"{reverse('admin:dashboard', args=['performance-route'])}?{urlencode({'route': route})}"


@dashboards.page("web-vitals-page", "Page Web Vitals", permission=PERMISSION, nav=False)
def page_detail(request, ctx):
    from rum import charts

    page = request.GET.get("page", "")
    f = _filters(request, ctx.time_range, page=page or None)
    rows = queries.rollup_rows(f) if page else []
    views, assessed, passed = queries.passing(rows)
    site = Site.objects.filter(id=f.site_id).first() if f.site_id else None
    distributions = [
        charts.distribution_figure(name, sketch.points(queries.histogram(rows, name)))
        for name in vitals.NAMES
    ]
    split = queries.ttfb_split(f) if page else None
    route = queries.route_of_page(f.site_id, page) if page else ""
    context = {
        "page_path": page,
        "site": site,
        "tiles": _tiles(queries.vital_summaries(rows)),
        "page_views": views,
        "passing_share": queries.share(passed, assessed),
        "distributions": [d for d in distributions if d],
        "split": split,
        "split_figure": charts.ttfb_split_figure(split),
        "route": route,
        "route_link": route_link(route),
        "crumbs": [("Web Vitals", _link("web-vitals", ctx.time_range, site=f.site_id))],
        # The toolbar keeps `site` and `page` as hidden fields already.
        "filters_html": _select("device", "Device", [(d, d) for d in DEVICE_CLASSES], f.device),
    }
    tables = [
        _targets_table("LCP", "Top LCP elements", queries.top_targets(f, "LCP") if page else []),
        _targets_table("INP", "Top INP targets", queries.top_targets(f, "INP") if page else []),
    ]
    return ctx.render("rum/page.html", context, tables=tables)


@dashboards.page("js-errors", "JS errors", permission=PERMISSION, order=21)
def js_errors(request, ctx):
    f = _filters(request, ctx.time_range)
    groups = queries.error_groups(f)
    columns = [
        Column("message", "Message"),
        Column("source", "Top frame"),
        Column("count", "Errors", numeric=True),
        Column("sessions", "Sessions", numeric=True),
        Column("pages", "Pages", numeric=True),
        Column("top_page", "Latest page"),
        Column("first_seen", "First seen"),
        Column("last_seen", "Last seen"),
    ]
    table = Table("errors", "Errors by fingerprint", columns, groups,
                  empty="No JavaScript errors in this range.")  # fmt: skip
    context = {"filters_html": _filter_controls(f), "total": sum(g["count"] for g in groups)}
    return ctx.render("rum/js_errors.html", context, tables=[table])


@dashboards.card("rum", "Real users", permission=PERMISSION, order=20)
def overview_card(request, time_range):
    f = queries.Filters(time_range.start, time_range.end)
    rows = queries.rollup_rows(f, metrics=[vitals.PAGE_VIEWS, vitals.CWV])
    views, assessed, passed = queries.passing(rows)
    if not views:
        return None
    passing = queries.share(passed, assessed)
    metrics = [
        ("Passing Core Web Vitals", _percent(passing) if passing is not None else "–"),
        ("Page views", f"{views:,}"),
    ]
    worst = queries.worst_page(rows)
    if worst:
        metrics.append(("Worst page", f"{worst['page']} ({worst['good_share']:.0f}%)"))
    if passing is None:
        status = "nodata"
    else:
        status = "good" if passing >= 75 else "warning" if passing >= 50 else "critical"
    return dashboards.Card(
        "Real users",
        status,
        metrics,
        link=_link("web-vitals", time_range),
        note="Share of page views whose LCP, INP and CLS are all good.",
    )
