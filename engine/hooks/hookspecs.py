"""The hooks plugins implement (pluggy, as pytest uses it). Every hook is prefixed ``crm_``
and called with keyword arguments only; a plugin implements any subset, with any subset
of each hook's arguments.

Write an implementation with ``engine.hooks.hookimpl``::

    from engine.hooks import hookimpl

    @hookimpl
    def crm_transition(entity, record, transition, to_state):
        ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from engine.presets import DemoGenerator
    from engine.runtime import CrmEngine
    from engine.scoring import Scorer

hookspec = pluggy.HookspecMarker("crm")


@hookspec
def crm_register_scorers() -> list[Scorer]:
    """Return the scorers this plugin offers (see :class:`engine.scoring.Scorer`).

    Called once when the engine loads its plugins; every plugin's list is collected.
    Two scorers with one name are an error that names both plugins.
    """
    raise NotImplementedError  # a specification: pluggy calls the implementations only


@hookspec
def crm_transition(
    engine: CrmEngine,
    entity: str,
    record: dict[str, Any],
    workflow: str,
    transition: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    inputs: dict[str, Any],
) -> None:
    """A workflow transition was committed.

    Called after the transaction commits; an exception is reported with the plugin's name
    and does not undo the transition or stop other plugins.

    :param engine: the engine the record lives in.
    :param entity: the entity name.
    :param record: the record after the transition (Python values).
    :param workflow: the workflow name.
    :param transition: the transition name (or the escalation's, for ``crm workflow tick``).
    :param from_state: the state before.
    :param to_state: the state after.
    :param actor: the user who ran it (``system`` for escalations).
    :param inputs: the transition's inputs as given.
    """


@hookspec
def crm_record_saved(engine: CrmEngine, entity: str, record: dict[str, Any], created: bool, actor: str | None) -> None:
    """A record was created or updated through the record service (after the commit).

    Bulk imports do not call it per record; run ``crm score run`` after an import.

    :param record: the record as saved.
    :param created: True for a new record.
    """


@hookspec
def crm_notify(engine: CrmEngine, topic: str, entity: str, record: dict[str, Any], actor: str) -> None:
    """A ``notify`` action ran: deliver the notification (mail, chat, ...).

    Called after the transaction commits; errors are reported, never raised.

    :param topic: the action's topic (``order_approved``...).
    """


@hookspec
def crm_rescore(engine: CrmEngine, entity: str, record_ids: list[int], scorings: list[str]) -> None:
    """A ``rescore`` action asks for scores of these records to be recomputed.

    :param scorings: the scoring definitions to run; empty means every one of the entity.
    """


@hookspec(firstresult=True)
def crm_demo_generator() -> DemoGenerator | None:
    """Return the generator of demo data (see :class:`engine.presets.DemoGenerator`), or None
    to leave it to another plugin.

    ``firstresult``: the first generator returned is used. Plugins are asked in reverse order
    of registration, so an installed plugin's generator replaces the built-in one
    (``plugins.demo``, offered by ``plugins.builtin``). Called each time demo data is made
    (``crm preset load --demo``, the admin UI, the REST API) and for the demo sign-ins.
    """
