"""The order a run scores in: a scoring after those whose results it reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from engine.metadata import ScoringDef


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def after_what_they_read(definitions: Sequence[ScoringDef]) -> list[ScoringDef]:
    """``definitions`` in name order, except that a scoring whose configuration reads another
    one's target field (churn risk reading the RFM segment) comes after it, so one run leaves
    every score computed from the others' fresh results."""
    reads = {d.name: {s.removeprefix("record.") for s in _strings(dict(d.config))} for d in definitions}
    written = {d.name: {t for t in (d.target_value, d.target_grade) if t} for d in definitions}
    ordered: list[ScoringDef] = []
    pending = list(definitions)
    while pending:
        ready = next(
            (
                d
                for d in pending
                if not any(o is not d and o.entity == d.entity and written[o.name] & reads[d.name] for o in pending)
            ),
            pending[0],  # a cycle: name order
        )
        ordered.append(ready)
        pending.remove(ready)
    return ordered
