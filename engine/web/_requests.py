"""Reading requests: JSON bodies, query parameters, record ids and versions.

Everything a client sends is checked here before a service sees it, so that a wrong type
is a 4xx naming the parameter (or the JSON pointer in the body), never a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from flask import request

from engine.errors import NotFoundError, Problem

from ._problems import InvalidBodyError, InvalidParameterError, UnsupportedMediaTypeError

#: Record ids and versions are signed 64-bit on every database.
MAX_ID = 2**63 - 1
#: Offsets past this are certainly past the end, and would overflow some databases.
MAX_OFFSET = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_IF_MATCH = re.compile(r'\s*(?:W/)?"([0-9]{1,19})"\s*|\s*([0-9]{1,19})\s*')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, *, what: str) -> Any:
    """Parse JSON text; :class:`InvalidBodyError` (code ``invalid_json``) when it is not."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidBodyError(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            [Problem(code="invalid_json", message=exc.msg, pointer="")],
        ) from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, NaN, huge numbers, deep nesting
        message = str(exc) if isinstance(exc, ValueError) else "it nests too deeply"
        raise InvalidBodyError(
            f"{what} is not valid JSON: {message}", [Problem(code="invalid_json", message=message, pointer="")]
        ) from None


def is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_body(*, optional: bool = False) -> Any:
    """The request body as JSON (``application/json``); ``{}`` for an empty optional body."""
    data = request.get_data(cache=True)
    if not data.strip():
        if optional:
            return {}
        raise InvalidBodyError(
            "this operation takes a JSON body; send one with Content-Type: application/json",
            [Problem(code="missing_body", message="the request has no body", pointer="")],
        )
    if not is_json_mimetype(request.mimetype):
        shown = request.mimetype or "none"
        raise UnsupportedMediaTypeError(f"send the body as application/json (the request says {shown})")
    return parse_json(data, what="the request body")


def json_object(*, allowed: Collection[str] | None = None, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; keys outside ``allowed`` are errors (they are usually typos)."""
    body = json_body(optional=optional)
    if not isinstance(body, dict):
        raise InvalidBodyError(
            'the request body must be a JSON object like {"name": "value"}',
            [Problem(code="type", message="expected a JSON object", pointer="")],
        )
    if allowed is not None:
        unknown = [k for k in body if k not in allowed]
        if unknown:
            raise InvalidBodyError(
                f"unknown key(s) {', '.join(unknown)}; this operation takes {', '.join(sorted(allowed))}",
                [
                    Problem(code="unknown_key", message=f'"{k}" is not taken here', pointer=f"/{_escape(k)}")
                    for k in unknown
                ],
            )
    return body


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# -- query parameters ---------------------------------------------------------------------------
def check_params(allowed: Collection[str]) -> None:
    """Refuse query parameters the operation does not know (a misspelt filter returning
    everything is worse than an error), and repeated ones. Every operation takes ``lang``
    (the language of its labels and refusals)."""
    allowed = {*allowed, "lang"}
    problems = []
    for name in request.args:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            problems.append(
                Problem(
                    code="unknown_parameter",
                    field=name,
                    message=f'"{name}" is not a parameter of this operation (parameters: {known})',
                )
            )
        elif len(request.args.getlist(name)) > 1:
            problems.append(Problem(code="repeated_parameter", field=name, message=f'give "{name}" once'))
    if problems:
        raise InvalidParameterError("; ".join(p.message for p in problems), problems)
    language()  # a lang the API does not speak is refused, whatever the operation


def _bad(name: str, message: str, code: str = "invalid_parameter") -> InvalidParameterError:
    return InvalidParameterError(f"{name}: {message}", [Problem(code=code, field=name, message=message)])


def int_param(name: str, default: int, *, minimum: int = 0, maximum: int = MAX_OFFSET) -> int:
    """A whole-number query parameter within ``[minimum, maximum]``."""
    value = optional_int_param(name, minimum=minimum, maximum=maximum)
    return default if value is None else value


def optional_int_param(name: str, *, minimum: int = 0, maximum: int = MAX_OFFSET) -> int | None:
    """A whole-number query parameter within ``[minimum, maximum]``, or None when absent."""
    text = request.args.get(name)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text.strip()):
        raise _bad(name, f"must be a whole number from {minimum} to {maximum}", "type")
    value = int(text)
    if not minimum <= value <= maximum:
        raise _bad(name, f"must be between {minimum} and {maximum}", "out_of_range")
    return value


def choice_param(name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        raise _bad(name, f"must be one of {', '.join(choices)}", "choice")
    return value


def bool_param(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise _bad(name, "must be true or false", "type")


def json_param(name: str) -> Any:
    """A query parameter holding JSON (``where={"stage": "won"}``), or None when absent."""
    text = request.args.get(name)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _bad(name, f"is not valid JSON ({exc.msg} at column {exc.colno})", "invalid_json") from None
    except (ValueError, RecursionError):
        raise _bad(name, "is not valid JSON", "invalid_json") from None


#: The most conditions a ``where`` may hold (each field and each operator counts once): far
#: beyond a hand-written filter, and well within what every database parses.
MAX_WHERE_CONDITIONS = 200
#: The most keys a ``sort`` may have.
MAX_SORT_KEYS = 16


def _conditions(node: Any, depth: int = 0) -> int:
    """How many conditions a ``where`` document holds (its grammar is checked later, by the service)."""
    if depth > 64:
        return MAX_WHERE_CONDITIONS + 1  # the service refuses the nesting; this only bounds the walk
    if isinstance(node, list):
        return sum(_conditions(item, depth + 1) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for key, value in node.items():
        if key in ("and", "or", "not"):
            count += _conditions(value, depth + 1)
        else:
            count += len(value) if isinstance(value, dict) and value else 1
    return count


def where_param(name: str = "where") -> Any:
    """The ``where`` filter (JSON), with at most :data:`MAX_WHERE_CONDITIONS` conditions."""
    where = json_param(name)
    if _conditions(where) > MAX_WHERE_CONDITIONS:
        raise _bad(
            name,
            f"holds more than {MAX_WHERE_CONDITIONS} conditions; use in for a list of values, or narrow the filter",
            "too_many_conditions",
        )
    return where


def sort_param(name: str = "sort") -> str | None:
    """The ``sort`` keys (``-amount,title``), at most :data:`MAX_SORT_KEYS` of them."""
    text = request.args.get(name) or None
    if text is not None and text.count(",") >= MAX_SORT_KEYS:
        raise _bad(name, f"takes at most {MAX_SORT_KEYS} sort keys", "too_many_sort_keys")
    return text


def language() -> str:
    """``en`` or ``zh``: the ``lang`` parameter, else the Accept-Language header."""
    given = request.args.get("lang")
    if given is not None:
        if given not in ("en", "zh"):
            raise _bad("lang", "must be en or zh", "choice")
        return given
    return request.accept_languages.best_match(["en", "zh"]) or "en"


# -- ids and versions ---------------------------------------------------------------------------
def parse_record_id(text: str) -> int:
    """A record id from the path: ASCII digits, 1 to 2**63-1; anything else names no record."""
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
        raise NotFoundError(f"{text!r} is not a record id; ids are whole numbers from 1")
    return int(text)


def version_value(value: Any, pointer: str = "/version") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidBodyError(
            "version must be the record's version number (a whole number from 1)",
            [Problem(code="type", pointer=pointer, message="expected a whole number from 1")],
        )
    return value


def if_match_version() -> int | None:
    """The version in ``If-Match`` (``W/"3"``, ``"3"`` or ``3``); None when absent or ``*``."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _IF_MATCH.fullmatch(header)
    if match is None:
        raise _bad("If-Match", 'must be the ETag of the record (W/"3") or its version', "invalid_if_match")
    value = int(match.group(1) or match.group(2))
    if not 1 <= value <= MAX_ID:
        raise _bad("If-Match", "names no version", "invalid_if_match")
    return value


def expected_version(body: Mapping[str, Any] | None) -> int | None:
    """The version the client read: ``If-Match`` or the body's ``version`` (they must agree)."""
    header = if_match_version()
    given = version_value(body["version"]) if body is not None and "version" in body else None
    if header is not None and given is not None and header != given:
        raise InvalidParameterError(
            f"If-Match says version {header} but the body says {given}; send one of them",
            [Problem(code="version_mismatch", field="version", message="If-Match and version disagree")],
        )
    return header if header is not None else given


def finite_number(value: Any, pointer: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidBodyError(
            f"{pointer[1:]} must be a number", [Problem(code="type", pointer=pointer, message="expected a number")]
        )
    return float(value)
