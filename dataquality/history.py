"""Scores over time: which run was each statement's latest at a given moment.

Every run is kept, so "the average score on May 1st" is the average of each
statement's latest run before that moment. `load_runs` reads what a time span
needs in one query (the latest run of each statement before the span, and
every run inside it); the rest is pandas.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import Max

from dataquality.models import Run, Statement

COLUMNS = [
    "run_id",
    "statement_id",
    "entity_id",
    "entity",
    "created_at",
    "score",
    "issues",
    "critical",
]
FIELDS = [
    "id",
    "statement_id",
    "statement__entity_id",
    "statement__entity__name",
    "created_at",
    "score",
    "issues",
    "critical",
]


def load_runs(start: datetime, end: datetime, entity_ids=None) -> pd.DataFrame:
    """Each statement's latest run before `start`, and every run in [start, end): one query."""
    runs = Run.objects.all()
    statements = Statement.objects.all()
    if entity_ids:
        runs = runs.filter(statement__entity_id__in=list(entity_ids))
        statements = statements.filter(entity_id__in=list(entity_ids))
    # Most statements were last checked before `start`: their latest run is the one.
    settled = statements.filter(latest_run__created_at__lt=start).values("latest_run")
    # The others were checked since: look up their last run before `start`.
    recent = statements.filter(latest_run__created_at__gte=start).values("id")
    before = (
        runs.filter(statement_id__in=recent, created_at__lt=start)
        .values("statement_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    parts = [
        Run.objects.filter(id__in=settled),
        Run.objects.filter(id__in=before),
        runs.filter(created_at__gte=start, created_at__lt=end),
    ]
    fields = [part.order_by().values_list(*FIELDS) for part in parts]
    frame = pd.DataFrame(list(fields[0].union(*fields[1:], all=True)), columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame.sort_values(["created_at", "run_id"]).reset_index(drop=True)


def as_of(runs: pd.DataFrame, at: datetime) -> pd.DataFrame:
    """Each statement's latest run strictly before `at`."""
    earlier = runs[runs["created_at"] < pd.Timestamp(at)]
    return earlier.drop_duplicates("statement_id", keep="last")


def trend(runs: pd.DataFrame, times: list[datetime], by: str | None = None) -> pd.DataFrame:
    """Average latest score at each time (overall, or per `by` column such as "entity").

    Vectorised: each run adds (its score - the statement's previous score) to a
    running total, and a statement's first run adds one to the count.
    """
    if runs.empty:
        return pd.DataFrame(columns=["time", "group", "score"])
    ordered = runs.sort_values(["created_at", "run_id"])
    previous = ordered.groupby("statement_id")["score"].shift(1)
    ordered = ordered.assign(
        delta=ordered["score"] - previous.fillna(0), first=previous.isna().astype(int)
    )
    groups = [("all", ordered)] if by is None else list(ordered.groupby(by))
    stamps = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    wanted = _naive(stamps)
    out = []
    for name, group in groups:
        totals = group["delta"].cumsum().to_numpy()
        counts = group["first"].cumsum().to_numpy()
        # Runs strictly before each time: the same rule as `as_of`.
        moments = _naive(pd.DatetimeIndex(group["created_at"]))
        position = np.searchsorted(moments, wanted, "left") - 1
        known = position >= 0
        score = np.full(len(stamps), np.nan)
        score[known] = totals[position[known]] / counts[position[known]]
        out.append(pd.DataFrame({"time": stamps, "group": name, "score": score}))
    return pd.concat(out, ignore_index=True)


def _naive(index: pd.DatetimeIndex) -> np.ndarray:
    return index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[ns]")
