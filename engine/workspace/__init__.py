"""What a sales user works from: their day (``my_day``), the dashboard's figures
(``dashboard`` over a ``Period``), the org charts under a record (``org_charts``) and,
beside them, the pipeline boards (``engine.workflow.board``). Read models over the services
every edge uses."""

from __future__ import annotations

from ._dashboard_figures import LEAD_ENTITIES, WON_STATES, Dashboard, Figure, Pipeline, Stage, dashboard, won_states
from ._hierarchy import Badge, Hierarchy, Node, OrgChart, hierarchies_of, org_charts
from ._my_day import WORK_ITEM_FIELDS, MyDay, WorkItem, is_work_entity, my_day, work_fields
from ._periods import PERIODS, Period, period_of

__all__ = [
    "LEAD_ENTITIES",
    "PERIODS",
    "WON_STATES",
    "WORK_ITEM_FIELDS",
    "Badge",
    "Dashboard",
    "Figure",
    "Hierarchy",
    "MyDay",
    "Node",
    "OrgChart",
    "Period",
    "Pipeline",
    "Stage",
    "WorkItem",
    "dashboard",
    "hierarchies_of",
    "is_work_entity",
    "my_day",
    "org_charts",
    "period_of",
    "won_states",
    "work_fields",
]
