"""The automations page: every automation of the live definitions with its runs counted, the
latest runs (or only the failed ones) with their errors, and a retry button on a failed run —
the same calls as ``crm automation runs`` and ``POST /api/v1/automations/runs/ID/retry``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.runtime import CrmEngine

from .._requests import parse_record_id
from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error

#: The runs one page shows.
PAGE = 100


class RetryForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the retry buttons."""


class AutomationsView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("automations"), category=category, endpoint="crm_automations", url="automations")

    @expose("/")
    def index(self) -> Any:
        user = acting_user()
        failed = request.args.get("failed") == "1"
        chosen = request.args.get("automation") or None
        service = self.engine.automations
        automations = service.overview(user=user) if self.engine.has_definitions else []
        if chosen is not None and chosen not in {a["name"] for a in automations}:
            chosen = None
        runs = service.runs(user=user, automation=chosen, failed=failed, limit=PAGE)
        return self.render(
            "crm_admin/automations.html",
            automations=automations,
            runs=runs,
            failed=failed,
            chosen=chosen,
            form=RetryForm(),
        )

    @expose("/runs/<run_id>/retry/", methods=("POST",))
    def retry_view(self, run_id: str) -> Response:
        form = RetryForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        try:
            run = self.engine.automations.retry(parse_record_id(run_id), user=acting_user())
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("run_retried", id=run.id, status=run.status), "success" if run.status == "done" else "warning")
        return redirect(self.get_url(".index", failed="1" if request.args.get("failed") == "1" else None))
