"""Derived fields: the checks of ``compute`` and ``rollup`` that span fields and entities, and
the dependency graph they form (which must have no cycle).

A compute reads ``record.FIELD`` and paths through references (``record.account.tier``, at most
:data:`MAX_HOPS` references); ``now`` only with ``"refresh": "daily"``. A rollup aggregates a
field of the records whose reference points back at this one. Every field a derived field
reads is a node it depends on; a loop anywhere is refused with every field of it named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from engine.errors import Problem
from engine.logic import LogicError, compile_rule
from engine.metadata._field_types import NUMBER_TYPES, TEMPORAL_TYPES
from engine.metadata._model import SYSTEM_FIELDS, EntityDef, FieldDef, RollupWindow, SourceRef
from engine.metadata._problems import child, did_you_mean, problem

#: The most references a compute's path may follow (``record.a.b.c.field``).
MAX_HOPS = 3
#: Field types a compute may fill (scalar values a rule can give).
COMPUTE_TYPES = frozenset({"string", "text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum"})
#: What a rollup's function needs of the field it aggregates.
_ROLLUP_FIELD_TYPES = {
    "sum": NUMBER_TYPES,
    "avg": NUMBER_TYPES,
    "min": NUMBER_TYPES | TEMPORAL_TYPES,
    "max": NUMBER_TYPES | TEMPORAL_TYPES,
}

Node = tuple[str, str]  # (entity, field)


@dataclass(frozen=True)
class Path:
    """A variable of a compute: the references it follows from the record, then the field."""

    references: tuple[tuple[str, str], ...]  # (entity, reference field) hop by hop
    entity: str  # the entity the field is read from
    field: str

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every (entity, field) the value depends on: each reference followed, and the field."""
        return (*self.references, (self.entity, self.field))


def parse_path(variable: str, entity: EntityDef, entities: Mapping[str, EntityDef]) -> Path | str:
    """The :class:`Path` of ``record.…`` in ``entity``, or why it is not one (a message)."""
    parts = variable.split(".")
    if parts[0] != "record" or len(parts) < 2:
        return f"{variable!r} is not a path of the record: use record.FIELD or record.REFERENCE.FIELD"
    hops: list[tuple[str, str]] = []
    current = entity
    for position, name in enumerate(parts[1:], start=1):
        last = position == len(parts) - 1
        found = current.fields.get(name)
        if found is None and name not in SYSTEM_FIELDS:
            known = [*current.fields, *SYSTEM_FIELDS]
            return f"{current.name!r} has no field {name!r} (in {variable!r}).{did_you_mean(name, known)}"
        if last:
            return Path(tuple(hops), current.name, name)
        target = entities.get(found.target or "") if found is not None and found.type == "reference" else None
        if target is None:
            return f"{current.name}.{name} is not a reference, so {variable!r} cannot go on through it"
        if len(hops) == MAX_HOPS:
            return f"{variable!r} follows more than {MAX_HOPS} references"
        hops.append((current.name, name))
        current = target
    raise AssertionError("unreachable")  # pragma: no cover


def compute_paths(field: FieldDef, entity: EntityDef, entities: Mapping[str, EntityDef]) -> list[Path]:
    """The paths a (valid) compute reads."""
    compiled = compile_rule(field.compute, generate_code=False)
    found = [parse_path(v, entity, entities) for v in sorted(compiled.variables) if v != "now"]
    return [p for p in found if isinstance(p, Path)]


def derived_problems(entities: Mapping[str, EntityDef], where: Mapping[Node, SourceRef]) -> list[Problem]:
    """Every problem of the computes and rollups of ``entities``; ``where`` locates each field."""
    problems: list[Problem] = []
    graph: dict[Node, set[Node]] = {}
    located: dict[Node, SourceRef] = {}
    for entity in entities.values():
        for field in entity.fields.values():
            at = where.get((entity.name, field.name))
            if at is not None:
                problems.extend(_condition_problems(field, entity, at))
            if at is not None and field.refresh is not None and field.compute is None:
                message = "refresh applies to computed fields only; remove it."
                problems.append(problem("derived_conflict", message, child(at, "refresh")))
            if at is None or not field.derived:
                continue
            node = (entity.name, field.name)
            located[node] = child(at, "compute" if field.compute is not None else "rollup")
            if field.compute is not None and field.rollup is not None:
                message = f"{field.name} has both compute and rollup; keep one."
                problems.append(problem("derived_conflict", message, child(at, "rollup")))
                continue
            problems.extend(_owned_options(field, at))
            if field.compute is not None:
                reads, found = _compute_checks(field, entity, entities, at)
            else:
                reads, found = _rollup_checks(field, entity, entities, at)
            problems.extend(found)
            graph[node] = reads
    if problems:
        return problems
    return _cycle_problems(graph, located)


def _owned_options(field: FieldDef, at: SourceRef) -> Iterator[Problem]:
    """Options that mean nothing on a field the engine fills."""
    for option, present in (("required", field.required), ("default", field.has_default)):
        if present:
            message = f"{field.name} is derived: the engine fills it, so {option!r} does not apply; remove it."
            yield problem("derived_conflict", message, child(at, option))


def _compute_checks(
    field: FieldDef, entity: EntityDef, entities: Mapping[str, EntityDef], at: SourceRef
) -> tuple[set[Node], list[Problem]]:
    rule_at = child(at, "compute")
    if field.type not in COMPUTE_TYPES:
        message = f"a {field.type} field cannot be computed; computes fill {', '.join(sorted(COMPUTE_TYPES))} fields."
        return set(), [problem("inapplicable_option", message, rule_at)]
    try:
        compiled = compile_rule(field.compute, generate_code=False)
    except LogicError as error:
        return set(), [_relocated(p, rule_at) for p in error.problems]
    reads: set[Node] = set()
    problems = []
    for variable in sorted(compiled.variables):
        if variable == "now":
            if field.refresh != "daily":
                message = (
                    f"{field.name} reads now, so its value changes with time alone; add "
                    '"refresh": "daily" (crm derived refresh recomputes it) or remove now.'
                )
                problems.append(problem("now_not_allowed", message, rule_at))
            continue
        path = parse_path(variable, entity, entities)
        if isinstance(path, str):
            problems.append(problem("invalid_path", path + ".", rule_at))
        else:
            reads.update(path.nodes)
    return reads, problems


def _rollup_checks(
    field: FieldDef, entity: EntityDef, entities: Mapping[str, EntityDef], at: SourceRef
) -> tuple[set[Node], list[Problem]]:
    rollup = field.rollup
    assert rollup is not None
    at = child(at, "rollup")
    source = entities.get(rollup.entity)
    if source is None:
        message = f"rollup over {rollup.entity!r}, which is not an entity.{did_you_mean(rollup.entity, list(entities))}"
        return set(), [problem("unknown_target", message, child(at, "entity"))]
    problems = []
    reference = source.fields.get(rollup.reference)
    if reference is None or reference.type != "reference" or reference.target != entity.name:
        pointing = [n for n, f in source.fields.items() if f.type == "reference" and f.target == entity.name]
        hint = f" References of {source.name} to {entity.name}: {', '.join(pointing)}." if pointing else ""
        message = f"{source.name}.{rollup.reference} is not a reference to {entity.name}.{hint}"
        problems.append(problem("rollup_mismatch", message, child(at, "reference")))
    reads: set[Node] = {(source.name, rollup.reference)}
    problems.extend(_rollup_field_checks(field, source, at, reads))
    if rollup.where is not None:
        problems.extend(_where_checks(rollup.where, source, entities, child(at, "where"), reads))
    if rollup.within is not None:
        problems.extend(_window_checks(rollup.within, source, child(at, "within"), reads))
    return reads, problems


def _rollup_field_checks(field: FieldDef, source: EntityDef, at: SourceRef, reads: set[Node]) -> list[Problem]:
    rollup = field.rollup
    assert rollup is not None
    if rollup.function == "count":
        if field.type not in NUMBER_TYPES:
            return [problem("rollup_mismatch", f"a count is a number; {field.name} is {field.type}.", at)]
        return []
    if rollup.field is None:
        return [problem("rollup_mismatch", f"{rollup.function} needs the field it aggregates: add field.", at)]
    summed = source.fields.get(rollup.field)
    if summed is None:
        message = f"{source.name} has no field {rollup.field!r}.{did_you_mean(rollup.field, list(source.fields))}"
        return [problem("rollup_mismatch", message, child(at, "field"))]
    reads.add((source.name, rollup.field))
    allowed = _ROLLUP_FIELD_TYPES[rollup.function]
    if summed.type not in allowed:
        message = f"{rollup.function} of {source.name}.{rollup.field} ({summed.type}) is not possible; it needs " + (
            "a number field." if rollup.function in ("sum", "avg") else "a number, date or datetime field."
        )
        return [problem("rollup_mismatch", message, child(at, "field"))]
    numeric_result = summed.type in NUMBER_TYPES
    if numeric_result != (field.type in NUMBER_TYPES) or (not numeric_result and summed.type != field.type):
        message = f"{field.name} is {field.type} but holds {rollup.function} of a {summed.type} field."
        return [problem("rollup_mismatch", message, child(at, "function"))]
    return []


def _where_checks(
    rule: object, source: EntityDef, entities: Mapping[str, EntityDef], at: SourceRef, reads: set[Node]
) -> list[Problem]:
    try:
        compiled = compile_rule(rule, generate_code=False)
    except LogicError as error:
        return [_relocated(p, at) for p in error.problems]
    problems = []
    for variable in sorted(compiled.variables):
        if variable == "now":
            message = (
                "a rollup's where cannot read now (the total would change with time alone); to count the "
                'children of a recent period, use "within": {"field": "…", "period": "P30D"}.'
            )
            problems.append(problem("now_not_allowed", message, at))
            continue
        path = parse_path(variable, source, entities)
        if isinstance(path, str):
            problems.append(problem("invalid_path", path + ".", at))
        elif path.references:
            message = f"a rollup's where reads the child's own fields only; {variable!r} follows a reference."
            problems.append(problem("invalid_path", message, at))
        else:
            reads.add((path.entity, path.field))
    return problems


#: System fields a window may read (datetimes the engine keeps on every record).
TEMPORAL_SYSTEM_FIELDS = ("created_at", "updated_at")
_WINDOW_PERIOD = re.compile(r"P(?:(?P<weeks>[0-9]{1,6})W)?(?:(?P<days>[0-9]{1,6})D)?")
_CALENDAR_PERIOD = re.compile(r"P(?:[0-9]+[WD])*[0-9]+[YM]")
#: The longest window (a century), far below what :class:`timedelta` and dates can hold.
MAX_WINDOW = timedelta(days=36600)


def window_field_type(window: RollupWindow, source: EntityDef) -> str | None:
    """The type of the child field a window reads (``created_at`` and ``updated_at`` are
    datetimes), or None when the child has no such field."""
    found = source.fields.get(window.field)
    if found is not None:
        return found.type
    return "datetime" if window.field in TEMPORAL_SYSTEM_FIELDS else None


def window_period(text: str) -> timedelta | str:
    """The length of a rollup window's ``period`` (``P365D``, ``P52W``), or why it has none
    (phrased as a fix)."""
    match = _WINDOW_PERIOD.fullmatch(text)
    if match is None or text == "P":
        if _CALENDAR_PERIOD.match(text):
            return (
                f"the period {text!r} counts years or months, which have no fixed length; "
                'write days or weeks instead (e.g. "P365D" rather than "P1Y", "P30D" rather than "P1M")'
            )
        if text.startswith("P") and "T" in text:
            return f'the period {text!r} counts hours, minutes or seconds; a window is whole days: write e.g. "P1D"'
        return f'the period {text!r} is not an ISO 8601 duration in days or weeks; write e.g. "P365D" or "P52W"'
    period = timedelta(**{unit: int(value) for unit, value in match.groupdict().items() if value})
    if period <= timedelta(0):
        return f'the period {text!r} is not longer than zero; write at least one day ("P1D")'
    if period > MAX_WINDOW:
        return f"the period {text!r} is longer than {MAX_WINDOW.days} days; write a shorter one"
    return period


def _window_checks(window: RollupWindow, source: EntityDef, at: SourceRef, reads: set[Node]) -> list[Problem]:
    """``within``: a date or datetime field of the child, and a period in days or weeks."""
    problems = []
    kind = window_field_type(window, source)
    if kind is None:
        known = [*source.fields, *TEMPORAL_SYSTEM_FIELDS]
        message = f"{source.name} has no field {window.field!r}.{did_you_mean(window.field, known)}"
        problems.append(problem("rollup_mismatch", message, child(at, "field")))
    elif kind not in TEMPORAL_TYPES:
        dated = [n for n, f in source.fields.items() if f.type in TEMPORAL_TYPES] + list(TEMPORAL_SYSTEM_FIELDS)
        message = (
            f"within needs a date or datetime field; {source.name}.{window.field} is {kind}. "
            f"Date and datetime fields of {source.name}: {', '.join(dated)}."
        )
        problems.append(problem("rollup_mismatch", message, child(at, "field")))
    else:
        reads.add((source.name, window.field))
    period = window_period(window.period)
    if isinstance(period, str):
        problems.append(problem("invalid_duration", period + ".", child(at, "period")))
    return problems


#: The conditional rules a field may have, checked on every save.
CONDITION_KEYS = ("required_when", "read_only_when")


def _condition_problems(field: FieldDef, entity: EntityDef, at: SourceRef) -> list[Problem]:
    """``required_when`` / ``read_only_when``: rules over ``record`` and ``before``, each reading
    the entity's own fields (or ``now``)."""
    problems: list[Problem] = []
    for key in CONDITION_KEYS:
        rule = getattr(field, key)
        if rule is None:
            continue
        rule_at = child(at, key)
        try:
            compiled = compile_rule(rule, generate_code=False)
        except LogicError as error:
            problems.extend(_relocated(p, rule_at) for p in error.problems)
            continue
        for variable in sorted(compiled.variables):
            root, _, name = variable.partition(".")
            if variable == "now" or (root in ("record", "before") and (name in entity.fields or name in SYSTEM_FIELDS)):
                continue
            if root in ("record", "before") and "." not in name:
                known = [*entity.fields, *SYSTEM_FIELDS]
                message = f"{entity.name!r} has no field {name!r} (in {variable!r}).{did_you_mean(name, known)}"
            else:
                message = f"{variable!r} is not something {key} can read: use record.FIELD, before.FIELD or now."
            problems.append(problem("invalid_path", message, rule_at))
    return problems


def _relocated(found: Problem, where: SourceRef) -> Problem:
    from engine.metadata._workflow_actions import relocated_rule_problem

    return relocated_rule_problem(found, where)


def _cycle_problems(graph: Mapping[Node, set[Node]], where: Mapping[Node, SourceRef]) -> list[Problem]:
    """One problem per field in a dependency loop, naming a whole loop it is in."""
    problems: list[Problem] = []
    reported: set[Node] = set()
    for start in graph:
        if start in reported:
            continue
        loop = _loop_from(start, graph)
        if loop is None:
            continue
        text = " → ".join(f"{e}.{f}" for e, f in [*loop, loop[0]])
        message = f"derived fields depend on each other in a loop: {text}; break it."
        for node in loop:
            if node not in reported:
                reported.add(node)
                problems.append(problem("dependency_cycle", message, where[node]))
    return problems


def _loop_from(start: Node, graph: Mapping[Node, set[Node]]) -> list[Node] | None:
    """A loop through ``start`` (its derived nodes in order), if there is one."""
    stack: list[tuple[Node, list[Node]]] = [(start, [start])]
    seen: set[Node] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return trail
            if nxt in graph and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None
