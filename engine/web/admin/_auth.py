"""Signing in to the admin UI: flask-login over the engine's users, the session secret, and
the acting user of every service call.

The session cookie only carries the key of a server-side session (``engine.sessions``);
every request resolves it again with the user, so an ended session (sign-out, password change,
deactivation: every session of that user) or a deactivated user or a changed role counts at
once, and a copied cookie is worthless after that. Password guessing is limited per account
and per address (``engine.sign_ins``). The cookie is ``HttpOnly``, ``SameSite=Lax``, and
``Secure`` whenever the request came over HTTPS.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import flask_login
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_admin.form import SecureForm
from sqlalchemy.engine import make_url
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField

from engine.errors import CrmError, UsageError
from engine.runtime import CrmEngine
from engine.users import DEFAULT_SESSION_LIFETIME, SessionService, TooManySignInsError, User

from .._state import current_engine
from .._users import current_user, forget_current_user
from ._i18n import LANGUAGES, say, word

#: The file beside the SQLite database (else in the working directory) holding the session
#: secret when neither SECRET_KEY nor CRM_SECRET_KEY is set, so that every worker shares it.
SECRET_FILE = ".crm_secret_key"
BLUEPRINT = "crm_admin_auth"


class SignedIn(flask_login.UserMixin):  # type: ignore[misc]
    """The signed-in user as flask-login sees it: the engine's :class:`User` and the key of
    the server-side session (what the cookie remembers)."""

    def __init__(self, user: User, session_key: str) -> None:
        self.user = user
        self.session_key = session_key

    def get_id(self) -> str:
        return self.session_key

    @property
    def is_active(self) -> bool:
        return self.user.active

    @property
    def language(self) -> str:
        return self.user.language

    @property
    def name(self) -> str:
        return self.user.display_name or self.user.name


def _load(engine: CrmEngine, session_key: str, lifetime: timedelta) -> SignedIn | None:
    user = SessionService(engine, lifetime).resolve(session_key)
    return SignedIn(user, session_key) if user is not None else None


def session_lifetime(app: Flask) -> timedelta:
    """``CRM_SESSION_HOURS`` from the config, else the environment, else 12 hours: how long a
    sign-in lasts before the user signs in again."""
    configured = app.config.get("CRM_SESSION_HOURS") or os.environ.get("CRM_SESSION_HOURS")
    if configured is None or configured == "":
        return DEFAULT_SESSION_LIFETIME
    try:
        hours = float(configured)
    except (TypeError, ValueError):
        raise UsageError(f"CRM_SESSION_HOURS must be a number of hours, not {configured!r}") from None
    if not 0 < hours <= 24 * 366:
        raise UsageError(f"CRM_SESSION_HOURS must be more than 0 and at most a year of hours, not {configured!r}")
    return timedelta(hours=hours)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked ``Secure`` on every response to an HTTPS request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app)) or request.is_secure


def acting_user() -> User:
    """The signed-in user (the actor of every service call, and whose permissions the menu,
    lists and forms show): the web's one resolver, with what the admin UI allows, its
    session and never a bearer token."""
    return current_user(allow_session=True, allow_token=False)


def secret_key(app: Flask, engine: CrmEngine) -> str:
    """``SECRET_KEY`` from the config, else ``CRM_SECRET_KEY``, else the key file's (created
    once, mode 0600, beside the SQLite database or in the working directory)."""
    configured = app.config.get("SECRET_KEY") or os.environ.get("CRM_SECRET_KEY")
    if configured:
        return str(configured)
    path = _secret_path(engine)
    if not path.exists():
        _create_secret(path)
    return path.read_text(encoding="ascii").strip()


def _secret_path(engine: CrmEngine) -> Path:
    url = make_url(engine.db.url)
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).resolve().parent / SECRET_FILE
    return Path.cwd() / SECRET_FILE


def _create_secret(path: Path) -> None:
    """Write the key to a private temporary file, then link it into place: two workers
    starting together both end up reading the one that won."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".crm_secret_")
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, secrets.token_urlsafe(48).encode("ascii"))
        os.close(descriptor)
        with contextlib.suppress(FileExistsError):  # another worker was first: use its key
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


class LoginForm(SecureForm):  # type: ignore[misc]
    name = StringField(word("user_name"))
    password = PasswordField(word("password"))


class LanguageForm(SecureForm):  # type: ignore[misc]
    pass


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never another host) is a place to go after signing in."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("admin.index")


def login() -> str | Response:
    form = LoginForm(request.form)
    if request.method == "POST":
        if not form.validate():
            flash(say("csrf_failed"), "danger")
        else:
            engine = current_engine()
            name, password = str(form.name.data or "").strip(), str(form.password.data or "")
            try:
                user = engine.sign_ins.sign_in(name, password, address=request.remote_addr)
            except TooManySignInsError as refused:
                flash(say("too_many_sign_ins", minutes=max(1, math.ceil(refused.retry_after / 60))), "danger")
                page = render_template("crm_admin/login.html", form=form)
                return page, 429, {"Retry-After": str(refused.retry_after)}  # type: ignore[return-value]
            if user is None:
                flash(say("bad_login"), "danger")
                return render_template("crm_admin/login.html", form=form), 401  # type: ignore[return-value]
            flask_login.login_user(SignedIn(user, engine.sessions.start(user.name)))
            if not request.args.get("next") and not user.is_admin:
                return redirect(url_for("crm_my_day.index"))  # the people who sell start with their day
            return redirect(_safe_next(request.args.get("next")))
    return render_template("crm_admin/login.html", form=form)


def logout() -> Response:
    form = LanguageForm(request.form)
    if form.validate():
        signed_in = flask_login.current_user
        if signed_in is not None and signed_in.is_authenticated:
            current_engine().sessions.end_all(signed_in.user.name)  # every copy of every cookie
        flask_login.logout_user()
    return redirect(url_for(f"{BLUEPRINT}.login"))


def set_language() -> Response:
    """Save the signed-in user's language (``en`` or ``zh``)."""
    if not flask_login.current_user.is_authenticated:
        return redirect(url_for(f"{BLUEPRINT}.login"))
    form = LanguageForm(request.form)
    language = request.form.get("language", "")
    if not form.validate():
        flash(say("csrf_failed"), "danger")
    elif language in LANGUAGES:
        try:
            user = current_engine().users.set_language(acting_user().name, language)
        except CrmError as error:
            flash(error.message, "danger")
        else:
            # this request already speaks the new language
            flask_login.login_user(SignedIn(user, flask_login.current_user.session_key))
            forget_current_user()
            flash(say("language_saved"), "success")
    return redirect(_safe_next(request.form.get("next")))


def init_auth(app: Flask, engine: CrmEngine) -> None:
    """Sign-in, sign-out and the language switch under ``/admin``, and the session secret."""
    app.secret_key = secret_key(app, engine)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's default is None, not absent
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.session_interface = _SessionInterface()
    manager = flask_login.LoginManager()
    manager.login_view = f"{BLUEPRINT}.login"
    manager.login_message = word("please_sign_in")
    manager.login_message_category = "info"
    lifetime = session_lifetime(app)
    manager.user_loader(lambda name: _load(engine, name, lifetime))
    manager.init_app(app)
    blueprint = Blueprint(
        BLUEPRINT,
        __name__,
        url_prefix="/admin",
        template_folder="templates",
        static_folder="static",
        static_url_path="/crm-static",
    )
    blueprint.add_url_rule("/login/", "login", login, methods=["GET", "POST"])
    blueprint.add_url_rule("/logout/", "logout", logout, methods=["POST"])
    blueprint.add_url_rule("/language/", "language", set_language, methods=["POST"])
    app.register_blueprint(blueprint)
    # what a browser asks for on any page (the API's docs too): the admin's icon
    app.add_url_rule(
        "/favicon.ico", "crm_favicon", lambda: redirect(url_for(f"{BLUEPRINT}.static", filename="favicon.svg"))
    )
