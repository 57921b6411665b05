"""The users page: every user with their roles and state, a deactivate form that names who
takes over their records (one hand-over, as ``crm user deactivate NAME --transfer-to OTHER``),
a reactivate button, and the recent hand-overs. Administrators only."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.runtime import CrmEngine

from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error

#: Hand-overs the page lists (the newest).
RECENT_HANDOVERS = 20


class UserActionForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the deactivate and reactivate forms."""


class UsersView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("users"), category=category, endpoint="crm_users", url="users")

    @expose("/")
    def index(self) -> Any:
        users = self.engine.users.list()
        return self.render(
            "crm_admin/users.html",
            users=users,
            takers=[u.name for u in users if u.active],
            handovers=self.engine.handovers.list(limit=RECENT_HANDOVERS),
            form=UserActionForm(),
        )

    @expose("/deactivate/", methods=("POST",))
    def deactivate_view(self) -> Response:
        name = self._posted_name()
        if name is not None:
            transfer_to = str(request.form.get("transfer_to", "")).strip() or None
            try:
                _, handover = self.engine.handovers.deactivate(name, transfer_to=transfer_to, actor=acting_user())
            except CrmError as error:
                flash_error(error)
            else:
                moved = handover.total if handover is not None else 0
                flash(say("user_deactivated", name=name, count=moved, to=transfer_to or "—"), "success")
                if handover is not None and handover.still_assigned:
                    left = ", ".join(f"{n} {where}" for where, n in handover.still_assigned.items())
                    flash(say("user_still_assigned", name=name, left=left), "warning")
        return redirect(self.get_url(".index"))

    @expose("/reactivate/", methods=("POST",))
    def reactivate_view(self) -> Response:
        name = self._posted_name()
        if name is not None:
            try:
                self.engine.handovers.reactivate(name, actor=acting_user())
            except CrmError as error:
                flash_error(error)
            else:
                flash(say("user_reactivated", name=name), "success")
        return redirect(self.get_url(".index"))

    def _posted_name(self) -> str | None:
        if not UserActionForm(request.form).validate():
            flash(say("csrf_failed"), "danger")
            return None
        return str(request.form.get("name", "")).strip() or None
