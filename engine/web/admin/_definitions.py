"""The definitions page: the live bundle, a bundle uploaded or a document edited, checked
(each problem with its file, JSON pointer and code), the migration plan, and applying it.

Uploads go through the API's upload code (``api._uploads``: the same path checks, limits
and temporary directory) and the same loader call (``api._admin._load``). Between the
check and the apply, the checked documents travel in the page as JSON, and the apply
refuses if someone applied other definitions in between (``expected_version``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from flask import flash, redirect, request
from flask_admin import BaseView
from flask_admin.form import SecureForm
from werkzeug.wrappers import Response

from engine.errors import CrmError, Problem
from engine.metadata import Definitions, definitions_to_json
from engine.runtime import CrmEngine

from .._problems import UploadError
from .._requests import parse_json
from ..api._admin import load_upload
from ..api._uploads import MANIFEST, MAX_TOTAL_BYTES, UploadedBundle, bundle_on_disk
from ._access import AdminOnly
from ._auth import acting_user
from ._expose import expose
from ._i18n import Text, say, word
from ._record_page import flash_error

Files = dict[str, Any]
#: Where a new document of a kind goes in the live bundle (as the stored form groups them).
_FOLDERS = {"entity": "entities", "workflow": "workflows", "scoring": "scorings", "report": "reports", "role": "roles"}


class DefinitionsForm(SecureForm):  # type: ignore[misc]
    """The CSRF token of the page's three forms."""


def live_files(engine: CrmEngine) -> Files:
    """The live definitions as a bundle: ``bundle.json`` and one document per entity,
    workflow, scoring and report (each a valid document of its kind)."""
    if not engine.has_definitions:
        return {}
    stored = definitions_to_json(engine.model.definitions)
    files: Files = {MANIFEST: {"schema_version": 1, "kind": "bundle", "name": stored["name"]}}
    for key, documents in stored.items():
        if (
            isinstance(documents, Mapping)
            and documents
            and all(isinstance(d, Mapping) and "kind" in d for d in documents.values())
        ):
            for name, document in documents.items():
                files[f"{key}/{name}.json"] = document
    return files


def _merged(files: Files, path: str | None, document: Any) -> Files:
    """``files`` with ``document`` in place of the one at ``path`` (or of the same kind and
    name), else added beside the others of its kind."""
    out = dict(files)
    if path is None and isinstance(document, Mapping):
        kind, name = document.get("kind"), document.get("name")
        path = next((p for p, d in files.items() if d.get("kind") == kind and d.get("name") == name), None)
        if path is None:
            folder = next(
                (p.rpartition("/")[0] for p, d in files.items() if d.get("kind") == kind and "/" in p),
                _FOLDERS.get(str(kind), "documents"),
            )
            path = f"{folder}/{name}.json" if isinstance(name, str) else f"{folder}/document.json"
    out[str(path)] = document
    return out


def _on_disk(*, files: Files | None = None, archive: bytes | None = None) -> AbstractContextManager[UploadedBundle]:
    """The bundle unpacked into a temporary directory, with the API's checks."""
    return bundle_on_disk(archive=archive, body=None if archive is not None else {"files": files})


def _read_back(bundle: UploadedBundle) -> Files:
    return {
        p.relative_to(bundle.root).as_posix(): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(bundle.root.rglob("*.json"))
    }


class DefinitionsView(AdminOnly, BaseView):  # type: ignore[misc]
    def __init__(self, engine: CrmEngine, category: Text) -> None:
        self.engine = engine
        super().__init__(name=word("definitions"), category=category, endpoint="crm_definitions", url="definitions")

    def _page(
        self, *, result: dict[str, Any] | None = None, edited: str | None = None, edited_text: str | None = None
    ) -> Any:
        files = live_files(self.engine)
        chosen = request.values.get("document") or edited or next(iter(files), None)
        text = edited_text
        if text is None and chosen in files:
            text = json.dumps(files[chosen], ensure_ascii=False, indent=2)
        return self.render(
            "crm_admin/definitions.html",
            documents=[(path, json.dumps(doc, ensure_ascii=False, indent=2)) for path, doc in files.items()],
            version=self.engine.version,
            chosen=chosen,
            chosen_text=text or "",
            result=result,
            form=DefinitionsForm(),
        )

    @expose("/")
    def index(self) -> Any:
        return self._page()

    @expose("/check/", methods=("POST",))
    def check_view(self) -> Any:
        """Validate an upload or an edited document; show its problems or its plan."""
        form = DefinitionsForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        edited = request.form.get("document") if "text" in request.form else None
        text = request.form.get("text")
        try:
            files, archive = self._upload(edited, text)
            with _on_disk(files=files, archive=archive) as bundle:
                definitions = load_upload(self.engine, bundle)
                checked = _read_back(bundle)
            result = self._plan(definitions, checked)
        except CrmError as error:
            result = {
                "valid": False,
                "message": error.message,
                "problems": [p.to_json() for p in error.problems]
                or [Problem(code=error.code, message=error.message).to_json()],
            }
            if edited:  # the problems of an edited document are in that document
                result["problems"] = [{**p, "file": p.get("file") or edited} for p in result["problems"]]
        return self._page(result=result, edited=edited, edited_text=text)

    def _upload(self, edited: str | None, text: str | None) -> tuple[Files | None, bytes | None]:
        if edited is not None:
            document = parse_json(text or "", what=edited)
            return _merged(live_files(self.engine), edited, document), None
        upload = request.files.get("bundle")
        if upload is None or not upload.filename:
            raise UploadError(
                "choose a zip of a bundle, or a .json definition document",
                [Problem(code="required", field="bundle", message="no file chosen")],
            )
        data = upload.read(MAX_TOTAL_BYTES + 1)
        if data[:2] == b"PK" or upload.filename.lower().endswith(".zip"):
            return None, data
        document = parse_json(data, what=upload.filename)
        if isinstance(document, Mapping) and isinstance(document.get("files"), Mapping):
            return dict(document["files"]), None
        return _merged(live_files(self.engine), None, document), None

    def _plan(self, definitions: Definitions, files: Files) -> dict[str, Any]:
        plan = self.engine.plan(definitions)
        return {
            "valid": True,
            "steps": [s.to_json() for s in plan.steps],
            "blocking": any(s.blocking or s.destructive for s in plan.steps),
            "files": json.dumps({"files": files}, ensure_ascii=False),
            "expected_version": plan.from_version,
            "summary": {
                "entities": len(definitions.entities),
                "workflows": len(definitions.workflows),
                "scorings": len(definitions.scorings),
                "reports": len(definitions.reports),
            },
        }

    @expose("/apply/", methods=("POST",))
    def apply_view(self) -> Response:
        """Apply the checked documents (refused when someone applied in between)."""
        form = DefinitionsForm(request.form)
        if not form.validate():
            flash(say("csrf_failed"), "danger")
            return redirect(self.get_url(".index"))
        try:
            body = parse_json(request.form.get("files", ""), what="the checked definitions")
            files = body.get("files") if isinstance(body, Mapping) else None
            raw_version = str(request.form.get("expected_version", ""))
            expected = int(raw_version) if raw_version.isdigit() and len(raw_version) < 19 else None
            with _on_disk(files=files) as bundle:
                definitions = load_upload(self.engine, bundle)
            version, _plan = self.engine.apply(
                definitions,
                allow_data_loss=request.form.get("allow_data_loss") == "on",
                actor=acting_user().name,
                expected_version=expected,
            )
        except CrmError as error:
            flash_error(error)
        else:
            flash(say("applied", version=version), "success")
        return redirect(self.get_url(".index"))
