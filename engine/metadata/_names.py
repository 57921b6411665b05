"""Naming rules and the text rules every definition shares: identifiers, reserved names
(SQL key words included), labels derived from names, and characters no text may hold.

Words a field name may not be, because a column of that name needs quoting somewhere.

The list is written out by hand instead of taken from SQLAlchemy's dialects: this package
must not import SQLAlchemy (see ``README.md``), and a definition that is valid must stay
valid when a dependency is upgraded, so the list changes only when we change it here.

A word is refused when a hand-written query on either supported database would trip on
it unquoted:
- PostgreSQL's reserved key words, including those "reserved (can be function or type)"
  (PostgreSQL documentation, appendix C, "SQL Key Words"), and
- the reserved words of SQL:2016 (ISO/IEC 9075-2:2016, section 5.2) that SQLite also
  treats as key words (https://sqlite.org/lang_keywords.html).
Words reserved only in the standard (``date``, ``value``, ``year``, ``rank``, ``lead``,
``position``) or only key words in SQLite (``key``, ``action``, ``plan``, ``first``) are
ordinary column names on both databases and too common in a CRM to forbid.

Entity names are exempt: table names are always quoted (the business needs ``order``).

Characters no definition text may hold, wherever it is in a document.

A JSON escape can spell two characters that cannot be stored or printed: a lone UTF-16
surrogate (``"\\ud800"``), which has no UTF-8 form at all, and NUL (``"\\u0000"``), which
PostgreSQL text columns refuse. Both are refused once, as the document is read, so that
no later stage (stored form, labels in the admin, columns on PostgreSQL) meets them.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import Problem
from engine.metadata._model import SYSTEM_FIELDS, Label, SourceRef
from engine.metadata._problems import child, problem

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


_SQL_2016 = """
abs acos all allocate alter and any are array array_agg array_max_cardinality as asensitive
asin asymmetric at atan atomic authorization avg
begin begin_frame begin_partition between bigint binary blob boolean both by
call called cardinality cascaded case cast ceil ceiling char char_length character
character_length check classifier clob close coalesce collate collect column commit condition
connect constraint contains convert copy corr corresponding cos cosh count covar_pop covar_samp
create cross cube cume_dist current current_catalog current_date current_default_transform_group
current_path current_role current_row current_schema current_time current_timestamp
current_transform_group_for_type current_user cursor cycle
date day deallocate dec decfloat decimal declare default define delete dense_rank deref describe
deterministic disconnect distinct double drop dynamic
each element else empty end end_frame end_partition end-exec equals escape every except exec
execute exists exp external extract
false fetch filter first_value float floor for foreign frame_row free from full function fusion
get global grant group grouping groups
having hold hour
identity in indicator initial inner inout insensitive insert int integer intersect intersection
interval into is
join json_array json_arrayagg json_exists json_object json_objectagg json_query json_table
json_table_primitive json_value
lag language large last_value lateral lead leading left like like_regex listagg ln local
localtime localtimestamp log log10 lower
match match_number match_recognize matches max measures member merge method min minute mod
modifies module month multiset
national natural nchar nclob new no none normalize not nth_value ntile null nullif numeric
occurrences_regex octet_length of offset old omit on one only open or order out outer over
overlaps overlay
parameter partition pattern per percent percent_rank percentile_cont percentile_disc period
portion position position_regex power precedes precision prepare primary procedure ptf
range rank reads real recursive ref references referencing regr_avgx regr_avgy regr_count
regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy release result return returns
revoke right rollback rollup row row_number rows running
savepoint scope scroll search second seek select sensitive session_user set show similar sin
sinh skip smallint some specific specifictype sql sqlexception sqlstate sqlwarning sqrt start
static stddev_pop stddev_samp submultiset subset substring substring_regex succeeds sum
symmetric system system_time system_user
table tablesample tan tanh then time timestamp timezone_hour timezone_minute to trailing
translate translate_regex translation treat trigger trim trim_array true truncate
uescape union unique unknown unnest update upper user using
value value_of values var_pop var_samp varbinary varchar varying versioning
when whenever where width_bucket window with within without
year
"""

_POSTGRESQL = """
all analyse analyze and any array as asc asymmetric both case cast check collate column
constraint create current_catalog current_date current_role current_time current_timestamp
current_user default deferrable desc distinct do else end except false fetch for foreign from
grant group having in initially intersect into lateral leading limit localtime localtimestamp
not null offset on only or order placing primary references returning select session_user some
symmetric system_user table then to trailing true union unique user using variadic when where
window with
authorization binary collation concurrently cross current_schema freeze full ilike inner is
isnull join left like natural notnull outer overlaps right similar tablesample verbose
"""

_SQLITE = """
abort action add after all alter always analyze and as asc attach autoincrement before begin
between by cascade case cast check collate column commit conflict constraint create cross
current current_date current_time current_timestamp database default deferrable deferred delete
desc detach distinct do drop each else end escape except exclude exclusive exists explain fail
filter first following for foreign from full generated glob group groups having if ignore
immediate in index indexed initially inner insert instead intersect into is isnull join key last
left like limit match materialized natural no not nothing notnull null nulls of offset on or
order others outer over partition plan pragma preceding primary query raise range recursive
references regexp reindex release rename replace restrict returning right rollback row rows
savepoint select set table temp temporary then ties to transaction trigger unbounded union unique
update using vacuum values view virtual when where window with without
"""

#: Lower-case words no field may be named (see the module docstring for the sources).
SQL_RESERVED_WORDS: frozenset[str] = frozenset(_POSTGRESQL.split()) | (
    frozenset(_SQL_2016.split()) & frozenset(_SQLITE.split())
)


def is_sql_keyword(name: str) -> bool:
    """Whether ``name`` (any case) is reserved in SQL:2016, PostgreSQL or SQLite."""
    return name.lower() in SQL_RESERVED_WORDS


_INVALID = re.compile("[\x00\ud800-\udfff]")


def _what(character: str) -> str:
    if character == "\x00":
        return "a NUL character (\\u0000), which PostgreSQL cannot store in text"
    return f"a lone surrogate (\\u{ord(character):04x}), which is not a character of any text"


def _problem(text: str, where: SourceRef, *, key: bool) -> Problem | None:
    found = _INVALID.search(text)
    if found is None:
        return None
    kind = "the key" if key else "the text"
    shown = _INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text[:60])
    message = (
        f"{kind} '{shown}' holds, at position {found.start()}, {_what(found.group())}; "
        "remove it or write the intended character."
    )
    return problem("invalid_character", message, where)


def invalid_character_problems(value: Any, where: SourceRef) -> list[Problem]:
    """An ``invalid_character`` problem for each string (key or value) in ``value`` that
    holds a NUL or a lone surrogate. A bad key is reported at its object (its own pointer
    would hold the character), and what is below it is not searched."""
    problems: list[Problem] = []
    pending: list[tuple[Any, SourceRef]] = [(value, where)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, str):
            found = _problem(item, at, key=False)
            if found is not None:
                problems.append(found)
        elif isinstance(item, dict):
            for key, member in item.items():
                bad_key = _problem(key, at, key=True)
                if bad_key is not None:
                    problems.append(bad_key)
                else:
                    pending.append((member, child(at, key)))
        elif isinstance(item, list):
            pending.extend((member, child(at, index)) for index, member in enumerate(item))
    return sorted(problems, key=lambda p: p.pointer or "")
