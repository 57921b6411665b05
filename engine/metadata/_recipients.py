"""Who a ``notify`` action tells: the recipients written under ``to``.

A recipient is one of four forms, each with one meaning:

- ``"owner"``: the user named by the record's ``owner`` field;
- ``{"role": "finance"}``: every active user holding the role;
- ``{"user": "wang.fang"}``: that user;
- ``{"field": "account_manager"}``: the user named by a field of the record (a string
  field, or one of the system fields holding a user's name: ``owner``, ``created_by``).

Here they are read into frozen :class:`Recipient` values and checked against the entity
(:func:`recipient_field_problems`) and the defined roles (:func:`recipient_role_problems`);
who they are at run time is decided by ``engine.notifications``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.errors import Problem
from engine.metadata._model import EntityDef, SourceRef
from engine.metadata._problems import child, did_you_mean, problem, quoted_list

RecipientKind = Literal["owner", "role", "user", "field"]
#: System fields that hold a user's name, and so may be named by ``{"field": ...}``.
USER_SYSTEM_FIELDS = ("owner", "created_by")
#: Field types that can hold a user's name.
USER_FIELD_TYPES = ("string",)


@dataclass(frozen=True)
class Recipient:
    """One entry of a notify action's ``to``; ``name`` is the role, user or field named
    (``owner`` for the owner)."""

    kind: RecipientKind
    name: str = "owner"

    def to_json(self) -> str | dict[str, str]:
        """The recipient as written in a document."""
        return "owner" if self.kind == "owner" else {self.kind: self.name}

    def describe(self) -> str:
        """A short text for messages: ``owner``, ``role finance``, ``user wang.fang`` …"""
        return "owner" if self.kind == "owner" else f"{self.kind} {self.name}"


def recipients_from_json(items: Sequence[Any]) -> tuple[Recipient, ...]:
    """The recipients of a ``to`` list the meta-schema accepted."""
    out: list[Recipient] = []
    for item in items:
        if item == "owner":
            out.append(Recipient("owner"))
            continue
        ((kind, name),) = item.items()
        if kind not in ("role", "user", "field"):
            raise ValueError(f"not a recipient: {item!r}")
        out.append(Recipient(kind, str(name)))
    return tuple(out)


def recipients_to_json(recipients: Iterable[Recipient]) -> list[str | dict[str, str]]:
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
        if recipient.kind != "field" or recipient.name in USER_SYSTEM_FIELDS:
            continue
        at = child(where, index, "field")
        field = entity.fields.get(recipient.name)
        if field is None:
            hint = did_you_mean(recipient.name, [*entity.fields, *USER_SYSTEM_FIELDS])
            message = f"{recipient.name!r} is not a field of {entity.name!r}.{hint}"
            problems.append(problem("unknown_field", message, at))
        elif field.type not in USER_FIELD_TYPES:
            message = (
                f"{recipient.name!r} is a {field.type} field and cannot hold a user's name; notify "
                f"a string field holding one, or 'owner'."
            )
            problems.append(problem("not_user_field", message, at))
    return problems


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
