"""The language of a request's refusals: ``?lang=``, else ``Accept-Language``, else English.

Problem documents keep their codes, pointers and fields in every language; what changes is
what a person reads. In Chinese, the ``title`` is the status's Chinese name, and each problem
whose code has a sentence in the admin UI's catalogue (``admin/_refusals``: required fields,
choices, lengths, stale versions, permissions, workflow refusals...) is said with the labels
of the entity's fields, the workflow's states and transitions and the roles, as the admin UI
says it; the ``detail`` then joins those sentences. A problem without a sentence keeps the
service's English message, so nothing a service says is lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from typing import Any

from flask import g, has_request_context, request
from werkzeug.http import HTTP_STATUS_CODES

from engine.errors import CrmError, Problem

LANGUAGES = ("en", "zh")

#: The Chinese titles of the statuses the API answers with.
_TITLES_ZH: Mapping[int, str] = {
    400: "请求无效",
    401: "未认证",
    403: "无权操作",
    404: "未找到",
    405: "不支持的请求方法",
    406: "无法提供所需格式",
    408: "请求超时",
    409: "冲突",
    411: "缺少请求长度",
    412: "前提条件不成立",
    413: "请求体过大",
    414: "请求地址过长",
    415: "不支持的内容类型",
    416: "请求范围无效",
    422: "内容无法处理",
    428: "需要前提条件",
    429: "请求过多",
    431: "请求头过大",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def request_language() -> str:
    """``en`` or ``zh`` for the current request (English outside one). A ``lang`` the API
    does not speak counts as absent here; the operation refuses it itself."""
    if not has_request_context():
        return "en"
    given = request.args.get("lang")
    if given in LANGUAGES:
        return given
    return request.accept_languages.best_match(LANGUAGES) or "en"


def title(status: int, language: str) -> str:
    """The title of a problem document of ``status``."""
    if language == "zh" and status in _TITLES_ZH:
        return _TITLES_ZH[status]
    return HTTP_STATUS_CODES.get(status, "Error")


def localized(error: CrmError, about: RecordRefusal | None = None) -> tuple[str, tuple[Problem, ...]]:
    """The detail and problems of ``error`` in the request's language (see the module's doc);
    ``about``: the record and transition it refuses, when not the request's own (a bulk edit)."""
    language = request_language()
    if language == "en":
        return error.message, error.problems
    try:
        return _said_in(language, error, about)
    except Exception:  # a refusal is answered even when its labels cannot be found
        return error.message, error.problems


@dataclasses.dataclass(frozen=True)
class RecordRefusal:
    """One record of the request's entity a refusal is about, and the transition it tried."""

    record: Mapping[str, Any] | None
    transition: str | None = None


def _said_in(language: str, error: CrmError, about: RecordRefusal | None = None) -> tuple[str, tuple[Problem, ...]]:
    from .admin._i18n import set_request_language
    from .admin._refusals import error_text, problem_text

    situation = _situation()
    if situation is not None and about is not None:
        situation = _about(situation, about)
    if situation is None:
        return error.message, error.problems
    set_request_language(language)
    problems = tuple(dataclasses.replace(p, message=problem_text(situation, p)) for p in error.problems)
    return error_text(situation, error), problems


def _situation() -> Any:
    """What the request is about, as the refusals' catalogue needs it (None: no entity)."""
    from ._state import current_engine
    from .admin._refusals import Situation

    arguments = request.view_args or {}
    engine = current_engine()
    if not engine.has_definitions or "entity" not in arguments:
        return None
    definitions = engine.model.definitions
    entity = definitions.entities.get(str(arguments["entity"]))
    if entity is None:
        return None
    workflow = transition = None
    name = arguments.get("name") if request.endpoint == "api.run_transition" else None
    if name is not None:
        with contextlib.suppress(CrmError):  # a refusal about a name that is no transition
            workflow, transition = engine.workflows.find_transition(entity.name, name, _named_workflow())
    user = g.get("crm_user")
    record = None
    if "record_id" in arguments and user is not None:
        record = _record(engine, entity.name, str(arguments["record_id"]), user)
    roles = tuple(getattr(user, "roles", ()) or ())
    return Situation(definitions, entity, record, workflow, transition, roles)


def _about(situation: Any, about: RecordRefusal) -> Any:
    """``situation`` narrowed to one record and the transition tried on it."""
    from ._state import current_engine

    workflow = transition = None
    if about.transition is not None:
        with contextlib.suppress(CrmError):
            workflow, transition = current_engine().workflows.find_transition(situation.entity.name, about.transition)
    return dataclasses.replace(situation, record=about.record, workflow=workflow, transition=transition)


def _named_workflow() -> str | None:
    """The workflow the request names for its transition (the view has checked it)."""
    body = request.get_json(silent=True)
    named = body.get("workflow") if isinstance(body, dict) else None
    return named if isinstance(named, str) else request.args.get("workflow")


def _record(engine: Any, entity: str, record_id: str, user: Any) -> Mapping[str, Any] | None:
    """The record the request names, as its user may read it (its state says why a transition was refused)."""
    try:
        found: Mapping[str, Any] = engine.records.get(entity, int(record_id), actor=user)
    except (CrmError, ValueError):
        return None
    return found
