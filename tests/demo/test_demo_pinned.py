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
Every digest moved again when the demo data became coherent by construction (``crm demo
check``): dates of a pair in order, status times that agree with the status, records in force
within their term, stale open records closed, no money received under a lost record, and a
record's company taken from the parent that has one; the standard product's moved again when
workflow records got their numbers before their walk (a re-check task names its order).
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
    ("club", 300, 7): "1f48c373995a0b2081af9ce222467a2bf139f238bab87f4926ba54902d7056ab",
    ("sales_flow", 300, 11): "c876d2565a38c848e95a17393b05172625a8457b9fe5be87ce06133e20702047",
    ("sales_example", 200, 7): "e5dbf66c19196a8708535bd9ee18c3d47cb6e3d1c14d0f63be62e35a580ef85a",
    ("standard_product", 300, 7): "adf84af8ae240e00c82bf39039763f0f787928d5ea9f2b38d56a9c0a851770ef",
    ("key_account_banking", 300, 5): "9b42d2d45c19e6a74291589a9bf8dc54751cee954a6c5a548893cb1995f1bb58",
    # its project approvals rely on an evaluation score the records are then made to earn
    ("complex_sale", 300, 7): "4a46f528b944571a97c366c27b063f76d386c65af016420c47bc8f0744d83369",
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
