"""``/views[/ID]``: saved views, listed, made, read, changed and deleted as the caller may
(``engine.views`` decides; docs/views.md). ``?view=ID`` on a record list is read by
``_records``."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from engine.runtime import CrmEngine
from engine.users import User
from engine.views import VIEW_KEYS, SavedView

from .._requests import json_object
from .._responses import json_response
from .._users import current_user
from ._lookup import resolved


def view_json(engine: CrmEngine, view: SavedView, user: User) -> dict[str, Any]:
    """A view as the API answers it, with whether the caller may change it."""
    return {**view.to_json(), "may_change": engine.views.may_manage(view, user)}


@resolved(params=("entity",))
def list_views(engine: CrmEngine) -> Response:
    """The views the caller may see, of one ``entity`` or of all."""
    name = request.args.get("entity")
    entity = engine.entity(name).name if name is not None else None  # 404 for an unknown entity
    user = current_user()
    return json_response(
        {"items": [view_json(engine, v, user) for v in engine.views.visible(user=user, entity=entity)]}
    )


@resolved()
def create_view(engine: CrmEngine) -> Response:
    """Save a view: personal, or shared (administrators)."""
    user = current_user()
    made = engine.views.create(json_object(allowed=VIEW_KEYS), user=user)
    location = url_for(".get_view", view_id=made.key)
    return json_response(view_json(engine, made, user), 201, headers={"Location": location})


@resolved()
def get_view(engine: CrmEngine, view_id: str) -> Response:
    user = current_user()
    return json_response(view_json(engine, engine.views.get(view_id, user=user), user))


@resolved()
def update_view(engine: CrmEngine, view_id: str) -> Response:
    """Change a view the caller manages; what the body leaves out stays."""
    user = current_user()
    changed = engine.views.update(view_id, json_object(allowed=VIEW_KEYS), user=user)
    return json_response(view_json(engine, changed, user))


@resolved()
def delete_view(engine: CrmEngine, view_id: str) -> Response:
    engine.views.delete(view_id, user=current_user())
    return Response(status=204)


ROUTES = (
    ("/views", list_views, ("GET",)),
    ("/views", create_view, ("POST",)),
    ("/views/<view_id>", get_view, ("GET",)),
    ("/views/<view_id>", update_view, ("PATCH",)),
    ("/views/<view_id>", delete_view, ("DELETE",)),
)
