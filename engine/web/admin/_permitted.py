"""What the signed-in user's roles let the pages show: which entities are in the menu, which
columns, filters and form fields a view has for them, which buttons a record gets, and
whether the figures over every record of an entity (reports, score distributions) are
theirs to read.

This only shapes the pages. The services enforce the permissions: every call passes the
signed-in user, so a request a page would not offer (a crafted POST) is refused by the
service, with its reason.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

import flask_login
from flask import has_request_context

from engine.metadata import FieldDef
from engine.permissions import EntityAccess, full_access
from engine.runtime import CrmEngine

from ._auth import acting_user


def signed_in() -> bool:
    """Whether this is a request of a signed-in user."""
    return has_request_context() and bool(flask_login.current_user.is_authenticated)


def access_of(engine: CrmEngine, entity: str) -> EntityAccess:
    """The signed-in user's access to ``entity`` (everything outside a signed-in request,
    where no page is rendered for anyone)."""
    if not signed_in():
        return full_access(entity)
    return engine.permissions.access(acting_user(), entity)


def may_change(engine: CrmEngine, entity: str, record: Mapping[str, Any]) -> bool:
    """Whether the signed-in user may change ``record`` (it lies in their update scope)."""
    access = access_of(engine, entity)
    if access.unrestricted:
        return True
    if not access.allows("update"):
        return False
    return engine.permissions.in_scope(acting_user(), record, access.update)


def reads_everything(access: EntityAccess) -> bool:
    """Whether figures over every record of the entity are the user's to read: they may read
    every record of it, and no field of it is hidden from them."""
    return access.unrestricted or (access.read == "all" and not access.hidden)


def restrict_form(form: Any, access: EntityAccess) -> Any:
    """``form`` without the fields hidden from the user, its read-only ones disabled (a
    browser does not send a disabled field)."""
    for name in access.hidden:
        if name in form:
            del form[name]
    for name in access.read_only:
        if name in form:
            field = form[name]
            field.render_kw = {**(field.render_kw or {}), "disabled": True}
    return form


def writable_fields(fields: Iterable[FieldDef], access: EntityAccess, posted: Container[str]) -> list[FieldDef]:
    """The fields a submitted form writes: none hidden from the user, and read-only ones
    only when the request sent them anyway (then the record service refuses them, naming
    each)."""
    return [f for f in fields if f.name not in access.hidden and (f.name not in access.read_only or f.name in posted)]


def mark_conditions(form: Any, required: Iterable[str], fixed: Iterable[str]) -> Any:
    """Mark on ``form`` the fields a record's ``required_when`` makes required (their star) and
    those its ``read_only_when`` fixes (read-only, still sent, so saving the rest works; the
    record service refuses a change to them, naming the field)."""
    from ._forms import MarkedRequired  # the star, without the browser's own check

    for name in required:
        if name in form:
            form[name].validators = [*form[name].validators, MarkedRequired()]
    for name in fixed:
        if name in form:
            field = form[name]
            field.render_kw = {**(field.render_kw or {}), "readonly": True, "aria-readonly": "true"}
    return form
