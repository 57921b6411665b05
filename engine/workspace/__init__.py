"""What a sales user works from: their day (``my_day``), the org charts under a record
(``org_charts``) and, beside them, the pipeline boards
(``engine.workflow.board``). Read models over the services every edge uses."""

from __future__ import annotations

from ._hierarchy import Badge, Hierarchy, Node, OrgChart, hierarchies_of, org_charts
from ._my_day import WORK_ITEM_FIELDS, MyDay, WorkItem, is_work_entity, my_day, work_fields

__all__ = [
    "WORK_ITEM_FIELDS",
    "Badge",
    "Hierarchy",
    "MyDay",
    "Node",
    "OrgChart",
    "WorkItem",
    "hierarchies_of",
    "is_work_entity",
    "my_day",
    "org_charts",
    "work_fields",
]
