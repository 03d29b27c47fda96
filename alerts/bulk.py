"""Updating many rows with different values in one statement.

Django's bulk_update builds a CASE WHEN per row and field, which costs seconds
of Python for a few thousand alerts. An UPDATE joined to the rows' new values
does the same cheaply: on PostgreSQL one statement whatever the number of rows,
with one array per column (UNNEST); on SQLite (≥ 3.33) a VALUES list per
thousand rows.
"""

from __future__ import annotations

from django.db import connection

BATCH_ROWS = 1000


def update_many(model, objects: list, fields: list[str]) -> int:
    """Write `fields` of every object (by primary key); returns the statements run."""
    if not objects:
        return 0
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(*_unnest_statement(meta.db_table, columns, objects))
        return 1
    statements = 0
    for start in range(0, len(objects), BATCH_ROWS):
        batch = objects[start : start + BATCH_ROWS]
        sql, params = _values_statement(meta.db_table, columns, batch)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        statements += 1
    return statements


def _unnest_statement(table: str, columns, objects) -> tuple[str, list]:
    quote = connection.ops.quote_name
    pk, *fields = columns
    arrays = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objects]
        for field in columns
    ]
    # Typed arrays: a column of NULLs or strings would otherwise be text.
    unnest = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    key = quote(pk.column)
    # Only quoted column and table names of our own models go into the text.
    sql = (
        f"UPDATE {quote(table)} AS t SET {assignments} "  # noqa: S608
        f"FROM UNNEST({unnest}) AS v({names}) WHERE t.{key} = v.{key}"
    )
    return sql, arrays


def _values_statement(table: str, columns, batch) -> tuple[str, list]:
    quote = connection.ops.quote_name
    pk, *fields = columns
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for obj in batch
        for field in columns
    ]
    # SQLite names the VALUES columns column1, column2 …
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    assignments = ", ".join(
        f"{quote(f.column)} = v.column{i}" for i, f in enumerate(fields, start=2)
    )
    # Only quoted column and table names of our own models go into the text.
    sql = (
        f"UPDATE {quote(table)} SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(batch))}) AS v "
        f"WHERE {quote(table)}.{quote(pk.column)} = v.column1"
    )
    return sql, params
