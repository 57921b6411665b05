"""The webhooks page: every subscription, its recent and failed deliveries, and a replay
button (the same calls as ``POST /api/v1/webhooks/NAME/replay``). Administrators only."""

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

#: Deliveries shown per subscription.
RECENT = 10


class ReplayForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the replay buttons."""


class WebhooksView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("webhooks"), category=category, endpoint="crm_webhooks", url="webhooks")

    @expose("/")
    def index(self) -> Any:
        user = acting_user()
        service = self.engine.webhooks
        subscriptions = [
            {
                "subscription": s,
                "recent": service.deliveries(s.name, user=user, limit=RECENT),
                "failed": service.deliveries(s.name, user=user, failed_only=True, limit=RECENT),
            }
            for s in service.list(user=user)
        ]
        return self.render("crm_admin/webhooks.html", subscriptions=subscriptions, form=ReplayForm())

    @expose("/replay/", methods=("POST",))
    def replay_view(self) -> Response:
        form = ReplayForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        name = str(request.form.get("name", ""))
        try:
            queued = self.engine.webhooks.replay(name, user=acting_user(), failed=True)
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("webhook_replayed", name=name, count=queued), "success")
        return redirect(self.get_url(".index"))
