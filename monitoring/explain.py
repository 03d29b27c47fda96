"""EXPLAIN on demand for a recorded statement: SELECT only, in a read-only transaction.

Statements are stored without their values, so PostgreSQL plans them as a
generic plan (PREPARE with $1, $2 ... and plan_cache_mode = force_generic_plan),
the plan the server uses when it cannot look at the values; SQLite binds NULLs.
Only statements recorded by the fold are explained, never text from a request.
"""

from __future__ import annotations

import uuid

from django.db import DatabaseError, connection, transaction

from config import audit
from monitoring.sql import is_single_select, numbered_placeholders

TIMEOUT_MS = 5000


class ExplainError(Exception):
    """The statement cannot be explained; the message says why."""


def can_explain(statement: str) -> bool:
    return is_single_select(statement)


def explain(statement: str) -> list[str]:
    """The plan, one line per row."""
    if not can_explain(statement):
        raise ExplainError("Only a single SELECT statement can be explained.")
    audit.record("explain", "monitoring.statement", statement=statement[:2000])
    try:
        if connection.vendor == "postgresql":
            return _postgresql(statement)
        if connection.vendor == "sqlite":
            return _sqlite(statement)
    except DatabaseError as exc:
        raise ExplainError(f"The database could not plan this statement: {exc}") from None
    raise ExplainError(f"EXPLAIN is not supported on {connection.vendor}.")


def _postgresql(statement: str) -> list[str]:
    sql, parameters = numbered_placeholders(statement)
    name = f"perfmon_explain_{uuid.uuid4().hex}"
    execute = f"EXPLAIN EXECUTE {name}" + (
        f"({', '.join(['NULL'] * parameters)})" if parameters else ""
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
        cursor.execute(f"SET LOCAL statement_timeout = {TIMEOUT_MS}")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE {name} AS {sql}")
        try:
            with transaction.atomic():  # a savepoint, so DEALLOCATE still runs after a failure
                cursor.execute(execute)
                return [row[0] for row in cursor.fetchall()]
        finally:
            cursor.execute(f"DEALLOCATE {name}")


def _sqlite(statement: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA query_only = ON")
        try:
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", [None] * statement.count("?"))
            return [str(row[-1]) for row in cursor.fetchall()]
        finally:
            cursor.execute("PRAGMA query_only = OFF")
