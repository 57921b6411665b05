"""Records: the service layer every edge (CLI, API, admin, import) goes through."""

from __future__ import annotations

from ._autonumber import fields_to_number, number_existing, number_record, number_rows, numbered_fields
from ._bulk import MAX_BULK, BulkOutcome, BulkResult, BulkTooLargeError, FieldChange, transition_to
from ._checks import unique_conflicts, unknown_owners
from ._conditions import conditional_problems, conditions_holding
from ._display import (
    AMOUNT_TYPES,
    display_text,
    display_texts,
    format_amount,
    format_duration,
    format_value,
    reference_text,
    reference_texts,
)
from ._filters import OPERATORS, compile_sort, compile_where
from ._json import record_json
from ._relative import period_bounds, resolve_relative
from ._search import search_where, searched_fields
from ._service import MAX_PAGE, Page, Record, RecordService
from ._totals import GroupTotal, group_totals
from ._trail import new_change_id

__all__ = [
    "AMOUNT_TYPES",
    "MAX_BULK",
    "MAX_PAGE",
    "OPERATORS",
    "BulkOutcome",
    "BulkResult",
    "BulkTooLargeError",
    "FieldChange",
    "GroupTotal",
    "Page",
    "Record",
    "RecordService",
    "compile_sort",
    "compile_where",
    "conditional_problems",
    "conditions_holding",
    "display_text",
    "display_texts",
    "fields_to_number",
    "format_amount",
    "format_duration",
    "format_value",
    "group_totals",
    "new_change_id",
    "number_existing",
    "number_record",
    "number_rows",
    "numbered_fields",
    "period_bounds",
    "record_json",
    "reference_text",
    "reference_texts",
    "resolve_relative",
    "search_where",
    "searched_fields",
    "transition_to",
    "unique_conflicts",
    "unknown_owners",
]
