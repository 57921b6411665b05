"""Who may open a page: signed-in users everywhere, administrators on the definitions and
presets pages. Everyone else goes to the sign-in page (and comes back after it)."""

from __future__ import annotations

from typing import Any

import flask_login
from flask import abort, redirect, request, url_for
from werkzeug.wrappers import Response

from .._state import web_state
from ._auth import BLUEPRINT, acting_user


class SignedInOnly:
    """Mixed into every admin view: pages need a signed-in user."""

    def is_accessible(self) -> bool:
        return bool(flask_login.current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if flask_login.current_user.is_authenticated:
            abort(403)
        return redirect(url_for(f"{BLUEPRINT}.login", next=request.full_path.rstrip("?")))

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        # definitions applied by another process are seen here too (at most once a second)
        web_state().refresh()
        return super()._handle_view(name, **kwargs)  # type: ignore[misc]


class AdminOnly(SignedInOnly):
    """Definitions and presets: administrators only (the menu hides them from others)."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and acting_user().is_admin
