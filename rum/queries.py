"""Reads for the dashboards, the staff API and the overview card: rollups to plain rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min

from lib import sketch
from rum import vitals
from rum.models import Event, Rollup

HOUR = timedelta(hours=1)
MIN_PAGE_VIEWS_FOR_WORST = 5


@dataclass(frozen=True)
class Filters:
    start: datetime
    end: datetime
    site_id: int | None = None
    device: str | None = None
    page: str | None = None


def rollup_rows(f: Filters, metrics=None) -> list[dict]:
    """Rollup rows of every hour that overlaps [start, end)."""
    rows = Rollup.objects.filter(hour__gt=f.start - HOUR, hour__lt=f.end)
    if f.site_id:
        rows = rows.filter(site_id=f.site_id)
    if f.device:
        rows = rows.filter(device=f.device)
    if f.page:
        rows = rows.filter(page=f.page)
    if metrics:
        rows = rows.filter(metric__in=list(metrics))
    return list(
        rows.values(
            "hour", "site_id", "page", "metric", "device",
            "count", "good", "needs_improvement", "poor", "histogram",
        )
    )  # fmt: skip


def summarise_vital(name: str, rows: list[dict]) -> dict:
    """p75 with its rating, and the good / needs-improvement / poor split."""
    mine = [r for r in rows if r["metric"] == name]
    count = sum(r["count"] for r in mine)
    p75 = sketch.percentile(sketch.merge_encoded(r["histogram"] for r in mine), 0.75)
    split = {k: sum(r[k] for r in mine) for k in ("good", "needs_improvement", "poor")}
    return {
        "name": name,
        "p75": p75,
        "rating": vitals.VITALS[name].rate(p75) if p75 is not None else None,
        "count": count,
        **split,
        "shares": {k: (100 * v / count if count else 0.0) for k, v in split.items()},
    }


def vital_summaries(rows: list[dict]) -> list[dict]:
    return [summarise_vital(name, rows) for name in vitals.NAMES]


def passing(rows: list[dict]) -> tuple[int, int, int]:
    """(page views, page views assessed on CWV, page views passing all)."""
    views = sum(r["count"] for r in rows if r["metric"] == vitals.PAGE_VIEWS)
    assessed = [r for r in rows if r["metric"] == vitals.CWV]
    return views, sum(r["count"] for r in assessed), sum(r["good"] for r in assessed)


def share(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def pages(rows: list[dict]) -> list[dict]:
    """One row per (site, page): page views, p75 of each vital, share passing CWV."""
    grouped: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row["site_id"], row["page"]].append(row)
    found = []
    for (site_id, page), mine in grouped.items():
        views, assessed, passed = passing(mine)
        entry = {"site_id": site_id, "page": page, "page_views": views}
        for name in vitals.NAMES:
            histogram = sketch.merge_encoded(r["histogram"] for r in mine if r["metric"] == name)
            entry[name] = sketch.percentile(histogram, 0.75)
        entry["good_share"] = share(passed, assessed)
        found.append(entry)
    found.sort(key=lambda e: (-e["page_views"], e["page"]))
    return found


def worst_page(rows: list[dict]) -> dict | None:
    """The page with the lowest share passing, among pages with enough page views."""
    candidates = [
        p for p in pages(rows)
        if p["good_share"] is not None and p["page_views"] >= MIN_PAGE_VIEWS_FOR_WORST
    ]  # fmt: skip
    return min(candidates, key=lambda p: (p["good_share"], -p["page_views"]), default=None)


def trend(rows: list[dict], step_seconds: int):
    """p75 per vital, device and time bucket: a DataFrame of bucket, metric, device, p75, count."""
    import pandas as pd  # here, not at import: the beacon endpoint's workers never need it

    step = max(step_seconds, 3600)
    buckets: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row["metric"] in vitals.VITALS:
            epoch = int(row["hour"].timestamp()) // step * step
            buckets[epoch, row["metric"], row["device"]].append(row)
    records = [
        {
            "bucket": pd.Timestamp(epoch, unit="s", tz="UTC"),
            "metric": metric,
            "device": device,
            "p75": sketch.percentile(sketch.merge_encoded(r["histogram"] for r in mine), 0.75),
            "count": sum(r["count"] for r in mine),
        }
        for (epoch, metric, device), mine in sorted(buckets.items())
    ]
    return pd.DataFrame(records, columns=["bucket", "metric", "device", "p75", "count"])


def histogram(rows: list[dict], name: str) -> dict[int, int]:
    return sketch.merge_encoded(r["histogram"] for r in rows if r["metric"] == name)


def raw_events(f: Filters, kind: str):
    events = Event.objects.filter(kind=kind, received_at__gte=f.start, received_at__lt=f.end)
    if f.site_id:
        events = events.filter(site_id=f.site_id)
    if f.device:
        events = events.filter(device=f.device)
    if f.page:
        events = events.filter(page=f.page)
    return events


def top_targets(f: Filters, name: str, limit: int = 10) -> list[dict]:
    """Most frequent attribution targets of a vital (LCP element, INP target) with their p75."""
    events = raw_events(f, Event.VITAL).filter(name=name).exclude(target="")
    counts = list(
        events.values("target").annotate(count=Count("id")).order_by("-count", "target")[:limit]
    )
    values: dict[str, list[float]] = defaultdict(list)
    wanted = {c["target"] for c in counts}
    for target, value in events.filter(target__in=wanted).values_list("target", "value"):
        values[target].append(value)
    vital = vitals.VITALS[name]
    for entry in counts:
        p75 = sketch.percentile(sketch.build(values[entry["target"]]), 0.75)
        entry.update(p75=p75, rating=vital.rate(p75) if p75 is not None else None)
    return counts


def ttfb_split(f: Filters) -> dict | None:
    """Median TTFB of page views that reported Server-Timing: server time vs the rest."""
    pairs = list(
        raw_events(f, Event.VITAL)
        .filter(name="TTFB", server_ms__isnull=False)
        .values_list("value", "server_ms")
    )
    if not pairs:
        return None
    ttfb = [value for value, _ in pairs]
    server = [min(server, value) for value, server in pairs]  # server time is within TTFB
    network = [t - s for t, s in zip(ttfb, server, strict=True)]
    return {
        "count": len(pairs),
        **{
            name: sketch.percentile(sketch.build(values), 0.5)
            for name, values in (("ttfb", ttfb), ("server", server), ("network", network))
        },
    }


def route_of_page(site_id: int | None, page: str) -> str:
    events = Event.objects.filter(page=page).exclude(route="")
    if site_id:
        events = events.filter(site_id=site_id)
    return events.order_by("-received_at").values_list("route", flat=True).first() or ""


def error_groups(f: Filters, limit: int = 200) -> list[dict]:
    """JS errors grouped by fingerprint: counts, sessions, pages, first and last seen."""
    events = raw_events(f, Event.ERROR)
    groups = list(
        events.values("fingerprint")
        .annotate(
            count=Count("id"),
            sessions=Count("session_id", distinct=True),
            pages=Count("page", distinct=True),
            first_seen=Min("received_at"),
            last_seen=Max("received_at"),
            message=Max("message"),
        )
        .order_by("-count", "fingerprint")[:limit]
    )
    for group in groups:
        sample = (
            events.filter(fingerprint=group["fingerprint"])
            .order_by("-received_at")
            .values("page", "detail")
            .first()
        )
        detail = sample["detail"] if sample else {}
        group["top_page"] = sample["page"] if sample else ""
        source = detail.get("source", "")
        group["source"] = f"{source}:{detail.get('line', 0)}" if source else ""
    return groups
