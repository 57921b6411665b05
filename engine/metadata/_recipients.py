"""Who a ``notify`` action tells: the recipients written under ``to``.

A recipient is one of five forms, each with one meaning:

- ``"owner"``: the user named by the record's ``owner`` field;
- ``{"role": "finance"}``: every active user holding the role;
- ``{"user": "wang.fang"}``: that user;
- ``{"field": "account_manager"}``: the user named by a field of the record (a string
  field, or one of the system fields holding a user's name: ``owner``, ``created_by``);
- ``{"children": {"entity": "project_team_member", "reference": "project", "field":
  "member", "where": RULE}}``: the users named by ``field`` on the records of ``entity``
  whose ``reference`` points to the record, for which the optional ``where`` rule (over
  ``record`` and ``child``) holds: a project's team, an account's contacts' reps.

Here they are read into frozen :class:`Recipient` values and checked against the entity
(:func:`recipient_field_problems`) and the defined roles (:func:`recipient_role_problems`);
who they are at run time is decided by ``engine.notifications``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._model import EntityDef, SourceRef
from engine.metadata._problems import child, did_you_mean, problem, quoted_list

RecipientKind = Literal["owner", "role", "user", "field", "children"]
#: System fields that hold a user's name, and so may be named by ``{"field": ...}``.
USER_SYSTEM_FIELDS = ("owner", "created_by")
#: Field types that can hold a user's name.
USER_FIELD_TYPES = ("string",)


@dataclass(frozen=True)
class Recipient:
    """One entry of a notify action's ``to``; ``name`` is the role, user or field named
    (``owner`` for the owner). ``children``: ``name`` is the children's field holding a
    user's name, ``entity`` and ``reference`` say which records are the children, and
    ``where`` (JSON text, so the value stays hashable) which of them count."""

    kind: RecipientKind
    name: str = "owner"
    entity: str | None = None
    reference: str | None = None
    where: str | None = field(default=None)

    @property
    def where_rule(self) -> Any:
        """The ``where`` rule of a ``children`` recipient, or ``None``."""
        return None if self.where is None else json.loads(self.where)

    def to_json(self) -> str | dict[str, Any]:
        """The recipient as written in a document."""
        if self.kind == "owner":
            return "owner"
        if self.kind == "children":
            spec: dict[str, Any] = {"entity": self.entity, "reference": self.reference, "field": self.name}
            if self.where is not None:
                spec["where"] = self.where_rule
            return {"children": spec}
        return {self.kind: self.name}

    def describe(self) -> str:
        """A short text for messages: ``owner``, ``role finance``, ``user wang.fang`` …"""
        if self.kind == "children":
            return f"{self.entity}.{self.name} of the {self.entity} records"
        return "owner" if self.kind == "owner" else f"{self.kind} {self.name}"


def recipients_from_json(items: Sequence[Any]) -> tuple[Recipient, ...]:
    """The recipients of a ``to`` list the meta-schema accepted."""
    out: list[Recipient] = []
    for item in items:
        if item == "owner":
            out.append(Recipient("owner"))
            continue
        ((kind, name),) = item.items()
        if kind == "children":
            where = name.get("where")
            out.append(
                Recipient(
                    "children",
                    str(name["field"]),
                    entity=str(name["entity"]),
                    reference=str(name["reference"]),
                    where=None if where is None else json.dumps(copy.deepcopy(where), sort_keys=True),
                )
            )
            continue
        if kind not in ("role", "user", "field"):
            raise ValueError(f"not a recipient: {item!r}")
        out.append(Recipient(kind, str(name)))
    return tuple(out)


def recipients_to_json(recipients: Iterable[Recipient]) -> list[str | dict[str, Any]]:
    """The ``to`` list of ``recipients``."""
    return [r.to_json() for r in recipients]


def recipient_field_problems(
    recipients: Sequence[Recipient], entity: EntityDef | None, where: SourceRef
) -> list[Problem]:
    """``unknown_field`` / ``not_user_field`` for each ``{"field": F}`` of ``recipients``
    (written at ``where``, the ``to`` list) that cannot hold a user's name."""
    if entity is None:
        return []
    problems: list[Problem] = []
    for index, recipient in enumerate(recipients):
        if recipient.kind == "field":
            problems.extend(user_field_problems(entity, recipient.name, child(where, index, "field")))
    return problems


def user_field_problems(entity: EntityDef, name: str, at: SourceRef) -> list[Problem]:
    """``unknown_field`` / ``not_user_field`` when ``name`` (written at ``at``) is not a
    field of ``entity`` that can hold a user's name."""
    if name in USER_SYSTEM_FIELDS:
        return []
    found = entity.fields.get(name)
    if found is None:
        hint = did_you_mean(name, [*entity.fields, *USER_SYSTEM_FIELDS])
        return [problem("unknown_field", f"{name!r} is not a field of {entity.name!r}.{hint}", at)]
    if found.type not in USER_FIELD_TYPES:
        message = (
            f"{name!r} is a {found.type} field and cannot hold a user's name; notify "
            f"a string field holding one, or 'owner'."
        )
        return [problem("not_user_field", message, at)]
    return []


def recipient_role_problems(
    recipients: Sequence[Recipient], where: SourceRef, roles: Mapping[str, object], known: Iterable[str]
) -> list[Problem]:
    """``unknown_role`` for each ``{"role": R}`` of ``recipients`` (written at ``where``)
    that names no defined role. Without role documents, roles are free names: nothing is
    reported.

    :param roles: the defined roles.
    :param known: every name that counts as a role (defined, built in, or whose document is broken).
    """
    if not roles:
        return []
    accepted = set(known)
    candidates = sorted(accepted)
    problems: list[Problem] = []
    for index, recipient in enumerate(recipients):
        if recipient.kind == "role" and recipient.name not in accepted:
            message = (
                f"the role {recipient.name!r} is not defined; a notify action tells the users holding a "
                f"defined role.{did_you_mean(recipient.name, candidates)} Defined roles: {quoted_list(candidates)}."
            )
            problems.append(problem("unknown_role", message, child(where, index, "role")))
    return problems
