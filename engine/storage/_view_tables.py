"""Saved views people make: a filter, sort, columns and grouping of one entity, personal to
their owner or shared with everyone who may read the entity (``engine.views``)."""

from __future__ import annotations

import sqlalchemy as sa

from engine.compile import UTCDateTime

from ._system_tables import SYSTEM_METADATA, _Id, _Json

views = sa.Table(
    "crm_views",
    SYSTEM_METADATA,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    #: {"en", "zh"}; null: the name in both languages
    sa.Column("label", _Json),
    #: {"where", "sort", "columns", "group_by"} as the user saved them
    sa.Column("definition", _Json, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("shared", sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_crm_views_entity_owner", "entity", "owner"),
)
