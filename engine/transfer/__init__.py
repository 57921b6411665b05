"""Moving records in and out in bulk: CSV import (validated, streaming, revertible) and export."""

from __future__ import annotations

from ._copy import BulkWriter, copy_rows
from ._export import export_csv
from ._import import MAINTAINED_COLUMNS, CsvImporter, import_csv
from ._import_support import ImportReport
from ._input import ENCODINGS, ImportFormat, check_mapping, delimiter_of, read_mapping
from ._ledger import list_imports
from ._revert import RevertReport, revert_import

__all__ = [
    "ENCODINGS",
    "MAINTAINED_COLUMNS",
    "BulkWriter",
    "CsvImporter",
    "ImportFormat",
    "ImportReport",
    "RevertReport",
    "check_mapping",
    "copy_rows",
    "delimiter_of",
    "export_csv",
    "import_csv",
    "list_imports",
    "read_mapping",
    "revert_import",
]
