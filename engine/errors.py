"""The one error hierarchy of the engine.

Every error a user can cause derives from :class:`CrmError`. Each carries a stable
``code`` and one or more :class:`Problem` entries that say *where* (file and RFC 6901
JSON pointer for definitions, field name for records) and *how to fix it*.

Edges translate these errors in exactly one place each: the CLI into a message and an
exit code (``engine.cli``), the web layer into ``application/problem+json``. Services
never format output themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as default_field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One located problem.

    :param code: stable, machine-readable code (``unknown_type``, ``required``...).
    :param message: what is wrong and how to fix it, for a person.
    :param file: the definition file the problem is in, when it comes from a file.
    :param pointer: RFC 6901 JSON pointer into that file (``/fields/amount/type``).
    :param field: the record field the problem is about, for record errors.
    :param line: the input line (CSV import) the problem is on.
    :param values: the names the message is made of (``{"count": 3, "entity": "contact"}``),
        for an edge that says it in other words (the admin UI in Chinese); not part of the
        JSON form, which carries the message.
    """

    code: str
    message: str
    file: str | None = None
    pointer: str | None = None
    field: str | None = None
    line: int | None = None
    values: Mapping[str, Any] | None = default_field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for key in ("file", "pointer", "field", "line"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def format(self) -> str:
        """``file:pointer: [code] message`` (the CLI's one-line form)."""
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.pointer is not None:
            where.append(self.pointer or "/")
        elif self.field is not None:
            where.append(self.field)
        prefix = ":".join(where)
        return f"{prefix}: [{self.code}] {self.message}" if prefix else f"[{self.code}] {self.message}"


class CrmError(Exception):
    """Base class of every error a user of the engine can cause.

    ``exit_code`` is what the CLI exits with; ``http_status`` what the API answers.
    """

    code: ClassVar[str] = "crm_error"
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "problems": [p.to_json() for p in self.problems],
            **self.details(),
        }

    def details(self) -> dict[str, Any]:
        """Members beyond code, message and problems that every edge passes on as they are
        (a duplicate's ``candidates``); none by default."""
        return {}


class DefinitionError(CrmError):
    """One or more definition documents are invalid. Problems carry file and pointer."""

    code = "invalid_definition"
    exit_code = 2
    http_status = 422

    def __init__(self, problems: Iterable[Problem], message: str | None = None) -> None:
        problems = tuple(problems)
        if message is None:
            count = len(problems)
            message = f"{count} definition error{'s' if count != 1 else ''}"
        super().__init__(message, problems)


class RecordValidationError(CrmError):
    """A record failed validation. Problems carry the field name; all are collected."""

    code = "invalid_record"
    exit_code = 3
    http_status = 422

    def __init__(self, problems: Iterable[Problem], message: str | None = None) -> None:
        problems = tuple(problems)
        if message is None:
            fields = sorted({p.field for p in problems if p.field})
            message = "invalid value for " + ", ".join(fields) if fields else "invalid record"
        super().__init__(message, problems)


class NotFoundError(CrmError):
    code = "not_found"
    exit_code = 4
    http_status = 404


class ConflictError(CrmError):
    """Stale version, duplicate unique value, or a concurrent change won the race."""

    code = "conflict"
    exit_code = 5
    http_status = 409


class ReferenceIntegrityError(CrmError):
    """A reference points at a missing record, or a delete is restricted by references."""

    code = "reference"
    exit_code = 3
    http_status = 409


class DataLossError(CrmError):
    """A schema change would destroy data and ``allow_data_loss`` was not given."""

    code = "data_loss"
    exit_code = 6
    http_status = 409


class PermissionDeniedError(CrmError):
    code = "forbidden"
    exit_code = 7
    http_status = 403


class UsageError(CrmError):
    """A request that is malformed as a whole (bad filter JSON, unknown entity...)."""

    code = "usage"
    exit_code = 2
    http_status = 400


class UnknownNameError(UsageError):
    """A name the caller gave (an entity, a transition, a scoring) that the live definitions
    do not have: a usage error on the command line (exit 2), and 404 at the API, whose paths
    carry these names."""

    code = "not_found"
    http_status = 404


class InvalidViewError(CrmError):
    """A saved view that does not fit its entity: problems carry a JSON pointer into the
    view as given (``/where/amount``, ``/sort/1``)."""

    code = "invalid_view"
    exit_code = 3
    http_status = 422


class ReadOnlyViewError(ConflictError):
    """A view shipped in the definitions, which only a new version of them changes."""

    code = "read_only_view"
