"""One admin view per entity: the list (search, filters, sort, pages) and the create and
edit forms, all over the record service.

flask-admin's model views expect ORM objects; here a record is a :class:`RecordRow` (the
service's dict, read as attributes), and every read and write goes through
``engine.records`` as the signed-in user, whose permissions the service applies.

flask-admin builds a view's columns, filters and forms once; the user's roles then take
away per request what they may not see or do (``_permitted``): hidden fields leave the
columns, filters, search and forms, read-only ones are disabled, and the Create, Edit and
Delete buttons follow the user's access. A posted form always reaches the service, whose
refusal comes back as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, request
from flask_admin.form import SecureForm
from flask_admin.helpers import get_form_data
from flask_admin.model import BaseModelView
from markupsafe import Markup

from engine.duplicates import Candidate, DuplicateError
from engine.errors import CrmError, RecordValidationError
from engine.metadata import LISTED_TYPES, EntityDef, FieldDef
from engine.permissions import EntityAccess
from engine.records import MAX_PAGE, conditions_holding, searched_fields
from engine.runtime import CrmEngine
from engine.views import AppliedView

from ._access import SignedInOnly
from ._auth import acting_user
from ._bulk_pages import BulkPages
from ._display import shown
from ._duplicates import confirmed_duplicate, flash_duplicates, refused_duplicates
from ._expose import expose
from ._filters import Condition, entity_filters, system_filters, where_of
from ._forms import build_form, expected_version, form_fields, form_values, record_data, show_problems
from ._i18n import Text, current_language, say, word
from ._merge_pages import MergePages
from ._people import USER_FIELDS, person
from ._permitted import access_of, mark_conditions, may_change, restrict_form, signed_in, writable_fields
from ._record_page import RecordPage, flash_error
from ._references import RecordChoice, ReferenceLoader, references_of
from ._refusals import problem_describer
from ._timeline import NoteActions
from ._views import SavedViewActions, applied_view, with_view

#: Columns of a list beyond the display field and the workflow states.
LIST_COLUMNS = 6
_SYSTEM_COLUMNS = ("id", "owner", "updated_at", "created_at", "created_by")


class RecordRow:
    """A record as flask-admin reads it: fields as attributes, references resolved."""

    def __init__(self, values: dict[str, Any], references: dict[str, RecordChoice] | None = None) -> None:
        self.values = values
        self.references = references or {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.values.get(name)


@dataclass(frozen=True)
class ListGroup:
    """A list grouped by ``field`` (its label as the list's column shows it)."""

    field: str
    label: str


def endpoint_of(entity: str) -> str:
    return f"records_{entity}"


class EntityView(
    SignedInOnly,
    RecordPage,
    MergePages,
    NoteActions,
    BulkPages,
    SavedViewActions,
    BaseModelView,  # type: ignore[misc]
):
    """The list, forms and record page of one entity; ``view=ID`` in the list's address
    applies a saved view (its filter AND the page's, its sort and columns)."""

    can_view_details = True
    can_set_page_size = True
    page_size = 25
    page_size_options = (25, 50, 100)
    form_base_class = SecureForm
    create_template = "crm_admin/record_create.html"
    edit_template = "crm_admin/record_edit.html"
    list_template = "crm_admin/record_list.html"

    def __init__(self, engine: CrmEngine, definition: EntityDef, category: Text) -> None:
        self.engine = engine
        self.definition = definition
        workflows = engine.model.definitions.workflows_for(definition.name)
        self.state_fields = tuple(w.field for w in workflows)
        self.edited = form_fields(definition, self.state_fields)
        self.loaders = {
            f.name: ReferenceLoader(engine, f.name, f.target) for f in self.edited if f.type == "reference" and f.target
        }
        self.form_ajax_refs = dict(self.loaders)
        self.column_list = self._columns()
        self.column_labels = {
            **{n: word(n) for n in _SYSTEM_COLUMNS},
            **{f.name: Text.of(f.label) for f in definition.fields.values()},
        }
        #: what a list may show: its own columns, and those a saved view picks
        self.listable = [
            "id",
            *(f.name for f in definition.fields.values() if f.type in LISTED_TYPES),
            *_SYSTEM_COLUMNS[1:],
        ]
        self.column_sortable_list = list(dict.fromkeys(self.listable))
        self.column_filters = [*entity_filters(definition), *system_filters(self._owner_choices)]
        self.searched = searched_fields(definition)  # what the records service's search looks in
        self.column_searchable_list = self.searched
        self.column_formatters = {
            name: self._formatter(name) for name in dict.fromkeys([*self.column_list, *self.listable])
        }
        super().__init__(
            RecordRow,
            name=Text.of(definition.label),
            category=category,
            endpoint=endpoint_of(definition.name),
            url=f"records/{definition.name}",
        )

    # -- what the signed-in user may see and do ------------------------------------------------
    def access(self) -> EntityAccess:
        """The signed-in user's access to this view's entity."""
        return access_of(self.engine, self.definition.name)

    def _hidden(self) -> frozenset[str]:
        return self.access().hidden if signed_in() else frozenset()

    def is_accessible(self) -> bool:
        # an entity the user may not read is neither in the menu nor served (403)
        return bool(super().is_accessible()) and self.access().allows("read")

    # The pages offer the buttons the user's access allows; a form posted to create, edit or
    # delete always goes on to the record service, which refuses it with its reason.
    def _posted_to(self, view: str) -> bool:
        return request.method == "POST" and (request.endpoint or "").endswith(f".{view}")

    @property
    def can_create(self) -> bool:
        return self._posted_to("create_view") or self.access().allows("create")

    @property
    def can_edit(self) -> bool:
        return self._posted_to("edit_view") or self.access().allows("update")

    @property
    def can_delete(self) -> bool:
        return self._posted_to("delete_view") or self.access().allows("delete")

    @property
    def _list_columns(self) -> list[tuple[str, str]]:
        hidden = self._hidden()
        applied = self._applied_view() if signed_in() else None
        if applied is not None and applied.columns:
            names = dict.fromkeys(["id", *(c for c in applied.columns if c in self.listable)])
            return [(n, self.column_labels[n]) for n in names if n not in hidden]
        return [c for c in self._all_list_columns if c[0] not in hidden]

    @_list_columns.setter
    def _list_columns(self, columns: list[tuple[str, str]]) -> None:
        self._all_list_columns = columns

    def _applied_view(self) -> AppliedView | None:
        """The saved view the list's address names, applied once per request."""
        cache: dict[str, AppliedView | None] = g.setdefault("crm_applied_views", {})
        name = self.definition.name
        if name not in cache:
            cache[name] = applied_view(self.engine, name, acting_user())
        return cache[name]

    def list_group(self) -> ListGroup | None:
        """The field the applied view groups the list by (``group_by``), when the user may
        see it: the rows come sorted by it, and the list heads each group with its value."""
        applied = self._applied_view() if signed_in() else None
        name = applied.view.group_by if applied is not None else None
        if not name or name in self._hidden() or name not in self.column_labels:
            return None
        return ListGroup(name, str(self.column_labels[name]))

    def _searched(self) -> list[str]:
        hidden = self._hidden()
        return [n for n in self.searched if n not in hidden]

    @property
    def _search_supported(self) -> bool:
        return bool(self._searched())

    @_search_supported.setter
    def _search_supported(self, supported: bool) -> None:
        pass  # follows the fields the user may see

    def _get_filter_groups(self) -> Any:
        groups = super()._get_filter_groups()
        hidden = self._hidden()
        if not groups or not hidden:
            return groups
        for key in list(groups):
            kept = [item for item in groups[key] if self._filters[item["index"]].field_name not in hidden]
            if kept:
                groups[key] = kept
            else:
                del groups[key]
        return groups

    def _get_list_filter_args(self) -> Any:
        # a filter on a hidden field is no filter of this user's page: left out
        found = super()._get_list_filter_args()
        hidden = self._hidden()
        if not found or not hidden:
            return found
        return [f for f in found if self._filters[f[0]].field_name not in hidden]

    def _columns(self) -> list[str]:
        d = self.definition
        first = [n for n in (d.display, *self.state_fields) if n]
        rest = [f.name for f in d.fields.values() if f.name not in first and f.type in LISTED_TYPES]
        return ["id", *dict.fromkeys(first), *rest[:LIST_COLUMNS], "owner", "updated_at"]

    # -- flask-admin's model API -------------------------------------------------------------------
    def get_pk_value(self, model: Any) -> Any:
        return model.id

    def scaffold_list_columns(self) -> list[str]:
        return list(self.column_list)

    def scaffold_sortable_columns(self) -> dict[str, str]:
        return {n: n for n in self.column_sortable_list}

    def init_search(self) -> bool:
        return bool(self.searched)

    def search_placeholder(self) -> str:
        return ", ".join(str(self.column_labels[n]) for n in self._searched())

    def scaffold_form(self) -> type[SecureForm]:
        return build_form(self.definition, self.edited, self.loaders)

    def scaffold_list_form(self, widget: Any = None, validators: Any = None) -> Any:
        return SecureForm

    def create_form(self, obj: Any = None) -> Any:
        """The create form without the fields hidden from the user, read-only ones disabled."""
        return restrict_form(self._create_form_class(get_form_data(), obj=obj), self.access())

    def edit_form(self, obj: Any = None) -> Any:
        """The edit form filled from the record as text (and the version it was read at),
        without the fields hidden from the user, read-only ones disabled."""
        if obj is None:
            return restrict_form(self._edit_form_class(get_form_data()), self.access())
        found = references_of(self.engine, self.definition, [obj.values], acting_user())
        references = {name: choice for (name, _id), choice in found.items()}
        form = self._edit_form_class(get_form_data(), data=form_values(self.edited, obj.values, references))
        required, fixed = conditions_holding(self.definition, obj.values, obj.values)
        return mark_conditions(restrict_form(form, self.access()), required, fixed)

    def _written(self) -> list[FieldDef]:
        return writable_fields(self.edited, self.access(), request.form)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> Any:
        if request.method == "GET" and not self.access().allows("create"):
            flash(say("may_not_create", entity=self.definition.label.get(current_language())), "danger")
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self) -> Any:
        """The edit form of a record the user may see (else 404) and change (else back to its
        page, saying so)."""
        row = self.get_one(request.args.get("id", ""))
        if row is None:
            return self.missing()
        if request.method == "GET" and not may_change(self.engine, self.definition.name, row.values):
            flash(say("may_not_change"), "danger")
            return redirect(self.get_url(".details_view", id=row.id))
        return super().edit_view()

    def get_list(
        self,
        page: int | None,
        sort_field: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        page_size: int | None = None,
    ) -> tuple[int, list[Any]]:
        conditions: list[Condition] = []
        for index, _name, value in filters or ():
            flt = self._filters[index]
            flt.apply(conditions, flt.clean(value))
        size = min(page_size or self.page_size, MAX_PAGE)
        applied = self._applied_view()
        sort = f"-{sort_field}" if sort_field and sort_desc else (sort_field or "-id")
        if not sort_field and applied is not None and applied.sort:
            sort = ",".join(applied.sort)
        group = self.list_group()
        if group is not None:  # a group's rows together, in the page's (or the view's) order within it
            sort = ",".join([group.field, *(k for k in sort.split(",") if k.lstrip("-") != group.field)])
        user = acting_user()
        try:
            found = self.engine.records.list(
                self.definition.name,
                where=with_view(applied, where_of(conditions)),
                search=search if search and self._searched() else None,  # the API's q=
                sort=sort,
                limit=size,
                offset=(page or 0) * size,
                actor=user,
            )
        except CrmError as error:
            flash(say("error", message=error.message), "danger")
            return 0, []
        references = references_of(self.engine, self.definition, found.items, user)
        rows = [RecordRow(r, {f: c for (f, i), c in references.items() if r.get(f) == i}) for r in found.items]
        return found.total, rows

    def get_one(self, id: Any) -> RecordRow | None:
        text = str(id).strip()
        if not text.isdigit() or len(text) > 18:
            return None
        try:
            record = self.engine.records.get(self.definition.name, int(text), actor=acting_user())
        except CrmError:  # none, or one the user may not see: the same answer
            return None
        return RecordRow(record)

    def create_model(self, form: Any) -> Any:
        data, problems = record_data(self._written(), form, creating=True)
        try:
            if problems:
                raise RecordValidationError(problems)
            found: list[Candidate] = []
            created = self.engine.records.create(
                self.definition.name,
                data,
                actor=acting_user(),
                allow_duplicate=confirmed_duplicate(),
                found_duplicates=found,
            )
        except CrmError as error:
            self._refused(form, error, None)
            return False
        flash_duplicates(found)
        return RecordRow(created)

    def update_model(self, form: Any, model: Any) -> bool:
        data, problems = record_data(self._written(), form, creating=False)
        try:
            if problems:
                raise RecordValidationError(problems)
            found: list[Candidate] = []
            updated = self.engine.records.update(
                self.definition.name,
                model.id,
                data,
                expected_version=expected_version(form),
                actor=acting_user(),
                allow_duplicate=confirmed_duplicate(),
                found_duplicates=found,
            )
        except CrmError as error:
            self._refused(form, error, model.values)
            return False
        flash_duplicates(found)
        model.values = updated
        return True

    def delete_model(self, model: Any) -> bool:
        try:
            self.engine.records.delete(
                self.definition.name, model.id, expected_version=model.version, actor=acting_user()
            )
        except CrmError as error:
            flash_error(error, self.situation(model.values))
            return False
        return True

    def get_save_return_url(self, model: Any, is_created: bool = False) -> str:
        return str(self.get_url(".details_view", id=model.id))

    def _refused(self, form: Any, error: CrmError, record: dict[str, Any] | None) -> None:
        """Problems on their fields; a message for the rest (a conflict, a refusal), all in
        the user's language."""
        if isinstance(error, DuplicateError):
            refused_duplicates(error)
            return
        situation = self.situation(record)
        rest = show_problems(form, error.problems, problem_describer(situation))
        if len(rest) < len(error.problems):
            flash(say("fix_fields"), "danger")
        if rest or not error.problems:
            flash_error(error, situation)

    def _owner_choices(self) -> list[tuple[str, str]]:
        """The owner filter's choices: "me", then the active users by display name."""
        people = self.engine.users.list()
        return [("me", str(word("board_mine"))), *((u.name, u.display_name or u.name) for u in people)]

    # -- cells --------------------------------------------------------------------------------
    def field(self, name: str) -> FieldDef | None:
        return self.definition.fields.get(name)

    def _formatter(self, name: str) -> Callable[..., Markup]:
        def cell(view: Any, context: Any, model: Any, _name: str) -> Markup:
            # bulk and inline edit: a simple field's cell is edited in place (_bulk_pages)
            return self.inline_cell(name, model.values, shown_cell(view, context, model, _name))

        def shown_cell(_view: Any, _context: Any, model: Any, _name: str) -> Markup:
            value = getattr(model, name)
            if name == "id" or name == self.definition.display:
                page = self.get_url(".details_view", id=model.id)
                return Markup('<a href="{}">{}</a>').format(page, value if value is not None else "—")
            if name in USER_FIELDS:
                return person(self.engine, value)
            f = self.field(name)
            reference = model.references.get(name)
            link: str | None = None
            if reference is not None and f is not None and f.target:
                link = self.get_url(f"{endpoint_of(f.target)}.details_view", id=reference.id)
            return shown(f, value, reference, link)

        return cell
