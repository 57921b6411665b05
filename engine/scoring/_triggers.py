"""The engine's own plugin that keeps scores fresh: rescoring on save, on transition and
when a workflow's ``rescore`` action asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.hooks import hookimpl

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


@hookimpl
def crm_record_saved(engine: CrmEngine, entity: str, record: dict[str, Any]) -> None:
    engine.scoring.on_event(entity, record["id"], "save")


@hookimpl
def crm_transition(engine: CrmEngine, entity: str, record: dict[str, Any]) -> None:
    engine.scoring.on_event(entity, record["id"], "transition")


@hookimpl
def crm_rescore(engine: CrmEngine, entity: str, record_ids: list[int], scorings: list[str]) -> None:
    names: list[str | None] = list(scorings) if scorings else [None]  # None: every scoring of the entity
    for name in names:
        engine.scoring.run(entity=entity, scoring=name, record_ids=record_ids)
