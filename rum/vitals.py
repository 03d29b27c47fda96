"""The Web Vitals: names, units, Google's thresholds and the ratings they give."""

from __future__ import annotations

from dataclasses import dataclass

GOOD, NEEDS_IMPROVEMENT, POOR = "good", "needs-improvement", "poor"
RATINGS = (GOOD, NEEDS_IMPROVEMENT, POOR)


@dataclass(frozen=True)
class Vital:
    name: str
    title: str
    unit: str  # "ms" or "" (CLS has no unit)
    good: float  # values up to and including this are good
    poor: float  # values above this are poor
    maximum: float  # larger values are refused as implausible
    core: bool  # one of the three Core Web Vitals

    def rate(self, value: float) -> str:
        if value <= self.good:
            return GOOD
        if value <= self.poor:
            return NEEDS_IMPROVEMENT
        return POOR

    def format(self, value: float | None) -> str:
        if value is None:
            return "–"
        if self.unit == "ms":
            return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
        return f"{value:.3f}"


# Plausible maxima: a page still loading or an interaction still blocked after two
# minutes has been abandoned, and a layout shifting ten whole viewports is an artefact.
# A beacon with a larger value (or a delta past ± the maximum) is refused with a 400: one
# such value would otherwise move a page's p75 by itself.
MAX_MS = 120_000
MAX_CLS = 10.0

# Thresholds from web.dev (the same the web-vitals library rates with).
VITALS = {
    v.name: v
    for v in (
        Vital("LCP", "Largest Contentful Paint", "ms", 2500, 4000, MAX_MS, True),
        Vital("INP", "Interaction to Next Paint", "ms", 200, 500, MAX_MS, True),
        Vital("CLS", "Cumulative Layout Shift", "", 0.1, 0.25, MAX_CLS, True),
        Vital("FCP", "First Contentful Paint", "ms", 1800, 3000, MAX_MS, False),
        Vital("TTFB", "Time to First Byte", "ms", 800, 1800, MAX_MS, False),
    )
}
NAMES = tuple(VITALS)
CORE = tuple(name for name, v in VITALS.items() if v.core)

# Rollup pseudo-metrics next to the vitals.
PAGE_VIEWS = "PV"  # count = page views
CWV = "CWV"  # count = page views with a Core Web Vital, good = those passing all


def passes_core_web_vitals(values: dict[str, float]) -> bool | None:
    """Whether a page view passes: every Core Web Vital it reported is good.

    None when it reported none of them (not assessed).
    """
    reported = [VITALS[name].rate(values[name]) for name in CORE if name in values]
    if not reported:
        return None
    return all(rating == GOOD for rating in reported)


def rating_css(rating: str | None) -> str:
    """CSS class of the dashboard's colours for a rating."""
    return {GOOD: "good", NEEDS_IMPROVEMENT: "warning", POOR: "critical"}.get(rating or "", "")
