"""The keys duplicate rules look candidates up by (``engine.duplicates`` keeps them).

``crm_duplicate_keys`` holds one row per record and rule whose matched fields all have a
value: ``key`` is the record's normalised values of the rule (what is compared), and
``blocking_key`` what a candidate must share with it (the exact parts and, for ``similar``,
the start of the name). The index on (entity, rule, blocking_key) makes a check on create
one index lookup, and a scan one sort, instead of a pass over the records.
``crm_duplicate_rules`` remembers what the stored keys of each rule were built for, so
that applying definitions rebuilds exactly the keys of new and changed rules.
"""

from __future__ import annotations

import sqlalchemy as sa

from ._system_tables import SYSTEM_METADATA

duplicate_keys = sa.Table(
    "crm_duplicate_keys",
    SYSTEM_METADATA,
    sa.Column("entity", sa.String(63), primary_key=True),
    sa.Column("rule", sa.String(63), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("blocking_key", sa.String(500), nullable=False),
    sa.Index("ix_crm_duplicate_keys_block", "entity", "rule", "blocking_key"),
)

duplicate_rules = sa.Table(
    "crm_duplicate_rules",
    SYSTEM_METADATA,
    sa.Column("entity", sa.String(63), primary_key=True),
    sa.Column("rule", sa.String(63), primary_key=True),
    sa.Column("signature", sa.String(2000), nullable=False),
)
