"""The jobs page: background jobs with their progress (newest first), a button that runs
every scoring as a job, and the periodic work the workers ran lately. Administrators only;
the page reloads itself while a job is queued or running."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError
from engine.jobs import KINDS, slots
from engine.runtime import CrmEngine

from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error

#: Jobs and periodic slots the page shows.
SHOWN = 50


class JobForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the page's buttons."""


class JobsView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("jobs"), category=category, endpoint="crm_jobs", url="jobs")

    @expose("/")
    def index(self) -> Any:
        found = self.engine.jobs.list(user=acting_user(), limit=SHOWN)
        rows = []
        for job in found:
            data = job.to_json()
            total = job.progress_total
            data["percent"] = round(100 * job.progress_done / total) if total else (100 if job.finished else 0)
            data["status_label"] = say(f"status_{job.status}")
            data["kind_label"] = say(f"kind_{job.kind}") if job.kind in KINDS else job.kind
            rows.append(data)
        busy = any(j.status in ("queued", "running") for j in found)
        return self.render(
            "crm_admin/jobs.html",
            jobs=rows,
            busy=busy,
            periodic=slots(self.engine, limit=10),
            queue=say("queue_at", queue=self.engine.jobs.queue.settings.describe()),
            can_score=bool(self.engine.has_definitions and self.engine.model.definitions.scorings),
            form=JobForm(),
        )

    @expose("/score/", methods=("POST",))
    def score_view(self) -> Response:
        form = JobForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        try:
            job_id = self.engine.jobs.submit("score_run", {}, user=acting_user())
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("job_queued", id=job_id), "success")
        return redirect(self.get_url(".index"))
