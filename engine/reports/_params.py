"""Parameters: the values a user gives when running a report, read and put into filters.

Values arrive as text from the command line (``--param from=2024-01-01``) or as JSON from
an API; each is read by its declared type. Filters keep ``{"param": name}`` where a value
goes; :func:`fill_where` puts the values in, so that the record filter language sees plain
values and checks them against their field as it does for ``crm record list``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import Problem, UsageError
from engine.metadata import EntityDef, ParamDef, ReportDef, thaw_json

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def resolve_params(report: ReportDef, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every parameter of ``report`` with its value: given, else its default.

    :raises UsageError: naming every unknown, missing or unreadable parameter.
    """
    given = dict(given or {})
    problems: list[Problem] = []
    for name in given:
        if name not in report.params:
            declared = ", ".join(report.params) or "none"
            message = f'the report "{report.name}" has no parameter "{name}" (its parameters: {declared})'
            problems.append(Problem(code="unknown_param", message=message, field=name))
    values: dict[str, Any] = {}
    for name, param in report.params.items():
        if name in given:
            raw = given[name]
        elif param.has_default:
            raw = param.default
        else:
            message = (
                f'the report "{report.name}" needs the parameter "{name}" ({param.type}); give --param {name}=VALUE'
            )
            problems.append(Problem(code="required", message=message, field=name))
            continue
        try:
            values[name] = read_param(param, raw)
        except ValueError as exc:
            problems.append(Problem(code="invalid_value", message=f'parameter "{name}": {exc}', field=name))
    if problems:
        raise UsageError("; ".join(p.message for p in problems), problems)
    return values


def read_param(param: ParamDef, raw: Any) -> Any:
    """``raw`` as a value of the parameter's type, in the JSON form filters take: ``int``,
    ``bool``, or a string (decimals, dates and times in ISO 8601)."""
    kind = param.type
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{raw!r} is not true or false")
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a {kind} value")
    if kind == "integer":
        if isinstance(raw, int):
            return raw
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
    if kind == "decimal":
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{raw!r} is not a number")
        return format(number, "f")
    text = str(raw).strip()
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{raw!r} is not a date and time (YYYY-MM-DDTHH:MM:SSZ)") from None
        return parsed.isoformat()
    return text


def _is_param(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"param"}


def fill_where(where: Any, entity: EntityDef, values: Mapping[str, Any]) -> Any:
    """The filter ``where`` (frozen, as a report holds it) as plain JSON with the
    parameters' values in place of ``{"param": name}``.

    A date given for a ``datetime`` field becomes midnight UTC of that day, so that
    ``{"done_at": {"gte": {"param": "from"}}}`` works with a ``date`` parameter.
    """
    if where is None:
        return None
    return _fill(thaw_json(where), entity, values)


def _fill(node: dict[str, Any], entity: EntityDef, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("and", "or"):
            out[key] = [_fill(item, entity, values) for item in value]
        elif key == "not":
            out[key] = _fill(value, entity, values)
        else:
            field = entity.fields.get(key)
            timed = key in ("created_at", "updated_at") or (field is not None and field.type == "datetime")
            out[key] = _condition(value, values, timed=timed)
    return out


def _condition(condition: Any, values: Mapping[str, Any], *, timed: bool) -> Any:
    if _is_param(condition):
        return _value(values[condition["param"]], timed=timed)
    if not isinstance(condition, dict):
        return condition
    out: dict[str, Any] = {}
    for op, operand in condition.items():
        if op == "in" and isinstance(operand, list):
            out[op] = [_value(values[v["param"]], timed=timed) if _is_param(v) else v for v in operand]
        elif _is_param(operand):
            out[op] = _value(values[operand["param"]], timed=timed)
        else:
            out[op] = operand
    return out


def _value(value: Any, *, timed: bool) -> Any:
    if timed and isinstance(value, str) and len(value) == 10:
        try:
            return datetime.fromisoformat(value + "T00:00:00+00:00").isoformat()
        except ValueError:
            return value
    return value


def having_value(value: Any, values: Mapping[str, Any]) -> Any:
    """A ``having`` operand with its parameter's value in place: a number for SQL."""
    if _is_param(value):
        value = values[value["param"]]
    if isinstance(value, str):
        return Decimal(value)
    return value
