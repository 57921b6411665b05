"""What a role reaches beyond its scopes: ``read_via`` references and ``claim_limits``.

``"read_via": ["opportunity.account"]``: each item names an entity and one of its
reference fields; the role reads a record when it may read a record of that entity that
references it through that field (``engine.permissions`` enforces it). ``"claim_limits":
{"account": 30}``: the holder may claim unowned records of the entity until they own that
many (``engine.ownership``). Both name entities the role's bundle can see; a ``read_via``
field must exist and be a reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.errors import Problem
from engine.metadata._entities import Lookup
from engine.metadata._model import SourceRef
from engine.metadata._problems import child, did_you_mean, problem


def read_via_pairs(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``("opportunity", "account")`` for each ``"opportunity.account"`` item."""
    pairs = []
    for item in items:
        entity, _, name = str(item).partition(".")
        pairs.append((entity, name))
    return tuple(pairs)


def reach_problems(
    values: Mapping[tuple[str, ...], Any],
    where: Mapping[tuple[str, ...], SourceRef],
    bundles: Mapping[tuple[str, ...], str],
    bundle: str,
    lookup: Lookup,
) -> Iterator[Problem]:
    """The problems of a role draft's ``read_via`` and ``claim_limits`` places."""
    place = ("read_via",)
    if place in values:
        at, seen_by = where[place], bundles.get(place, bundle)
        for index, (entity_name, name) in enumerate(read_via_pairs(values[place])):
            item = child(at, index)
            entity = lookup.entity(entity_name, seen_by)
            if entity is None:
                yield from lookup.unknown_entity(entity_name, seen_by, item)
                continue
            found = entity.fields.get(name)
            if found is None:
                message = f"{name!r} is not a field of {entity_name!r}.{did_you_mean(name, list(entity.fields))}"
                yield problem("unknown_field", message, item)
            elif found.type != "reference":
                message = (
                    f"{entity_name}.{name} is a {found.type} field; read_via names a reference field "
                    "(ENTITY.FIELD, the field referencing the records to read)"
                )
                yield problem("not_reference", message, item)
    for key, at in where.items():
        if key[0] == "claim_limits" and lookup.entity(key[1], bundles.get(key, bundle)) is None:
            yield from lookup.unknown_entity(key[1], bundles.get(key, bundle), at)
