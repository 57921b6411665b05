"""The hooks plugins implement (pluggy, as pytest uses it). Every hook is prefixed ``crm_``
and called with keyword arguments only, through pluggy's hook relay
(``plugins.hook.crm_transition(...)``); a plugin implements any subset, with any subset of
each hook's arguments. None of them is ``firstresult``: every implementation is called.

Write an implementation with ``engine.hooks.hookimpl``::

    from engine.hooks import hookimpl

    @hookimpl
    def crm_transition(entity, record, transition, to_state):
        ...

``@hookimpl(wrapper=True)`` makes a wrapper: a generator that runs around the other
implementations, receives their results from its ``yield`` and returns the result.
Old-style ``hookwrapper=True`` implementations are refused at load time. An implementation
that raises is reported with its plugin's name and hook; the others still run.
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

    Called once per plugin when the engine loads its plugins (so that each scorer is known
    by the plugin that offered it; a wrapper runs around each plugin's call); every plugin's
    list is collected. Two scorers with one name are an error that names both plugins.
    Not ``firstresult``.
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

    Called after the transaction commits, before the engine rescores the record for the
    scorings triggered by ``transition``; an exception is reported with the plugin's name
    and does not undo the transition or stop other plugins. Not ``firstresult``.

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
    """A record was created or updated (after the commit), whoever wrote it: the API, the
    CLI, the admin UI, a workflow action, an import that updates records by key.

    Called before the engine rescores the record for the scorings triggered by ``save``.
    Records an import inserts in bulk are not called one by one (their batch is one
    ``records.imported`` event, see docs/events.md); run ``crm score run`` after an import.
    Not ``firstresult``.

    :param engine: the engine the record lives in.
    :param entity: the entity name.
    :param record: the record as saved.
    :param created: True for a new record.
    :param actor: the user who saved it, or for the system's own writes ``system:<reason>``
        (None for an import without an actor).
    """


@hookspec
def crm_notify(engine: CrmEngine, topic: str, entity: str, record: dict[str, Any], actor: str) -> None:
    """A ``notify`` action ran: deliver the notification (mail, chat, ...).

    Called after the transaction commits; errors are reported, never raised. Not ``firstresult``.

    :param engine: the engine the record lives in.
    :param topic: the action's topic (``order_approved``...), or the transition's name.
    :param entity: the entity name.
    :param record: the record after the transition.
    :param actor: the user who ran the transition.
    """


@hookspec
def crm_rescore(engine: CrmEngine, entity: str, record_ids: list[int], scorings: list[str]) -> None:
    """A ``rescore`` action asks for scores of these records to be recomputed.

    Called after the transaction commits; the engine then reruns the scorings itself, so a
    plugin implements it only to hear about it (or to refresh scores of its own).
    Not ``firstresult``.

    :param engine: the engine the records live in.
    :param entity: the entity name.
    :param record_ids: the records to rescore.
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
