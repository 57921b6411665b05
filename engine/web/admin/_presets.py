"""The preset loader: the business modes and their industries from the catalog, loaded
(with demo data if asked) by the same calls as ``POST /api/v1/admin/presets/NAME/load``."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError, UsageError
from engine.presets import MODES, catalog, installed_presets, load_preset, resolve
from engine.runtime import CrmEngine

from ..api._admin import MAX_DEMO
from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, current_language, say, word
from ._record_page import flash_error


class PresetForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the loader form."""


class PresetsView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("presets"), category=category, endpoint="crm_presets", url="presets")

    @expose("/")
    def index(self) -> Any:
        presets = catalog()
        language = current_language()
        modes = [
            {
                "name": m,
                "label": presets[m].label.get(language),
                "description": presets[m].description,
                "industries": list(presets[m].industries),
            }
            for m in MODES
            if m in presets
        ]
        return self.render(
            "crm_admin/presets.html",
            modes=modes,
            installed=installed_presets(self.engine),
            max_demo=MAX_DEMO,
            form=PresetForm(),
        )

    @expose("/load/", methods=("POST",))
    def load_view(self) -> Response:
        form = PresetForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        name = str(request.form.get("mode", ""))
        industry = str(request.form.get("industry", "")).strip() or None
        try:
            demo = _demo_size(str(request.form.get("demo", "0")))
            preset = resolve(name, industry)  # an unknown mode or industry names what exists
            result = load_preset(self.engine, name, industry=industry, actor=acting_user().name)
            written = 0
            if demo:
                from engine.presets import generate_demo

                written = sum(generate_demo(self.engine, preset.name, demo).values())
        except CrmError as error:
            flash_error(error)
        else:
            flash(
                say(
                    "preset_loaded",
                    name=preset.name,
                    version=result.version,
                    changes=len(result.plan.steps),
                    demo=written,
                ),
                "success",
            )
        return redirect(self.get_url(".index"))

    @expose("/load-in-background/", methods=("POST",))
    def load_job_view(self) -> Response:
        """The same form, run as a background job: the jobs page shows its progress."""
        form = PresetForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        params: dict[str, Any] = {"name": str(request.form.get("mode", ""))}
        industry = str(request.form.get("industry", "")).strip()
        if industry:
            params["industry"] = industry
        try:
            params["demo"] = _demo_size(str(request.form.get("demo", "0")))
            job_id = self.engine.jobs.submit("preset_load", params, user=acting_user())
        except CrmError as error:
            flash_error(error)
            return redirect(self.get_url(".index"))
        flash(say("job_queued", id=job_id), "success")
        return redirect(url_for("crm_jobs.index"))


def _demo_size(text: str) -> int:
    text = text.strip() or "0"
    if not text.isdigit() or int(text) > MAX_DEMO:
        raise UsageError(f"demo records: a whole number from 0 to {MAX_DEMO}")
    return int(text)
