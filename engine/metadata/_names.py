"""Naming rules: identifiers, reserved names, and labels derived from names."""

from __future__ import annotations

import re

from engine.errors import Problem
from engine.metadata._model import SYSTEM_FIELDS, Label, SourceRef
from engine.metadata._problems import problem
from engine.metadata._sql_keywords import is_sql_keyword

#: Entity, field, bundle and choice-free names: snake_case, at most 63 characters
#: (PostgreSQL truncates longer identifiers). The same pattern is in common.schema.json.
IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]{0,62}$"
IDENTIFIER_RULE = (
    "use snake_case: a lower-case letter first, then lower-case letters, digits or '_', at most 63 characters"
)
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
#: Tables the engine keeps for itself start with this; entity names may not.
SYSTEM_TABLE_PREFIX = "crm_"
#: Prefixes the databases keep for their own catalogs: SQLite refuses to create a table
#: called ``sqlite_...``, and ``pg_...`` names clash with PostgreSQL's catalog tables.
DATABASE_TABLE_PREFIXES = ("sqlite_", "pg_")
#: Columns every PostgreSQL table has already: a field of that name cannot be created there
#: (a definition valid on SQLite must not fail when applied to PostgreSQL).
DATABASE_SYSTEM_COLUMNS = ("ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid")


def is_identifier(name: object) -> bool:
    """Whether ``name`` is a valid snake_case identifier."""
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def snake_case(name: str) -> str | None:
    """The snake_case spelling of ``name`` (``ContactEmail`` → ``contact_email``), if any."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    snake = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if snake and not snake[0].isalpha():
        snake = "f_" + snake
    snake = snake[:63].rstrip("_")
    return snake if snake and snake != name and is_identifier(snake) else None


def derive_label(name: str) -> Label:
    """The label a name gets when none is written: ``contact_email`` → ``Contact email``."""
    words = " ".join(part for part in name.split("_") if part)
    text = words[:1].upper() + words[1:]
    return Label(text or name)


def field_name_problems(name: str, where: SourceRef) -> list[Problem]:
    """``reserved_name`` / ``sql_keyword`` problems of a field name (already snake_case)."""
    if name in SYSTEM_FIELDS:
        message = (
            f"{name!r} is a system field every record already has "
            f"({', '.join(SYSTEM_FIELDS)}); choose another name for this field."
        )
        return [problem("reserved_name", message, where)]
    if name in DATABASE_SYSTEM_COLUMNS:
        message = (
            f"{name!r} is a system column of every PostgreSQL table "
            f"({', '.join(DATABASE_SYSTEM_COLUMNS)}); choose another name for this field."
        )
        return [problem("reserved_name", message, where)]
    if is_sql_keyword(name):
        message = (
            f"{name!r} is a reserved word in SQL (SQL:2016, PostgreSQL or SQLite); choose a "
            "more specific name ('close_date' rather than 'date', 'sort_order' rather than "
            "'order')."
        )
        return [problem("sql_keyword", message, where)]
    return []


def entity_name_problems(name: str, where: SourceRef) -> list[Problem]:
    """``reserved_name`` problems of an entity name (SQL keywords are fine: tables are quoted)."""
    if name.startswith(SYSTEM_TABLE_PREFIX):
        message = (
            f"entity names may not start with {SYSTEM_TABLE_PREFIX!r}: the engine's own tables "
            f"use that prefix. Rename it, e.g. {name[len(SYSTEM_TABLE_PREFIX) :] or 'item'!r}."
        )
        return [problem("reserved_name", message, where)]
    for prefix in DATABASE_TABLE_PREFIXES:
        if name.startswith(prefix):
            message = (
                f"entity names may not start with {prefix!r}: the database keeps that prefix for "
                f"its own tables. Rename it, e.g. {name[len(prefix) :] or 'item'!r}."
            )
            return [problem("reserved_name", message, where)]
    return []
