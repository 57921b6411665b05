"""Duplicate rules: normalising values, the keys candidates are looked up by, the check on
every save, the back-fill of keys, and the scan of a whole table for groups of duplicates."""

from __future__ import annotations

from ._import import ImportScreen, LineDuplicate
from ._keys import normal_value, record_key, similarity
from ._normalise import blocking_prefix, company_core, normal_email, normal_phone, normal_text
from ._scan import DuplicateGroup, scan_groups
from ._service import (
    Candidate,
    DuplicateError,
    DuplicateService,
    override_rows,
    refuse_duplicates,
    rules_touched,
)

__all__ = [
    "Candidate",
    "DuplicateError",
    "DuplicateGroup",
    "DuplicateService",
    "ImportScreen",
    "LineDuplicate",
    "blocking_prefix",
    "company_core",
    "normal_email",
    "normal_phone",
    "normal_text",
    "normal_value",
    "override_rows",
    "record_key",
    "refuse_duplicates",
    "rules_touched",
    "scan_groups",
    "similarity",
]
