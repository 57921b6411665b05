"""Reports: the figures report definitions describe, computed in SQL over the live data.

``run_report(engine, name, params=..., now=...)`` gives a :class:`ReportResult` (columns,
rows, chart hint); ``list_reports`` the reports of the applied definitions. The language is
documented in ``docs/reports.md``.
"""

from __future__ import annotations

from ._result import ColumnType, ReportResult
from ._runner import find_report, list_reports, run_definition, run_report
from ._sql import period_bucket

__all__ = ["ColumnType", "ReportResult", "find_report", "list_reports", "period_bucket", "run_definition", "run_report"]
