"""Reading query results straight into DataFrames: one query, no model instances.

On PostgreSQL the rows come through COPY ... TO STDOUT as CSV and pandas' C
parser, several times faster than fetching Python tuples; elsewhere through
the cursor. Only trusted SQL goes in (integers are formatted by `id_list`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pandas as pd
from django.db import connection


def id_list(ids: Iterable[int]) -> str:
    """A SQL list of integers for IN (...): every value goes through int()."""
    values = ",".join(str(int(i)) for i in ids)
    return values or "NULL"


def read_frame(sql: str, dtypes: dict[str, str], dates: Iterable[str] = ()) -> pd.DataFrame:
    """Run a SELECT and return its rows with the given column types.

    dtypes maps every selected column to "int", "float", "str" or "bool"
    ("int" columns may hold NULL: they come back as float).
    """
    columns = list(dtypes)
    if connection.vendor == "postgresql":
        frame = _read_copy(sql, dtypes)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for name, kind in dtypes.items():
        if kind == "bool":
            frame[name] = (
                frame[name].map({True: True, False: False, "t": True, "f": False}).astype(bool)
            )
        elif kind in ("int", "float"):
            frame[name] = pd.to_numeric(frame[name])
            if kind == "int" and not frame[name].isna().any():
                frame[name] = frame[name].astype("int64")
        elif kind == "str":
            frame[name] = frame[name].astype(str)
    for name in dates:
        frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
    return frame


def _read_copy(sql: str, dtypes: dict[str, str]) -> pd.DataFrame:
    buffer = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    read_as = {n: ("float64" if k in ("int", "float") else "str") for n, k in dtypes.items()}
    # Empty unquoted fields are NULL in PostgreSQL's CSV; an empty string is "".
    return pd.read_csv(buffer, dtype=read_as, keep_default_na=False, na_values=[""])
