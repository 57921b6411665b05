"""Merging in the admin UI: "Merge into…" on a record page (pick the target by id or search),
a confirm page saying field by field which value the merged record keeps, and the merges page
with an undo button per merge.

The pages ask ``engine.merges`` (its plan for the confirm page, ``merge`` and ``undo`` for the
buttons) as the signed-in user, so a crafted POST meets the service's own refusals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError, NotFoundError, Problem, UsageError

from ._access import SignedInOnly
from ._auth import acting_user
from ._display import shown
from ._expose import expose
from ._i18n import Text, current_language
from ._record_page import flash_error

if TYPE_CHECKING:
    from engine.metadata import EntityDef
    from engine.runtime import CrmEngine

#: Candidates the target picker lists.
CANDIDATES = 20

_WORDS: Mapping[str, tuple[str, str]] = {
    "merges": ("Merges", "合并记录"),
    "merge_into": ("Merge into…", "合并到…"),
    "merge_title": ("Merge {record} into another record", "将 {record} 合并到另一条记录"),
    "merge_help": (
        "The record you merge into remains: every reference to this record moves to it, its history "
        "goes with it, and this record is removed. Each field keeps the remaining record's value unless "
        "it is empty; tick a field to take this record's value instead. A merge can be undone on the "
        "merges page.",
        "保留合并目标:所有引用本记录的数据都转到目标,历史随之转移,本记录被删除。每个字段保留目标的值,"
        "为空时取本记录的值;勾选字段可改用本记录的值。合并可在“合并记录”页撤销。",
    ),
    "target_id": ("Record id to merge into", "目标记录 ID"),
    "search": ("Search", "搜索"),
    "choose": ("Choose", "选择"),
    "field": ("Field", "字段"),
    "this_record": ("This record (merged away)", "本记录(将被合并)"),
    "target_record": ("Remaining record", "保留的记录"),
    "kept": ("Kept", "保留"),
    "take": ("Take this record's value", "使用本记录的值"),
    "references": ("References that move", "将转移的引用"),
    "confirm": ("Merge", "确认合并"),
    "cancel": ("Cancel", "取消"),
    "merged": (
        "Merged into this record (merge {id}); undo it on the merges page.",
        "已合并到本记录(合并 {id}),可在“合并记录”页撤销。",
    ),
    "undone": ("Merge {id} undone: {entity} {source} is back.", "合并 {id} 已撤销:{entity} {source} 已恢复。"),
    "undo": ("Undo", "撤销"),
    "undone_at": ("Undone", "已撤销"),
    "no_merges": ("No merges yet.", "暂无合并。"),
    "source": ("Merged away", "被合并"),
    "target": ("Into", "合并到"),
    "moved": ("References moved", "转移的引用"),
    "taken": ("Fields taken", "取用的字段"),
    "by": ("By", "操作人"),
    "at": ("At", "时间"),
    "reason_target": ("remaining record's value", "目标的值"),
    "reason_empty": ("the remaining record's is empty", "目标为空"),
    "reason_take": ("chosen", "已选择"),
    "reason_same": ("same value", "相同"),
    "reason_workflow": ("workflow state: the remaining record's", "流程状态:保留目标的"),
    "reason_derived": ("computed again", "重新计算"),
    "reason_assigned": ("numbered by the engine", "系统编号"),
}


def merge_word(key: str, **values: object) -> str:
    """A word of the merge pages in the signed-in user's language."""
    en, zh = _WORDS[key]
    return (zh if current_language() == "zh" else en).format(**values)


class MergeForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the merge and undo buttons."""


class MergePages:
    """Mixed into an entity view: the target picker and confirm page of a merge."""

    engine: CrmEngine
    definition: EntityDef

    if TYPE_CHECKING:

        def get_url(self, endpoint: str, **kwargs: Any) -> str: ...
        def render(self, template: str, **kwargs: Any) -> Any: ...
        def missing(self) -> Any: ...

    @expose("/merge/", methods=("GET", "POST"))
    def merge_view(self) -> Any:
        """GET: pick the target (``into``, or candidates for the search ``q``), then confirm
        with each field's choice. POST (the confirm page's form): merge."""
        source_id = _record_id(request.values.get("id"))
        if source_id is None:
            return self.missing()
        if request.method == "POST":
            return self._merge(source_id)
        user = acting_user()
        entity = self.definition.name
        try:
            source = self.engine.records.get(entity, source_id, actor=user)
        except NotFoundError:
            return self.missing()
        into = _record_id(request.args.get("into"))
        query = str(request.args.get("q", "")).strip()
        plan = None
        candidates: list[dict[str, Any]] = []
        if into is not None:
            try:
                plan = self.engine.merges.plan(entity, source_id, into=into, actor=user)
            except CrmError as error:
                flash_error(error)
        elif query:
            try:
                page = self.engine.records.list(entity, search=query, limit=CANDIDATES + 1, actor=user)
                candidates = [r for r in page.items if r["id"] != source_id][:CANDIDATES]
            except CrmError as error:
                flash_error(error)
        return self.render(
            "crm_admin/merge.html",
            source=source,
            plan=plan,
            candidates=candidates,
            query=query,
            title_of=self._title_of,
            label_of=self._label_of,
            shown_value=self._shown_value,
            entity_label=lambda name: Text.of(self.engine.model.entity(name).label),
            mw=merge_word,
            form=MergeForm(),
        )

    def _merge(self, source_id: int) -> Response:
        form = MergeForm(request.form)
        back = self.get_url(".merge_view", id=source_id)
        if not form.validate():
            flash(merge_word("cancel"), "danger")
            return redirect(back)
        into = _record_id(request.form.get("into"))
        take = {name: "source" for name in request.form.getlist("take")}
        try:
            if into is None:
                raise UsageError(
                    "name the record to merge into",
                    [Problem(code="required", field="into", message="choose the record that remains")],
                )
            merged = self.engine.merges.merge(
                self.definition.name, source_id, into=into, take=take, actor=acting_user()
            )
        except CrmError as error:
            flash_error(error)
            return redirect(self.get_url(".merge_view", id=source_id, into=into) if into else back)
        flash(merge_word("merged", id=merged["id"]), "success")
        return redirect(self.get_url(".details_view", id=into))

    def _title_of(self, record: Mapping[str, Any]) -> str:
        display = self.definition.display
        value = record.get(display) if display else None
        return f"{value} (#{record['id']})" if value else f"#{record['id']}"

    def _label_of(self, name: str) -> str:
        f = self.definition.fields.get(name)
        return f.label.get(current_language()) if f is not None else name

    def _shown_value(self, name: str, value: Any) -> Any:
        return shown(self.definition.fields.get(name), value)


class MergesView(SignedInOnly, BaseView):  # type: ignore[misc]
    """Every merge the user may see, newest first, with an undo button on those not undone."""

    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=Text(*_WORDS["merges"]), category=category, endpoint="crm_merges", url="merges")

    @expose("/")
    def index(self) -> Any:
        found = self.engine.merges.list(actor=acting_user(), limit=200)
        return self.render("crm_admin/merges.html", merges=found, form=MergeForm(), mw=merge_word)

    @expose("/undo/", methods=("POST",))
    def undo_view(self) -> Response:
        form = MergeForm(request.form)
        merge_id = _record_id(request.form.get("id"))
        if not form.validate() or merge_id is None:
            flash(merge_word("cancel"), "danger")
            return redirect(self.get_url(".index"))
        try:
            undone = self.engine.merges.undo(merge_id, actor=acting_user())
        except CrmError as error:
            flash_error(error)
        else:
            flash(merge_word("undone", id=merge_id, entity=undone["entity"], source=undone["source"]), "success")
        return redirect(self.get_url(".index"))


def _record_id(raw: Any) -> int | None:
    text = str(raw or "").strip().lstrip("#")
    return int(text) if text.isdigit() and 0 < len(text) < 19 and int(text) > 0 else None
