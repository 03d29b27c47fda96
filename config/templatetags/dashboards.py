import uuid

from django import template
from django.utils.html import format_html, json_script
from plotly.utils import PlotlyJSONEncoder

from config import display_time

register = template.Library()


@register.filter
def plotly(figure):
    """A Plotly figure as an empty <div> and its JSON in a data block. The page's
    static dashboards/charts.js draws it: no inline script, so the CSP forbids them all."""
    if figure is None:
        return ""
    data_id = f"figure-{uuid.uuid4().hex}"
    return format_html(
        '<div class="plotly-graph-div" data-figure="{}"></div>{}',
        data_id,
        json_script(display_time.figure_json(figure), data_id, encoder=PlotlyJSONEncoder),
    )


@register.filter
def when(moment, options: str = ""):
    """A moment in the display zone: `{{ at|when }}`, `{{ at|when:"seconds,zone" }}`."""
    wanted = set(options.split(","))
    return display_time.text(moment, seconds="seconds" in wanted, zone="zone" in wanted)


@register.simple_tag
def time_zone_note():
    return display_time.note()


@register.tag
def page_fragment(parser, token):
    """{% page_fragment %}...{% end_page_fragment %}: rendered once per cached page context
    (config.page_cache): repeating a dashboard costs its frame only."""
    nodelist = parser.parse(("end_page_fragment",))
    parser.delete_first_token()
    return PageFragmentNode(nodelist)


class PageFragmentNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        fragment = context.get("page_fragment")
        if fragment is not None and fragment.html is not None:
            return fragment.html
        html = self.nodelist.render(context)
        # A CSRF token is the viewer's own: such a part is rendered for each request.
        if fragment is not None and "csrfmiddlewaretoken" not in html:
            fragment.html = html
        return html


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
    """Hidden inputs carrying the page's filters through the time-range form (but not
    those its filter bar has as fields, `filter_names`: each would be sent twice)."""
    from django.utils.html import format_html, format_html_join

    skip = {"range", "start", "end", "export", *context.get("filter_names", ())}
    query = context["request"].GET
    pairs = [(k, v) for k in query for v in query.getlist(k) if k not in skip]
    if not pairs:
        return ""
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', pairs) or format_html(
        ""
    )
