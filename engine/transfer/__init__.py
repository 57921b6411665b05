"""Moving records in and out in bulk: CSV import (validated, streaming) and export."""

from __future__ import annotations

from ._copy import BulkWriter, copy_rows
from ._export import export_csv
from ._import import MAINTAINED_COLUMNS, CsvImporter, ImportReport, import_csv

__all__ = ["MAINTAINED_COLUMNS", "BulkWriter", "CsvImporter", "ImportReport", "copy_rows", "export_csv", "import_csv"]
