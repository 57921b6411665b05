"""Who acts on a service call: a :class:`~engine.users.User`, or the engine itself as a
:class:`SystemActor` that says why.

Every service method that reads or writes records takes an :data:`Actor`; there is no
"nobody" that skips the checks. A user's permissions apply to what they do. The system
actor passes the permission checks (it acts for the engine: imports, workflow actions,
cascades, demo data), and what else it may do is a capability it carries, not a flag
of the call: only a workflow's actor writes state fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ._service import User

#: What the audit trail and the outbox record for the system's own work: ``system:<reason>``.
SYSTEM_PREFIX = "system:"


@dataclass(frozen=True)
class SystemActor:
    """The engine acting on its own account, for a stated ``reason``.

    :param reason: why the system acts (``import``, ``workflow action``, ``test`` …); required.
    :param on_behalf_of: the user whose request this work carries out (a workflow's actions
        run for the user who ran the transition): the writes are recorded as theirs and
        new records are theirs. Without it, the writes are recorded as ``system:<reason>``
        and new records have no owner.
    :param writes_workflow_fields: may change workflow state fields (the workflow service).
    :param writes_read_only: may write fields the definitions mark read-only (services that
        own them: workflow actions, delete cascades).
    """

    reason: str
    on_behalf_of: str | None = None
    writes_workflow_fields: bool = False
    writes_read_only: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("a system actor states its reason, e.g. SystemActor('import')")

    @property
    def name(self) -> str:
        """Who the writes are recorded as (audit trail, outbox, histories)."""
        return self.on_behalf_of or f"{SYSTEM_PREFIX}{self.reason}"

    @classmethod
    def workflow(cls, user: str) -> SystemActor:
        """The workflow service moving a record to a new state for ``user``: the only writer of
        state fields (a transition's ``set`` values may write read-only ones too)."""
        return cls("workflow transition", user, writes_workflow_fields=True, writes_read_only=True)

    @classmethod
    def workflow_action(cls, user: str) -> SystemActor:
        """A transition's or an escalation's actions (create, assign, set) run for ``user``."""
        return cls("workflow action", user, writes_read_only=True)

    @classmethod
    def cascade(cls, name: str) -> SystemActor:
        """A deletion clearing the references to the deleted record, recorded as ``name``
        (who deleted it)."""
        return cls("delete cascade", name, writes_read_only=True)


#: Whoever acts on a service call.
Actor: TypeAlias = User | SystemActor


def user_of(actor: Actor) -> User | None:
    """The user whose permissions apply to ``actor``'s call; ``None`` for the system, which
    passes every permission check."""
    return actor if isinstance(actor, User) else None


def owner_of_new(actor: Actor) -> str | None:
    """Who owns a record ``actor`` creates without naming an owner: the user (or the user the
    system acts for); nobody for the system's own records."""
    return actor.name if isinstance(actor, User) else actor.on_behalf_of
