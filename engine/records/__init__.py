"""Records: the service layer every edge (CLI, API, admin, import) goes through."""

from __future__ import annotations

from ._checks import unique_conflicts, unknown_owners
from ._filters import OPERATORS, compile_sort, compile_where
from ._json import record_json
from ._search import searched_fields
from ._service import MAX_PAGE, Page, Record, RecordService, new_change_id

__all__ = [
    "MAX_PAGE",
    "OPERATORS",
    "Page",
    "Record",
    "RecordService",
    "compile_sort",
    "compile_where",
    "new_change_id",
    "record_json",
    "searched_fields",
    "unique_conflicts",
    "unknown_owners",
]
