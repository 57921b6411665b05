"""Freeze a field draft into a :class:`FieldDef`: resolve defaults, check the options
against each other (bounds, lengths, pattern, precision, choices, default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.errors import Problem
from engine.metadata._field_types import DEFAULT_MAX_LENGTH, DEFAULT_PRECISION, field_type
from engine.metadata._model import (
    NO_DEFAULT,
    Choice,
    FieldDef,
    Label,
    RollupDef,
    RollupWindow,
    SourceRef,
)
from engine.metadata._names import derive_label, field_name_problems
from engine.metadata._patterns import number_pattern, number_pattern_problem, pattern_problem
from engine.metadata._pipeline import Placed
from engine.metadata._problems import child, problem
from engine.metadata._schemas import field_options, types_accepting
from engine.metadata._values import decimal_fit_problem, default_problem, to_decimal


@dataclass
class FieldDraft(Placed):
    """One field: its options as written (minus ``choices``) and where each was set."""

    choices: list[tuple[Any, SourceRef]]

    @property
    def type(self) -> str:
        return str(self.spec["type"])


def field_draft(name: str, spec: Mapping[str, Any], where: SourceRef, bundle: str) -> FieldDraft:
    """The draft of a field defined at ``where`` (``/fields/x`` or ``/add_fields/x``)."""
    options = {key: value for key, value in spec.items() if key != "choices"}
    choices = [(c, child(where, "choices", i)) for i, c in enumerate(spec.get("choices", ()))]
    return FieldDraft(
        name=name,
        spec=options,
        where={key: child(where, key) for key in options},
        choices=choices,
        source=where,
        bundle=bundle,
    )


def label_from_json(value: Any) -> Label | None:
    """A :class:`Label` from its JSON form (a string or ``{"en", "zh"}``)."""
    if isinstance(value, str):
        return Label(value)
    if isinstance(value, Mapping):
        return Label(str(value["en"]), value.get("zh"))
    return None


def label_or_derived(options: Mapping[str, Any], name: str) -> Label:
    """The ``label`` of ``options`` as written, else the one derived from ``name``."""
    return label_from_json(options.get("label")) or derive_label(name)


def choice_value(choice: Any) -> str:
    """The value of a choice written as a string or ``{"value", "label"}``."""
    return str(choice["value"]) if isinstance(choice, Mapping) else str(choice)


def choice_from_json(choice: Any) -> Choice:
    """A :class:`Choice`; without a label, one is derived from the value."""
    value = choice_value(choice)
    label = label_from_json(choice.get("label")) if isinstance(choice, Mapping) else None
    return Choice(value, label or derive_label(value))


def resolved_precision(field_type: str, precision: int | None, scale: int | None) -> tuple[int, int]:
    """``(precision, scale)`` with defaults filled in.

    Without a scale, the type's default scale applies, but never more than the precision
    (``{"type": "decimal", "precision": 4}`` means scale 4, not an error).
    """
    default_precision, default_scale = DEFAULT_PRECISION[field_type]
    if precision is None:
        precision = default_precision
    if scale is None:
        scale = min(default_scale, precision)
    return precision, scale


def build_field(draft: FieldDraft) -> tuple[FieldDef, list[Problem]]:
    """The frozen field and the problems of its options (located where each was set)."""
    spec = draft.spec
    problems = field_name_problems(draft.name, draft.source)
    problems.extend(_inapplicable_options(draft))
    minimum, maximum = _bounds(draft, problems)
    min_length, max_length = _lengths(draft, problems)
    assigned = field_type(draft.type).assigned
    pattern, numbering = (None, spec.get("pattern")) if assigned else (spec.get("pattern"), None)
    reason = None if pattern is None else pattern_problem(pattern)
    if reason is not None:
        problems.append(problem("invalid_pattern", reason, draft.at("pattern")))
        pattern = None
    if numbering is not None:
        max_length, numbering = _numbering(draft, max_length, numbering, problems)
    precision, scale = _precision(draft, minimum, maximum, problems)
    choices, choice_problems = _choices(draft)
    problems.extend(choice_problems)
    on_delete = spec.get("on_delete", "restrict")
    required = bool(spec.get("required", False))
    if draft.type == "reference" and on_delete == "set_null" and required:
        message = (
            "on_delete 'set_null' cannot empty a required field; use 'restrict' or "
            "'cascade', or make the field optional."
        )
        problems.append(problem("invalid_on_delete", message, draft.at("on_delete")))
    field = FieldDef(
        name=draft.name,
        type=draft.type,  # type: ignore[arg-type]
        label=label_or_derived(spec, draft.name),
        description=label_from_json(spec.get("description")),
        required=required,
        # the engine assigns the values of an assigned type: unique, and nobody edits them
        unique=assigned or bool(spec.get("unique", False)),
        index=bool(spec.get("index", False)),
        read_only=assigned or bool(spec.get("read_only", False)),
        default=spec.get("default", NO_DEFAULT),
        minimum=minimum,
        maximum=maximum,
        min_length=min_length,
        max_length=max_length,
        pattern=pattern,
        number_pattern=numbering,
        precision=precision,
        scale=scale,
        choices=choices,
        target=spec.get("target"),
        on_delete=on_delete,
        cascade_owner=bool(spec.get("cascade_owner", False)),
        renamed_from=spec.get("renamed_from"),
        compute=spec.get("compute"),
        refresh=spec.get("refresh"),
        rollup=_rollup(spec.get("rollup")),
        required_when=spec.get("required_when"),
        read_only_when=spec.get("read_only_when"),
        source=draft.source,
    )
    if field.has_default and not (scale is not None and precision is not None and scale > precision):
        problems.extend(_default_problems(field, draft))
    return field, problems


def _default_problems(field: FieldDef, draft: FieldDraft) -> list[Problem]:
    """The problem of a default that is not a valid value of the field it is the default of."""
    reason = default_problem(field, field.default)
    if not reason:
        return []
    message = f"the default {field.default!r} is not a valid value of this field: {reason}."
    return [problem("invalid_default", message, draft.at("default"))]


def _rollup(spec: Any) -> RollupDef | None:
    if not isinstance(spec, Mapping):
        return None
    return RollupDef(
        entity=str(spec.get("entity")),
        reference=str(spec.get("reference")),
        function=spec.get("function", "count"),
        field=spec.get("field"),
        where=spec.get("where"),
        within=_rollup_window(spec.get("within")),
    )


def _rollup_window(spec: Any) -> RollupWindow | None:
    if not isinstance(spec, Mapping):
        return None
    return RollupWindow(field=str(spec.get("field")), period=str(spec.get("period")))


def _inapplicable_options(draft: FieldDraft) -> list[Problem]:
    # Overlays can set options the meta-schema only checks per document (an index on a
    # json field, a default on a reference): check the merged result once more.
    problems = []
    # a default is checked against the field's rules; an assigned type has none to give
    exempt = () if field_type(draft.type).assigned else ("default",)
    for option in draft.spec:
        if option not in field_options()[draft.type] and option not in exempt:
            types = ", ".join(types_accepting(option))
            message = f"{option!r} does not apply to {draft.type} fields (it applies to: {types})."
            problems.append(problem("inapplicable_option", message, draft.at(option)))
    return problems


def _numbering(
    draft: FieldDraft, max_length: int | None, text: str, problems: list[Problem]
) -> tuple[int | None, str | None]:
    """The column width and the pattern of an autonumber field (``None`` when it is refused)."""
    found = number_pattern_problem(text)
    if found is not None:
        code, message = found
        problems.append(problem(code, message, draft.at("pattern")))
        return max_length, None
    return max(max_length or 0, number_pattern(text).max_length), text


def _bounds(draft: FieldDraft, problems: list[Problem]) -> tuple[Decimal | None, Decimal | None]:
    minimum = to_decimal(draft.spec.get("minimum"))
    maximum = to_decimal(draft.spec.get("maximum"))
    if minimum is not None and maximum is not None and minimum > maximum:
        message = f"minimum {minimum} is greater than maximum {maximum}; swap or correct them."
        problems.append(problem("invalid_bounds", message, draft.at("minimum")))
    return minimum, maximum


def _lengths(draft: FieldDraft, problems: list[Problem]) -> tuple[int | None, int | None]:
    spec = draft.spec
    max_length = _whole(spec.get("max_length", DEFAULT_MAX_LENGTH.get(draft.type)))
    min_length = _whole(spec.get("min_length"))
    if min_length is not None and max_length is not None and min_length > max_length:
        implicit = "" if "max_length" in spec else " (the default for this type)"
        message = (
            f"min_length {min_length} is greater than max_length {max_length}{implicit}; "
            "lower min_length or raise max_length."
        )
        problems.append(problem("invalid_bounds", message, draft.at("min_length")))
    return min_length, max_length


def _precision(
    draft: FieldDraft, minimum: Decimal | None, maximum: Decimal | None, problems: list[Problem]
) -> tuple[int | None, int | None]:
    if draft.type not in DEFAULT_PRECISION:
        return None, None
    precision, scale = resolved_precision(
        draft.type, _whole(draft.spec.get("precision")), _whole(draft.spec.get("scale"))
    )
    if scale > precision:
        message = (
            f"scale {scale} is larger than precision {precision}: the scale counts digits "
            "after the point out of precision digits in all. Lower scale or raise precision."
        )
        problems.append(problem("invalid_scale", message, draft.at("scale")))
    else:
        problems.extend(_bounds_fit(draft, minimum, maximum, precision, scale))
    return precision, scale


def _whole(value: Any) -> int | None:
    # JSON Schema counts 5.0 as an integer; store it as the int it means.
    return None if value is None else int(value)


def _bounds_fit(
    draft: FieldDraft, minimum: Decimal | None, maximum: Decimal | None, precision: int, scale: int
) -> list[Problem]:
    problems = []
    for option, bound in (("minimum", minimum), ("maximum", maximum)):
        if bound is None:
            continue
        reason = decimal_fit_problem(bound, precision, scale)
        if reason:
            message = f"{option} {bound} does not fit the field (precision {precision}, scale {scale}): {reason}."
            problems.append(problem("invalid_bounds", message, draft.at(option)))
    return problems


def _choices(draft: FieldDraft) -> tuple[tuple[Choice, ...], list[Problem]]:
    choices: list[Choice] = []
    first_at: dict[str, SourceRef] = {}
    problems: list[Problem] = []
    for raw, where in draft.choices:
        choice = choice_from_json(raw)
        if choice.value in first_at:
            first = first_at[choice.value].pointer
            message = f"the choice {choice.value!r} is already listed at {first}; remove one of them."
            problems.append(problem("duplicate_choice", message, where))
            continue
        first_at[choice.value] = where
        choices.append(choice)
    return tuple(choices), problems


def field_to_json(field: FieldDef) -> dict[str, Any]:
    """One field as written in an entity document, with only non-default keys."""
    out: dict[str, Any] = {"type": field.type}
    if field.label != derive_label(field.name):
        out["label"] = field.label.to_json()
    if field.description is not None:
        out["description"] = field.description.to_json()
    for option, bound in (("minimum", field.minimum), ("maximum", field.maximum)):
        if bound is not None:
            out[option] = _bound_to_json(bound)
    if field.min_length is not None:
        out["min_length"] = field.min_length
    if field.max_length is not None and field.max_length != DEFAULT_MAX_LENGTH.get(field.type):
        out["max_length"] = field.max_length
    if field.pattern is not None:
        out["pattern"] = field.pattern
    if field.number_pattern is not None:
        out["pattern"] = field.number_pattern
    if field.type in DEFAULT_PRECISION and field.precision is not None:
        written = None
        if field.precision != DEFAULT_PRECISION[field.type][0]:
            out["precision"] = written = field.precision
        if field.scale != resolved_precision(field.type, written, None)[1]:
            out["scale"] = field.scale
    if field.choices:
        out["choices"] = [_choice_to_json(c) for c in field.choices]
    if field.target is not None:
        out["target"] = field.target
    if field.on_delete != "restrict":
        out["on_delete"] = field.on_delete
    if field.cascade_owner:
        out["cascade_owner"] = True
    for flag in ("required", "unique", "index", "read_only"):
        if getattr(field, flag):
            out[flag] = True
    if field.has_default:
        out["default"] = field.default
    if field.renamed_from is not None:
        out["renamed_from"] = field.renamed_from
    if field.compute is not None:
        out["compute"] = field.compute
    if field.refresh is not None:
        out["refresh"] = field.refresh
    if field.rollup is not None:
        out["rollup"] = field.rollup.to_json()
    for key in ("required_when", "read_only_when"):
        if getattr(field, key) is not None:
            out[key] = getattr(field, key)
    # what a type implies (an autonumber's width, uniqueness, read-only) is not written
    accepted = field_options()[field.type]
    return {key: value for key, value in out.items() if key in accepted}


def _choice_to_json(choice: Choice) -> str | dict[str, Any]:
    if choice.label == derive_label(choice.value):
        return choice.value
    return {"value": choice.value, "label": choice.label.to_json()}


def _bound_to_json(value: Decimal) -> int | str:
    # Whole numbers as JSON integers; anything else as a decimal string, which keeps every
    # digit (a float would not). Formatting with "f" never produces an exponent.
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    if not fraction.strip("0"):
        return int(whole)
    return text
