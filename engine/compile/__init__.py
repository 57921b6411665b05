"""Compile definitions into what runs: tables, record schemas and validators.

Pure: a definition goes in, SQLAlchemy tables, marshmallow schemas and generated
validators come out, and nothing mutates them afterwards (see ``README.md``).
"""

from __future__ import annotations

from engine.compile._conditions import ConditionKind, SqlBool, column_kind, condition_sql
from engine.compile._csv import CsvRowConverter, compile_csv_reader
from engine.compile._rules import DATE_RE, NUMERIC_RE, record_problem, unstorable
from engine.compile._schema import RecordSchema, build_record_schema, load_record
from engine.compile._spreadsheet import neutralise, unneutralise
from engine.compile._tables import NAMING_CONVENTION, build_metadata, system_columns
from engine.compile._types import (
    SQLITE_MAX_PRECISION,
    ExactDecimal,
    UTCDateTime,
    bulk_bind_processor,
    column_type,
    plain_number,
    stored_number,
)
from engine.compile._validator import RecordValidator, compile_validator, field_validator

__all__ = [
    "DATE_RE",
    "NAMING_CONVENTION",
    "NUMERIC_RE",
    "SQLITE_MAX_PRECISION",
    "ConditionKind",
    "CsvRowConverter",
    "ExactDecimal",
    "RecordSchema",
    "RecordValidator",
    "SqlBool",
    "UTCDateTime",
    "build_metadata",
    "build_record_schema",
    "bulk_bind_processor",
    "column_kind",
    "column_type",
    "compile_csv_reader",
    "compile_validator",
    "condition_sql",
    "field_validator",
    "load_record",
    "neutralise",
    "plain_number",
    "record_problem",
    "stored_number",
    "system_columns",
    "unneutralise",
    "unstorable",
]
