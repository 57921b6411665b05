"""Demo data at size: 100,000 records on SQLite, and the same data in every process.

The timing is printed (``-s``) and written to the terminal summary, never asserted: the
machine decides it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.metadata import load_definitions
from engine.presets import generate_demo
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW, check_history, dump
from tests.support import REPO_ROOT

SALES = REPO_ROOT / "examples" / "sales"
CLUB = Path(__file__).parent / "data" / "club"


@pytest.mark.slow
def test_a_hundred_thousand_records_on_sqlite(sqlite_url: str, record_property: pytest.RecordProperty) -> None:
    with CrmEngine(sqlite_url) as crm:
        crm.apply(load_definitions(SALES))
        started = time.perf_counter()
        written = generate_demo(crm, "sales_example", 100_000, now=NOW)
        seconds = time.perf_counter() - started
        total = sum(written.values())
        record_property("records_per_second", round(total / seconds))
        print(f"\n{total} demo records in {seconds:.1f}s: {total / seconds:.0f} records/s ({written})")
        assert 95_000 <= total <= 105_000
        assert check_history(crm) > total // 10


_DUMP = """
import hashlib, sys
from engine.metadata import load_definitions
from engine.presets import generate_demo
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW, dump
with CrmEngine(sys.argv[1]) as crm:
    crm.apply(load_definitions(sys.argv[2]))
    generate_demo(crm, "club", 600, seed=11, now=NOW)
    print(hashlib.sha256(dump(crm).encode()).hexdigest())
"""


@pytest.mark.slow
def test_the_same_data_whatever_the_hash_seed(tmp_path: Path) -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        url = f"sqlite:///{tmp_path / hash_seed}.db"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _DUMP, url, str(CLUB)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO_ROOT,
            check=True,
        )
        digests.add(done.stdout.strip())
    with CrmEngine(f"sqlite:///{tmp_path / 'here'}.db") as crm:
        crm.apply(load_definitions(CLUB))
        generate_demo(crm, "club", 600, seed=11, now=NOW)
        digests.add(hashlib.sha256(dump(crm).encode()).hexdigest())
    assert len(digests) == 1
