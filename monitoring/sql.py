"""SQL normalisation (with sqlparse's lexer) and fingerprints.

A statement's shape, with every literal and parameter replaced by `?`, lists of
them collapsed to one, comments dropped, keywords upper-cased and whitespace
squeezed: the same query with other values has the same fingerprint, and no
value (a customer's e-mail, a token) is ever stored.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from sqlparse import lexer
from sqlparse import tokens as T

PLACEHOLDER = "?"


@lru_cache(maxsize=8192)
def normalise(sql: str) -> str:
    out: list[str] = []
    depth = 0  # parentheses open at this point
    for ttype, value in _tokens(sql):
        if ttype in T.Comment:
            continue
        if ttype in T.Whitespace:
            if out and out[-1] != " ":
                out.append(" ")
            continue
        if ttype in T.Name.Placeholder or ttype in T.Number or ttype in T.String.Single:
            _emit_placeholder(out, inside_parentheses=depth > 0)
        elif ttype in T.Keyword:
            out.append(value.upper())
        else:
            depth += {"(": 1, ")": -1}.get(value, 0)
            out.append(value)
    text = "".join(out).strip().rstrip(";").strip()
    # VALUES (?, ?), (?, ?) ... has become (?), (?) ...: one row shape is enough.
    while "(?), (?)" in text or "(?),(?)" in text:
        text = text.replace("(?), (?)", "(?)").replace("(?),(?)", "(?)")
    return text


def _tokens(sql: str):
    """(type, text) of each token. The lexer alone: grouping them into a tree, as
    sqlparse.parse does, adds nothing here and refuses statements past 10,000 tokens
    (a bulk insert of a few thousand rows)."""
    return lexer.tokenize(sql)


def _emit_placeholder(out: list[str], inside_parentheses: bool) -> None:
    """Append ?, folding `(?, ?, ?)` (IN lists, VALUES rows) into `(?)`."""
    meaningful = [item for item in out[-4:] if item != " "]
    if (
        inside_parentheses
        and len(meaningful) >= 2
        and meaningful[-1] == ","
        and meaningful[-2] == PLACEHOLDER
    ):
        while out and out[-1] in (" ", ","):
            out.pop()
        return
    out.append(PLACEHOLDER)


@lru_cache(maxsize=8192)
def fingerprint(sql: str) -> tuple[str, str]:
    """(fingerprint, normalised statement) of a statement as the ORM sent it."""
    statement = normalise(sql)
    digest = hashlib.blake2b(statement.encode(), digest_size=8).hexdigest()
    return digest, statement


def is_single_select(statement: str) -> bool:
    """True for exactly one SELECT statement (what EXPLAIN on demand accepts).

    Read from the lexer's tokens, as normalise does: sqlparse.parse refuses the
    statements past 10,000 tokens that a bulk UPDATE ... VALUES of a few thousand rows is.
    The statement's kind is its first DML keyword outside parentheses, so a WITH whose
    subqueries select and whose body deletes is a DELETE."""
    depth, kind, ended = 0, None, False
    for ttype, value in _tokens(statement):
        if ttype in T.Whitespace or ttype in T.Comment:
            continue
        if ended:  # something follows the first statement's semicolon
            return False
        if value == ";":
            ended = True
        elif value in ("(", ")"):
            depth += 1 if value == "(" else -1
        elif depth == 0 and kind is None and ttype in T.Keyword.DML:
            kind = value.upper()
    return kind == "SELECT"


def numbered_placeholders(statement: str) -> tuple[str, int]:
    """The statement with each ? turned into $1, $2 ... (PostgreSQL's PREPARE), and their count."""
    out: list[str] = []
    count = 0
    for ttype, value in _tokens(statement):
        if ttype in T.Name.Placeholder:
            count += 1
            out.append(f"${count}")
        else:
            out.append(value)
    return "".join(out), count
