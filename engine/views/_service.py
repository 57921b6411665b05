"""Saved views: the view documents of the definitions and the views people store.

Who may do what (docs/views.md):

- everyone sees the view documents and the shared stored views of the entities they may
  read, and their own personal views; nobody sees a colleague's personal view (an
  administrator neither): a view one may not see is answered as missing;
- anyone who may read an entity makes personal views of it and changes and deletes their own;
- only administrators make shared views, and change or delete them;
- view documents are read-only (they change with the definitions).

A view never widens what its user may read: :meth:`ViewService.apply` only works out its
filter (relative values through ``engine.records.resolve_relative``) and sort; the records
service then applies them inside the user's read scope, as for any filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import (
    InvalidViewError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    ReadOnlyViewError,
    UsageError,
)
from engine.metadata import Label, SourceRef, view_problems
from engine.records import resolve_relative
from engine.storage import views
from engine.users import User

from ._model import AppliedView, SavedView

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: The keys of a view as given to :meth:`ViewService.create`.
VIEW_KEYS = ("entity", "name", "label", "where", "sort", "columns", "group_by", "shared")
#: The longest name of a stored view.
MAX_NAME = 200
_SPEC_KEYS = ("where", "sort", "columns", "group_by")


class ViewService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    # -- reading ---------------------------------------------------------------------------
    def visible(self, *, user: User, entity: str | None = None) -> list[SavedView]:
        """The views ``user`` may see (of ``entity``, or of every entity): view documents
        first, then shared stored views, then the user's own, each by name."""
        definitions = self._engine.model.definitions
        documents = [
            SavedView.of_document(v)
            for v in definitions.views.values()
            if (entity is None or v.entity == entity) and self._readable(user, v.entity)
        ]
        query = sa.select(views).where(sa.or_(views.c.owner == user.name, views.c.shared.is_(True)))
        if entity is not None:
            query = query.where(views.c.entity == entity)
        query = query.order_by(views.c.shared.desc(), views.c.name, views.c.id)
        with self._engine.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        stored = [_from_row(r) for r in rows if self._readable(user, r["entity"])]
        return sorted(documents, key=lambda v: v.label.en.lower()) + stored

    def get(self, view_id: str | int, *, user: User) -> SavedView:
        """The view ``view_id`` (a stored view's number or a view document's name) if
        ``user`` may see it; else :class:`NotFoundError`."""
        key = str(view_id).strip()
        found: SavedView | None = None
        if key.isdigit() and len(key) < 19:
            with self._engine.db.read() as conn:
                row = conn.execute(sa.select(views).where(views.c.id == int(key))).mappings().first()
            if row is not None and (row["owner"] == user.name or row["shared"]):
                found = _from_row(row)
        else:
            document = self._engine.model.definitions.views.get(key)
            found = SavedView.of_document(document) if document is not None else None
        if found is None or not self._readable(user, found.entity):
            raise NotFoundError(f"there is no view {key!r} you may see")
        return found

    def apply(self, view_id: str | int, *, entity: str, user: User, now: datetime | None = None) -> AppliedView:
        """The view ``view_id`` of ``entity`` as ``user`` applies it at ``now`` (default: the
        engine's clock): its filter with relative values worked out, its sort and columns
        without the fields hidden from the user."""
        view = self.get(view_id, user=user)
        if view.entity != entity:
            message = f"the view {view.key!r} shows {view.entity} records, not {entity}"
            raise UsageError(message, [Problem(code="view_entity", message=message, field="view")])
        model = self._engine.model
        definition = self._engine.permissions.visible_entity(user, model.entity(entity))
        where = None
        if view.where is not None:
            moment = now or utcnow()
            where = resolve_relative(view.where, definition, model.definitions.entities, user=user.name, now=moment)
        known = {*definition.fields, "id", "owner", "created_at", "updated_at", "created_by", "version"}
        sort = tuple(k for k in view.sort if k.lstrip("-") in known)
        columns = tuple(c for c in view.columns if c in known)
        return AppliedView(view, where, sort, columns)

    # -- writing ---------------------------------------------------------------------------
    def create(self, data: Mapping[str, Any], *, user: User) -> SavedView:
        """Store a view (see :data:`VIEW_KEYS`); personal unless ``shared`` (administrators)."""
        problems = _unknown_keys(data, VIEW_KEYS)
        entity = data.get("entity")
        if not isinstance(entity, str) or entity not in self._engine.model.definitions.entities:
            known = ", ".join(self._engine.model.definitions.entities)
            message = "name the entity whose records the view shows" if entity is None else f"{entity!r} is no entity"
            problems.append(Problem(code="unknown_entity", message=f"{message} (entities: {known})", pointer="/entity"))
            raise InvalidViewError("invalid view: " + message, problems)
        self._engine.permissions.require(user, entity, "read")
        shared = _shared(data, problems)
        if shared and not user.is_admin:
            raise PermissionDeniedError("only administrators share views; save it as a personal view")
        name = _name(data.get("name"), problems)
        spec = self._checked(entity, {k: data[k] for k in _SPEC_KEYS if k in data}, user, problems)
        now = utcnow()
        row = {
            "entity": entity,
            "name": name,
            "label": _label(data.get("label"), problems),
            "definition": spec,
            "owner": user.name,
            "shared": shared,
            "created_at": now,
            "updated_at": now,
        }
        if problems:
            raise InvalidViewError(_summary(problems), problems)
        with self._engine.db.write() as conn:
            inserted = conn.execute(views.insert().values(row)).inserted_primary_key
        return self.get(int(inserted[0]) if inserted else 0, user=user)

    def update(self, view_id: str | int, changes: Mapping[str, Any], *, user: User) -> SavedView:
        """Change a stored view the user may manage (any key of :data:`VIEW_KEYS` but
        ``entity``); what is not given stays."""
        current = self._managed(view_id, user)
        problems = _unknown_keys(changes, VIEW_KEYS)
        if "entity" in changes and changes["entity"] != current.entity:
            message = "a view keeps its entity; save a new view for another entity"
            problems.append(Problem(code="not_changeable", message=message, pointer="/entity"))
        values: dict[str, Any] = {}
        if "shared" in changes:
            values["shared"] = _shared(changes, problems)
            if values["shared"] and not user.is_admin:
                raise PermissionDeniedError("only administrators share views")
        if "name" in changes:
            values["name"] = _name(changes["name"], problems)
        if "label" in changes:
            values["label"] = _label(changes["label"], problems)
        if any(k in changes for k in _SPEC_KEYS):
            spec = {"where": current.where, "sort": list(current.sort), "columns": list(current.columns)}
            spec["group_by"] = current.group_by
            spec.update({k: changes[k] for k in _SPEC_KEYS if k in changes})
            values["definition"] = self._checked(current.entity, spec, user, problems)
        if problems:
            raise InvalidViewError(_summary(problems), problems)
        if values:
            values["updated_at"] = utcnow()
            with self._engine.db.write() as conn:
                conn.execute(views.update().where(views.c.id == current.id).values(values))
        return self.get(current.id, user=user)

    def delete(self, view_id: str | int, *, user: User) -> None:
        """Delete a stored view the user may manage."""
        current = self._managed(view_id, user)
        with self._engine.db.write() as conn:
            conn.execute(views.delete().where(views.c.id == current.id))

    def may_manage(self, view: SavedView, user: User) -> bool:
        """Whether ``user`` may change and delete ``view`` (which they can see)."""
        if view.source == "definitions":
            return False
        return user.is_admin if view.shared else view.owner == user.name

    # -- helpers ---------------------------------------------------------------------------
    def _readable(self, user: User, entity: str) -> bool:
        model = self._engine.model
        return entity in model.definitions.entities and self._engine.permissions.access(user, entity).allows("read")

    def _managed(self, view_id: str | int, user: User) -> SavedView:
        current = self.get(view_id, user=user)
        if current.source == "definitions":
            raise ReadOnlyViewError(
                f"the view {current.key!r} comes with the definitions and changes with them; "
                "save a view of your own instead"
            )
        if not self.may_manage(current, user):
            raise PermissionDeniedError("only administrators change or delete shared views")
        return current

    def _checked(self, entity: str, spec: dict[str, Any], user: User, problems: list[Problem]) -> dict[str, Any]:
        """The view's filter, sort, columns and grouping as stored, checked against the
        entity as ``user`` sees it; problems carry pointers into the view."""
        before = len(problems)
        out = _typed(spec, problems)
        if len(problems) > before:
            return out
        model = self._engine.model
        definition = self._engine.permissions.visible_entity(user, model.entity(entity))
        written = {k: v for k, v in out.items() if v is not None}
        found = view_problems(written, definition, model.definitions.entities, SourceRef(""))
        problems.extend(Problem(code=p.code, message=p.message, pointer=p.pointer) for p in found)
        if found or out["where"] is None:
            return out
        # the values themselves, as the records service reads them (and as the user may)
        where = resolve_relative(out["where"], definition, model.definitions.entities, user=user.name, now=utcnow())
        try:
            self._engine.records.list(entity, where=where, limit=0, with_total=False, actor=user)
        except UsageError as error:
            for p in error.problems:
                problems.append(Problem(code=p.code, message=p.message, pointer="/where" + (p.pointer or "")))
        return out


def _from_row(row: sa.RowMapping) -> SavedView:
    spec = row["definition"] or {}
    label = row["label"]
    return SavedView(
        id=int(row["id"]),
        entity=row["entity"],
        name=row["name"],
        label=Label(label["en"], label.get("zh")) if isinstance(label, Mapping) else Label(row["name"]),
        where=spec.get("where"),
        sort=tuple(spec.get("sort") or ()),
        columns=tuple(spec.get("columns") or ()),
        group_by=spec.get("group_by"),
        shared=bool(row["shared"]),
        owner=row["owner"],
        source="stored",
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _unknown_keys(data: Mapping[str, Any], allowed: tuple[str, ...]) -> list[Problem]:
    keys = ", ".join(allowed)
    return [
        Problem(code="unknown_key", message=f"{k!r} is not a key of a view (keys: {keys})", pointer=f"/{k}")
        for k in data
        if k not in allowed
    ]


def _name(value: Any, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME:
        message = f"give the view a name of 1 to {MAX_NAME} characters"
        problems.append(Problem(code="required" if value is None else "invalid", message=message, pointer="/name"))
        return ""
    return value.strip()


def _label(value: Any, problems: list[Problem]) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return {"en": value.strip(), "zh": value.strip()}
    if isinstance(value, Mapping) and isinstance(value.get("en"), str) and value["en"].strip():
        zh = value.get("zh")
        if set(value) <= {"en", "zh"} and (zh is None or isinstance(zh, str)):
            return {"en": value["en"].strip(), "zh": (zh or value["en"]).strip()}
    problems.append(Problem(code="type", message='a label is a text or {"en": ..., "zh": ...}', pointer="/label"))
    return None


def _shared(data: Mapping[str, Any], problems: list[Problem]) -> bool:
    value = data.get("shared", False)
    if not isinstance(value, bool):
        problems.append(Problem(code="type", message="shared is true or false", pointer="/shared"))
        return False
    return value


def _typed(spec: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """The filter, sort, columns and grouping of ``spec`` in their stored form, once their
    JSON types are right (a sort may be given as ``"-amount,title"``)."""
    where = spec.get("where")
    if where is not None and not isinstance(where, Mapping):
        problems.append(Problem(code="type", message='where is a filter like {"field": value}', pointer="/where"))
    sort = spec.get("sort") or []
    if isinstance(sort, str):
        sort = [k.strip() for k in sort.split(",") if k.strip()]
    columns = spec.get("columns") or []
    for key, value in (("sort", sort), ("columns", columns)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 32:
            problems.append(Problem(code="type", message=f"{key} is a list of field names", pointer=f"/{key}"))
    group_by = spec.get("group_by")
    if group_by is not None and not isinstance(group_by, str):
        problems.append(Problem(code="type", message="group_by is a field name", pointer="/group_by"))
    return {"where": where, "sort": sort, "columns": columns, "group_by": group_by}


def _summary(problems: list[Problem]) -> str:
    return "invalid view: " + "; ".join(f"{p.pointer}: {p.message}" for p in problems)
