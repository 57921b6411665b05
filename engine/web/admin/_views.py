"""Saved views in the admin UI: the Views picker of every entity list and board, "Save view"
on a list (administrators may share it) and deleting one's own views.

Choosing a view puts ``view=ID`` in the page's address; the list and the board then ask the
views service to apply it (``engine.views``, which works out relative values), and hand its
filter, ANDed with the page's own filters, to the record service as the signed-in user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import flash, redirect, request
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.metadata import EntityDef
from engine.records import search_where
from engine.runtime import CrmEngine
from engine.users import User
from engine.views import AppliedView, SavedView

from ._auth import acting_user
from ._expose import expose
from ._filters import Condition, SystemFilter, where_of
from ._i18n import current_language, say


class ViewForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of saving or deleting a view."""


@dataclass(frozen=True)
class ViewChoice:
    """A view in a picker: its id, its label in the user's language, and whether the user
    may delete it."""

    key: str
    label: str
    shared: bool
    deletable: bool


@dataclass(frozen=True)
class ViewsBar:
    """What a page's Views picker shows: the views to choose from, the one applied, and
    whether the user may share the views they save."""

    choices: tuple[ViewChoice, ...]
    current: str | None
    may_share: bool
    form: ViewForm


def views_bar(engine: CrmEngine, entity: str, user: User, current: str | None) -> ViewsBar:
    """The picker of ``entity``'s views for ``user`` (``current``: the id applied)."""
    language = current_language()
    try:
        found = engine.views.visible(user=user, entity=entity)
    except CrmError:  # the entity's views cannot be read: no picker rather than no page
        found = []
    choices = tuple(ViewChoice(v.key, v.label.get(language), v.shared, engine.views.may_manage(v, user)) for v in found)
    return ViewsBar(choices, current, user.is_admin, ViewForm())


def applied_view(engine: CrmEngine, entity: str, user: User) -> AppliedView | None:
    """The view the page's ``view=ID`` names, applied for ``user``; ``None`` when none is
    named, or (said in a message) when it cannot be applied."""
    key = request.args.get("view", "").strip()
    if not key:
        return None
    try:
        return engine.views.apply(key, entity=entity, user=user)
    except CrmError as error:
        flash(say("error", message=error.message), "danger")
        return None


def with_view(applied: AppliedView | None, where: Any) -> Any:
    """A page's filter ANDed with the filter of the view applied."""
    if applied is None or applied.where is None:
        return where
    return applied.where if where is None else {"and": [applied.where, where]}


class SavedViewActions:
    """Saving and deleting views from an entity's list (mixed into the entity views)."""

    engine: CrmEngine
    definition: EntityDef
    get_url: Callable[..., str]
    _filters: list[Any]
    _get_list_filter_args: Callable[[], Any]
    _get_column_by_idx: Callable[[Any], Any]
    _searched: Callable[[], list[str]]

    def views_bar(self) -> ViewsBar:
        """The list page's Views picker."""
        return views_bar(self.engine, self.definition.name, acting_user(), request.args.get("view") or None)

    def _list_url(self, **args: str) -> str:
        kept = {k: v for k, v in args.items() if v}
        url = self.get_url(".index_view")
        return f"{url}?{urlencode(kept)}" if kept else url

    @expose("/views/save/", methods=("POST",))
    def views_save(self) -> Response:
        """Save the list's filters and sort (and the filter of the view applied) as a view;
        the address carries the list's own query (filters, sort, view)."""
        if not ViewForm(request.form).validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self._list_url())
        user = acting_user()
        base = self.engine.views.get(request.args["view"], user=user) if request.args.get("view") else None
        where = where_of(self._saved_conditions())
        searched = str(request.args.get("search", "")).strip()
        if searched:  # the list's free-text search, kept as the filter it amounts to
            found = search_where(self._searched(), searched)
            if found is not None:
                where = found if where is None else {"and": [where, found]}
        if base is not None and base.where is not None:
            where = base.where if where is None else {"and": [base.where, where]}
        data: dict[str, Any] = {
            "entity": self.definition.name,
            "name": str(request.form.get("name", "")),
            "where": where,
            "sort": self._saved_sort(base),
            "columns": list(base.columns) if base is not None else [],
            "shared": request.form.get("shared") == "on",
        }
        try:
            made = self.engine.views.create(data, user=user)
        except CrmError as error:
            reasons = "; ".join(f"{p.pointer}: {p.message}" for p in error.problems) or error.message
            flash(say("view_not_saved", reason=reasons), "danger")
            return redirect(self.get_url(".index_view") + "?" + request.query_string.decode())
        flash(say("view_saved", name=made.name), "success")
        return redirect(self._list_url(view=made.key))

    @expose("/views/delete/", methods=("POST",))
    def views_delete(self) -> Response:
        if not ViewForm(request.form).validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self._list_url())
        key = str(request.form.get("view", ""))
        try:
            self.engine.views.delete(key, user=acting_user())
        except CrmError as error:
            flash(say("error", message=error.message), "danger")
            return redirect(self._list_url(view=key))
        flash(say("view_deleted"), "success")
        return redirect(self._list_url())

    def _saved_conditions(self) -> list[Condition]:
        """The list's filters as a view keeps them: "me" as ``@me``, worked out when applied."""
        conditions: list[Condition] = []
        for index, _name, value in self._get_list_filter_args() or ():
            flt = self._filters[index]
            if isinstance(flt, SystemFilter) and flt.field_name == "owner" and str(value).strip() == "me":
                flt.apply(conditions, "@me")
            else:
                flt.apply(conditions, flt.clean(value))
        return conditions

    def _saved_sort(self, base: SavedView | None) -> list[str]:
        column = self._get_column_by_idx(request.args.get("sort", None, type=int))
        if column is None:
            return list(base.sort) if base is not None else []
        return [("-" if request.args.get("desc", None, type=int) else "") + column[0]]
