"""Cursor pagination of record lists: opaque, signed cursors that continue after a record.

A list's ``next`` link carries a ``cursor``: the values of the sort keys of the page's last
record (and its id, which breaks ties), signed with the app's secret key and bound to the
entity, ``where``, ``sort`` and ``q`` of the request. The next page is the records *after*
those values in the list's order (a keyset, expressed in the ``where`` grammar the records
service compiles), so records inserted or deleted meanwhile neither repeat nor skip a record
of the walk; offsets stay for compatibility. A cursor that was tampered with, or sent with
another filter, sort or search, is refused (400 ``invalid_cursor``).

The order is the records service's: each sort key in its direction with empty values last
(on both databases), then ``id`` ascending. Sort keys whose values have no order in the
``where`` grammar (``json``, ``multi_enum``) make no cursor: the ``next`` link of such a list
uses ``offset``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from engine.errors import CrmError, Problem
from engine.metadata import ORDERABLE_TYPES, EntityDef

_SALT = "crm-engine.list-cursor"
#: System columns every record has, with their types (as the records service's filters know them).
_SYSTEM_TYPES: Mapping[str, str] = {
    "id": "integer",
    "version": "integer",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "string",
    "owner": "string",
}


class InvalidCursorError(CrmError):
    """A ``cursor`` that this server did not make for this list (tampered with, or sent
    with another ``where``, ``sort`` or ``q``)."""

    code = "invalid_cursor"
    http_status = 400


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool
    type: str


@dataclass(frozen=True)
class Cursor:
    """Where a walk stands: the last record's sort values (then its id) and how many records came before."""

    after: tuple[Any, ...]
    seen: int


def order_keys(definition: EntityDef, sort: str | None) -> tuple[SortKey, ...] | None:
    """The keys that order the list (``id`` last), or None when a key has no order a cursor
    can continue from (an unknown key is left for the records service to refuse)."""
    keys: list[SortKey] = []
    named: set[str] = set()
    for key in (k.strip() for k in (sort or "").split(",")):
        name = key.lstrip("-+")
        if not name or name in named:
            continue  # a repeated key orders nothing the first did not
        field = definition.fields.get(name)
        kind = field.type if field is not None else _SYSTEM_TYPES.get(name)
        if kind is None or kind not in ORDERABLE_TYPES:
            return None
        keys.append(SortKey(name, key.startswith("-"), kind))
        named.add(name)
        if name == "id":
            return tuple(keys)  # ids are unique: nothing after them orders anything
    keys.append(SortKey("id", False, "integer"))
    return tuple(keys)


def binding(entity: str, where: Any, sort: str | None, search: str | None) -> str:
    """What a cursor is bound to: the list's entity, filter, sort and search."""
    canonical = json.dumps(
        [entity, where, (sort or "").replace(" ", ""), (search or "").strip()],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt=_SALT)


def encode(bound: str, after: tuple[Any, ...], seen: int) -> str:
    """The opaque cursor of a position in the list ``bound`` names."""
    return str(_serializer().dumps({"b": bound, "a": list(after), "n": seen}))


def _refused(message: str) -> InvalidCursorError:
    return InvalidCursorError(f"cursor: {message}", [Problem(code="invalid_cursor", field="cursor", message=message)])


def decode(token: str, bound: str, keys: tuple[SortKey, ...] | None) -> Cursor:
    """The position ``token`` names; :class:`InvalidCursorError` unless this server made it
    for the same list (``bound``)."""
    try:
        payload = _serializer().loads(token)
    except (BadSignature, ValueError, UnicodeError):
        raise _refused("is not a cursor of this server; follow the next link of a list") from None
    if not isinstance(payload, dict) or payload.get("b") != bound or keys is None:
        raise _refused("belongs to another where, sort or q; send the parameters of the page it came from")
    after, seen = payload.get("a"), payload.get("n")
    if not isinstance(after, list) or len(after) != len(keys) or not isinstance(seen, int):
        raise _refused("is not a cursor of this list")
    return Cursor(tuple(after), seen)


def last_values(keys: tuple[SortKey, ...], record: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The sort values of a record in JSON form (None when one is not shown to the user)."""
    if any(k.name not in record for k in keys):
        return None
    return tuple(record[k.name] for k in keys)


def _after(key: SortKey, value: Any) -> dict[str, Any] | None:
    """Records whose ``key`` comes after ``value`` in the list's order (empty values last)."""
    if value is None:
        return None  # only other empty values follow, and they tie
    if key.type == "boolean":  # no lt/gt on booleans: false, true, empty (descending: true, false, empty)
        if value is (not key.descending):
            return {key.name: None}
        return {"or": [{key.name: not value}, {key.name: None}]}
    beyond = {key.name: {"lt" if key.descending else "gt": value}}
    if key.name in _SYSTEM_TYPES and key.name not in ("created_by", "owner"):
        return beyond  # never empty
    return {"or": [beyond, {key.name: None}]}


def keyset_where(keys: tuple[SortKey, ...], cursor: Cursor) -> dict[str, Any]:
    """The records after the cursor's, as a ``where`` document."""
    branches: list[dict[str, Any]] = []
    ties: list[dict[str, Any]] = []
    for key, value in zip(keys, cursor.after, strict=True):
        after = _after(key, value)
        if after is not None:
            branches.append({"and": [*ties, after]} if ties else after)
        ties.append({key.name: value})
    return {"or": branches} if branches else {"id": {"lt": 0}}
