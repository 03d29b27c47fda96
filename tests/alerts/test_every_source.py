"""Every registered metric source answers rules on the apps' demo data.

The demo data of every app covers every source, so a rule on any source, with
any of its aggregations, has a value after one evaluation tick: a source that
breaks on real data (a query it cannot run, rows it cannot read) shows here
as a rule in error or without data.
"""

import io

import pytest

from alerts.evaluate import STATUS_OK, evaluate_rules
from alerts.models import Rule
from alerts.sources import all_sources
from config.demo import load_all
from rum import vitals

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# An hour (hourly sources answer with every hour it overlaps), and a week: past the
# minute rollups' retention, next to short windows on the same source.
HOUR, WEEK = 60, 7 * 24 * 60


def rules_on_every_source() -> list[Rule]:
    """Per source: each aggregation split by its first label over an hour, and one over
    everything for a week."""
    rules = []
    for source in all_sources():
        required = {"vital": vitals.NAMES[0]} if "vital" in source.required_params else {}
        missing = set(source.required_params) - set(required)
        assert not missing, f"{source.key} needs parameters this test does not know: {missing}"
        split = [source.labels[0]] if source.labels else []
        shapes = [(aggregation, split, HOUR) for aggregation in source.aggregations]
        shapes.append((source.aggregations[0], [], WEEK))
        for aggregation, group_by, window in shapes:
            rules.append(
                Rule.objects.create(
                    name=f"{source.key} {aggregation} by {group_by or 'all'} over {window} min",
                    source=source.key,
                    aggregation=aggregation,
                    filters=required,
                    group_by=group_by,
                    window_minutes=window,
                    operator="gt",
                    threshold=1e12,  # never breached: the values are what is checked
                    enabled=True,
                )
            )
    return rules


def test_every_source_answers_on_the_demo_data():
    load_all(io.StringIO())
    rules = rules_on_every_source()
    tick = evaluate_rules()  # the notifications are not sent: no broker needed

    assert not tick.skipped
    statuses = {rule.name: status for rule, status in _statuses(rules)}
    assert statuses == {rule.name: STATUS_OK for rule in rules}
    registered = {source.key for source in all_sources()}
    demo_rules = Rule.objects.filter(enabled=True, source__in=registered).exclude(
        pk__in=[rule.pk for rule in rules]
    )
    failing = {r.name: r.eval_status for r in demo_rules if r.eval_status.startswith("error")}
    assert failing == {}


def _statuses(rules):
    for rule in rules:
        rule.refresh_from_db()
        yield rule, rule.eval_status
