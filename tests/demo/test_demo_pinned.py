"""The demo data of fixed bundles and presets, pinned by a digest of every row it writes.

The generator promises the same rows, byte for byte, for the same definitions, size, seed
and ``now``. A change that alters the data must say so here. Last changed when the presets
gained automations, which the demo runs as of its ``now`` on the records it creates (an
order's re-check task goes to finance and is closed when the order is approved; a collection
task about a receivable goes to finance) and then catches up the clock as of ``now`` (ended
agreements expire, overdue receivables are flagged).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from engine.metadata import load_definitions
from engine.presets import generate_demo, load_preset
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW, dump
from tests.demo.test_demo_data import BUNDLES

#: (bundle or preset, size, seed) → sha256 of ``dump`` after generating.
PINNED: dict[tuple[str, int, int], str] = {
    ("club", 300, 7): "f2406c18079d9da0bc043a3b763a6bc1486f3dc5d861465cd4fadc9ff42ce900",
    ("sales_flow", 300, 11): "f277407bce8fcaf8cf95cbe42b92f5c38b937fdc7945ee7ad46ba8c1aa8ae51e",
    ("sales_example", 200, 7): "403e26454587882ad7172eea677a32920d34664ad853ade268763a44d3c7deab",
    ("standard_product", 300, 7): "5bc80627e5c79a7ee9b0f3320d3f6bcc7d5db22d50e93160e1b7289c16f5a316",
    ("key_account_banking", 300, 5): "fc4b37def97c4ffb9e92ad0f3be64833676247d74057627d268c0147ea42d63d",
    # its project approvals rely on an evaluation score the records are then made to earn
    ("complex_sale", 300, 7): "fbee8e4fd0e2689a3e39b0273b16d296c8a237468a5670060f3957ef1d626c10",
}


@pytest.fixture
def crm(database_url: str) -> Iterator[CrmEngine]:
    engine = CrmEngine(database_url)
    yield engine
    engine.close()


@pytest.mark.parametrize(("name", "size", "seed"), list(PINNED), ids=[f"{n}-{s}" for n, s, _ in PINNED])
def test_demo_rows_are_pinned(crm: CrmEngine, name: str, size: int, seed: int) -> None:
    if name in BUNDLES:
        crm.apply(load_definitions(BUNDLES[name]))
    else:
        load_preset(crm, name)
    generate_demo(crm, name, size, seed=seed, now=NOW)
    assert hashlib.sha256(dump(crm).encode()).hexdigest() == PINNED[(name, size, seed)]
