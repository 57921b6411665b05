"""What a sales user works from: their day (``my_day``) and, beside it, the pipeline boards
(``engine.workflow.board``). Read models over the services every edge uses."""

from __future__ import annotations

from ._my_day import WORK_ITEM_FIELDS, MyDay, WorkItem, is_work_entity, my_day, work_fields

__all__ = ["WORK_ITEM_FIELDS", "MyDay", "WorkItem", "is_work_entity", "my_day", "work_fields"]
