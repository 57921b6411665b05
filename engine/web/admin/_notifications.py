"""The signed-in user's notifications: a page listing them (newest first) with "mark read" and
"mark all read", reached from the bell in the top bar (which shows the unread count)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.notifications import Notification
from engine.runtime import CrmEngine

from ._access import SignedInOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import say, word
from ._record_page import flash_error
from ._records import endpoint_of

#: The most notifications the page lists.
PAGE = 100


class NotificationForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the mark-read forms."""


class NotificationsView(SignedInOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine
        super().__init__(name=word("notifications"), endpoint="crm_notifications", url="notifications")

    def is_visible(self) -> bool:
        return False  # the bell in the top bar leads here

    @expose("/")
    def index(self) -> Any:
        user = acting_user()
        unread_only = request.args.get("unread") == "1"
        found = self.engine.notifications.list(user.name, unread_only=unread_only, limit=PAGE)
        return self.render(
            "crm_admin/notifications.html",
            items=[self._item(n) for n in found],
            unread=self.engine.notifications.unread_count(user.name),
            unread_only=unread_only,
            form=NotificationForm(),
        )

    def _item(self, notification: Notification) -> dict[str, Any]:
        link = None
        entity, record_id = notification.entity, notification.record_id
        known = self.engine.has_definitions and entity in self.engine.model.definitions.entities
        if entity is not None and record_id is not None and known:
            link = url_for(f"{endpoint_of(entity)}.details_view", id=record_id)
        return {"notification": notification, "link": link}

    @expose("/read/", methods=("POST",))
    def read_view(self) -> Response:
        form = NotificationForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        user = acting_user()
        try:
            if request.form.get("all") == "1":
                marked = self.engine.notifications.mark_read(user.name, "all")
            else:
                marked = self.engine.notifications.mark_read(user.name, [_id(request.form.get("id", ""))])
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("marked_read", count=marked), "success")
        return redirect(self.get_url(".index"))


def _id(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 19 else 0
