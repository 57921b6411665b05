"""The import page: upload a CSV, check it (dry run) or import it, and revert an earlier
import, by the same calls as ``POST /api/v1/admin/import/ENTITY`` and
``POST /api/v1/admin/imports/ID/revert``."""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError, Problem, UsageError
from engine.runtime import CrmEngine
from engine.transfer import (
    ENCODINGS,
    ImportFormat,
    ImportReport,
    check_mapping,
    delimiter_of,
    import_csv,
    list_imports,
    revert_import,
)

from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error

#: Imports the page lists.
SHOWN = 30
#: Problems the page shows of one report (the report's count says how many more).
SHOWN_PROBLEMS = 50


class ImportForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the page's forms."""


class ImportsView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("imports"), category=category, endpoint="crm_imports", url="imports")

    @expose("/")
    def index(self) -> Any:
        return self._page()

    @expose("/run/", methods=("POST",))
    def run_view(self) -> Any:
        """Check (``dry_run``) or import the uploaded file; the page shows the report."""
        form = ImportForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        dry_run = request.form.get("dry_run") == "1"
        allow_duplicate = request.form.get("allow_duplicate") == "1"
        upload = request.files.get("file")
        try:
            entity = self.engine.entity(str(request.form.get("entity", ""))).name
            if upload is None or not upload.filename:
                raise UsageError("choose a CSV file to import")
            file_format = _format(request.form)
            key = str(request.form.get("key", "")).strip() or None
            on_error: Any = "skip" if request.form.get("on_error") == "skip" else "abort"
            with TemporaryDirectory(prefix="crm-import-") as folder:
                path = Path(folder) / Path(upload.filename).name
                upload.save(path)
                report = import_csv(
                    self.engine,
                    entity,
                    path,
                    on_error=on_error,
                    key=key,
                    actor=acting_user(),
                    dry_run=dry_run,
                    file_format=file_format,
                    allow_duplicate=allow_duplicate,
                )
        except CrmError as error:
            flash_error(error)
            return self._page(problems=list(error.problems)[:SHOWN_PROBLEMS], status=400)
        return self._page(report=report)

    @expose("/revert/<int:import_id>/", methods=("POST",))
    def revert_view(self, import_id: int) -> Response:
        form = ImportForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        try:
            result = revert_import(self.engine, import_id, actor=acting_user())
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("import_reverted", id=import_id, deleted=result.deleted, restored=result.restored), "success")
        return redirect(self.get_url(".index"))

    def _page(
        self, *, report: ImportReport | None = None, problems: list[Problem] | None = None, status: int = 200
    ) -> Any:
        shown = problems if report is None else report.problems[:SHOWN_PROBLEMS]
        entities = list(self.engine.model.definitions.entities) if self.engine.has_definitions else []
        page = self.render(
            "crm_admin/imports.html",
            entities=entities,
            encodings=ENCODINGS,
            report=report,
            problems=shown or [],
            duplicates=report.duplicates[:SHOWN_PROBLEMS] if report is not None else [],
            imports=list_imports(self.engine, limit=SHOWN),
            form=ImportForm(),
        )
        return (page, status) if status != 200 else page


def _format(form: Any) -> ImportFormat:
    """The file format the form asks for (a mapping as JSON text, when one is given)."""
    encoding = str(form.get("encoding", "utf-8"))
    if encoding not in ENCODINGS:
        raise UsageError(f"encoding: one of {', '.join(ENCODINGS)}")
    text = str(form.get("mapping", "")).strip()
    mapping: dict[str, str | None] = {}
    if text:
        try:
            mapping = check_mapping(json.loads(text), "the column mapping")
        except ValueError as exc:
            raise UsageError(f"the column mapping is not JSON: {exc}") from None
    return ImportFormat(
        delimiter=delimiter_of(str(form.get("delimiter", ""))),
        encoding=encoding,
        mapping=mapping,
        mapping_source="the column mapping",
    )
