"""``/records/ENTITY/ID/scores``: a record's scores with their explanation, and overrides."""

from __future__ import annotations

from flask import Response

from engine.errors import Problem
from engine.metadata import EntityDef, ScoringDef
from engine.runtime import CrmEngine

from .._problems import InvalidBodyError
from .._requests import finite_number, json_object, language, parse_record_id
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved

OVERRIDE_KEYS = ("value", "grade", "reason")
#: The width of the stored grade (``crm_scores.override_grade``).
MAX_GRADE = 32
MAX_REASON = 4000
#: Scores are points or probabilities; this keeps a typo from overflowing a target column.
MAX_VALUE = 1e15


@resolved()
def list_scores(engine: CrmEngine, entity: EntityDef, record_id: str) -> Response:
    views = engine.scoring.show(entity.name, parse_record_id(record_id), language=language(), actor=current_user())
    return json_response({"items": [v.to_json() for v in views]})


@resolved()
def put_override(engine: CrmEngine, entity: EntityDef, record_id: str, scoring: ScoringDef) -> Response:
    """Set a user's value and/or grade; it stays until cleared, whatever recomputation finds."""
    body = json_object(allowed=OVERRIDE_KEYS)
    value = body.get("value")
    if value is not None:
        value = finite_number(value, "/value")
        if abs(value) > MAX_VALUE:
            raise InvalidBodyError(
                f"value must be between {-MAX_VALUE:g} and {MAX_VALUE:g}",
                [Problem(code="out_of_range", pointer="/value", message="value out of range")],
            )
    grade = body.get("grade")
    if grade is not None:
        check_grade(engine, scoring, grade)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidBodyError(
            "an override needs a reason (text)",
            [Problem(code="required", pointer="/reason", message=f"give a reason of at most {MAX_REASON} characters")],
        )
    if value is None and grade is None:
        raise InvalidBodyError(
            "an override needs a value or a grade",
            [Problem(code="required", pointer="/value", message="give a value, a grade or both")],
        )
    number = parse_record_id(record_id)
    engine.scoring.override(
        entity.name, number, scoring.name, value=value, grade=grade, reason=reason, actor=current_user()
    )
    return _score(engine, entity.name, number, scoring.name)


@resolved()
def delete_override(engine: CrmEngine, entity: EntityDef, record_id: str, scoring: ScoringDef) -> Response:
    number = parse_record_id(record_id)
    engine.scoring.clear_override(entity.name, number, scoring.name, actor=current_user())
    return _score(engine, entity.name, number, scoring.name)


def _score(engine: CrmEngine, entity: str, record_id: int, scoring: str) -> Response:
    """One score as ``GET .../scores`` shows it (labels in the request's language)."""
    views = engine.scoring.show(entity, record_id, language=language(), actor=current_user())
    return json_response(next(v for v in views if v.scoring == scoring).to_json())


def check_grade(engine: CrmEngine, definition: ScoringDef, grade: object) -> None:
    width = MAX_GRADE
    if definition.target_grade:
        target = engine.model.entity(definition.entity).fields.get(definition.target_grade)
        if target is not None and target.max_length is not None:
            width = min(width, target.max_length)
    if not isinstance(grade, str) or not grade.strip() or len(grade) > width:
        raise InvalidBodyError(
            f"grade must be text of 1 to {width} characters",
            [Problem(code="type", pointer="/grade", message=f"expected a string of 1 to {width} characters")],
        )


ROUTES = (
    ("/records/<entity>/<record_id>/scores", list_scores, ("GET",)),
    ("/records/<entity>/<record_id>/scores/<scoring>/override", put_override, ("PUT",)),
    ("/records/<entity>/<record_id>/scores/<scoring>/override", delete_override, ("DELETE",)),
)
