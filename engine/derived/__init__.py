"""Derived fields at run time: computes and rollups kept true in the unit of work.

The definitions side (keys, checks, the dependency graph) is :mod:`engine.metadata._derived`;
this package compiles a version's derived fields once (:class:`DerivedPlan`) and keeps them
current on every write (:class:`DerivedService`, asked by the record service).
"""

from __future__ import annotations

from ._plan import DerivedPlan, Rollup, entities_to_backfill
from ._service import DerivedService
from ._settle import settle

__all__ = ["DerivedPlan", "DerivedService", "Rollup", "entities_to_backfill", "settle"]
