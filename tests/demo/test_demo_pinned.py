"""The demo data of fixed bundles and presets, pinned by a digest of every row it writes.

The generator promises the same rows, byte for byte, for the same definitions, size, seed
and ``now``. A change that alters the data must say so here. Last changed when the presets
gained automations, which the demo runs as of its ``now`` on the records it creates (an
order's re-check task goes to finance and is closed when the order is approved; a collection
task about a receivable goes to finance) and then catches up the clock as of ``now`` (ended
agreements expire, overdue receivables are flagged). Every digest moved again when users
gained an ``email`` (null in demo data), and the standard product's when a lead without an
account converts by ``convert_new_account``, which the demo does not take (its records link to
one another by ids the bulk writer gives later). The standard product's moved again when its
accounts gained ``last_activity_at`` (the latest done activity, for the customer pool).
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
    ("club", 300, 7): "074af58f85de9540c1e8d5b368b3e7205ed5309a55daa6594316c876fe7a294c",
    ("sales_flow", 300, 11): "28ddf159bbbdfe803a3268021a1edaac808a8534ea6c175c5af583cbbc5b2521",
    ("sales_example", 200, 7): "abc459ff4b88536409d3384aff1ca581a6212234718d7d1ac2f1d5d7799ff22b",
    ("standard_product", 300, 7): "8b6de222b410e4f8d6e2c1b404280dea6aee90d4681973183ea47a27b5db0da2",
    ("key_account_banking", 300, 5): "b2080580f69d5fce4504320fd7db44a251f41daae59155cc60ed70989019bc49",
    # its project approvals rely on an evaluation score the records are then made to earn
    ("complex_sale", 300, 7): "43445e75066d2c42107a0ed9ef57f4ab99afae65714c80ba04d00f2137d57e31",
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
