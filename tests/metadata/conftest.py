"""Fixtures of the definition-language tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from metadata_support import Writer, write_file


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """``write("sales/bundle.json", {...})`` writes under the test's tmp_path."""
    return lambda relative, content: write_file(tmp_path, relative, content)
