"""My day (``/admin/my-day/``): what the signed-in user has to do today, where non-admin
users land after signing in. One click completes a task or moves it to tomorrow or next
week, through the record service as the user (their permissions and the audit apply)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.clock import utcnow
from engine.errors import CrmError, UsageError
from engine.records import display_text
from engine.runtime import CrmEngine
from engine.workspace import my_day, work_fields

from ._access import SignedInOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import current_language, say, word
from ._record_page import flash_error
from ._records import endpoint_of

#: How far "later" moves a due date.
_LATER = {"tomorrow": timedelta(days=1), "next_week": timedelta(days=7)}


class MyDayForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the complete and reschedule buttons."""


class MyDayView(SignedInOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        super().__init__(name=word("my_day"), endpoint="crm_my_day", url="my-day")

    @expose("/")
    def index(self) -> Any:
        user = acting_user()
        day = my_day(self.engine, user)
        language = current_language()
        return self.render(
            "crm_admin/my_day.html",
            day=day,
            title=lambda item: display_text(item.entity, item.record, language),
            link=lambda item: url_for(f"{endpoint_of(item.entity.name)}.details_view", id=item.record["id"]),
            entity_label=lambda item: item.entity.label.get(language),
            is_work=lambda item: work_fields(item.entity) is not None,
            form=MyDayForm(),
        )

    @expose("/done/", methods=("POST",))
    def done_view(self) -> Response:
        """Complete a work item: its completion time now (and its status ``done`` when it has one)."""
        return self._change(lambda item, fields: _completed(item, fields), "item_done")

    @expose("/later/", methods=("POST",))
    def later_view(self) -> Response:
        """Move a work item's due date to tomorrow or next week."""
        return self._change(lambda item, fields: _rescheduled(item, fields), "item_rescheduled")

    def _change(self, values_of: Any, said: str) -> Response:
        form = MyDayForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        user = acting_user()
        entity_name = str(request.form.get("entity", ""))
        try:
            entity = self.engine.model.entity(entity_name)
            fields = work_fields(entity)
            if fields is None:
                raise UsageError(f"{entity_name} records are not tasks")
            record_id = int(request.form.get("id", "0"))
            record = self.engine.records.get(entity_name, record_id, actor=user)
            version = int(request.form.get("version", record["version"]))
            self.engine.records.update(
                entity_name, record_id, values_of(record, fields), actor=user, expected_version=version
            )
        except (CrmError, ValueError) as error:
            if isinstance(error, CrmError):
                flash_error(error)
            else:
                flash(say("board_no_such_move"), "danger")
        else:
            flash(say(said, title=display_text(entity, record, current_language())), "success")
        return redirect(self.get_url(".index"))


def _completed(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {fields["done"]: utcnow().isoformat()}
    if record.get("status") not in (None, "done"):
        values["status"] = "done"
    return values


def _rescheduled(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    step = _LATER.get(str(request.form.get("when", "")), _LATER["tomorrow"])
    due = record.get(fields["due"])
    today = utcnow().date()
    start = max(due.date() if isinstance(due, datetime) else (due or today), today)
    moved = start + step
    if isinstance(due, datetime):
        return {fields["due"]: datetime.combine(moved, due.timetz()).isoformat()}
    return {fields["due"]: moved.isoformat()}
