from django import template
from django.utils.safestring import mark_safe

register = template.Library()

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


@register.filter
def plotly(figure):
    """A Plotly figure as a <div>; plotly.js itself is loaded once by the page."""
    if figure is None:
        return ""
    html = figure.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG)
    return mark_safe(html)  # noqa: S308  (plotly escapes the figure's JSON)


@register.simple_tag(takes_context=True)
def export_url(context, table):
    query = context["request"].GET.copy()
    query["export"] = table.name
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def with_range(context, url, **params):
    """`url` with the page's time range (and extra params) in its query string."""
    from urllib.parse import urlencode

    time_range = context.get("time_range")
    query = dict(time_range.params()) if time_range else {}
    query.update({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(query)}"


@register.simple_tag(takes_context=True)
def hidden_filters(context):
    """Hidden inputs carrying the page's filters through the time-range form."""
    from django.utils.html import format_html, format_html_join

    skip = {"range", "start", "end", "export"}
    query = context["request"].GET
    pairs = [(k, v) for k in query for v in query.getlist(k) if k not in skip]
    if not pairs:
        return ""
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', pairs) or format_html(
        ""
    )
