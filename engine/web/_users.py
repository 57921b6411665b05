"""Who makes a request: the one place a request's user is decided.

Resolution, once per request (:func:`current_user`):

1. where the caller allows it (the REST API; not the admin UI), an
   ``Authorization: Bearer <token>`` header: an API token (``crm token create USER``) that is
   known, not revoked, not expired, of a user who may act;
2. else, where the caller allows it (the admin UI, never the REST API), the flask-login
   session user, if the app has a ``LoginManager``: its server-side session is resolved again
   with the user on every request, so an ended session, a deactivated user or a changed role
   counts at once;
3. else :class:`UnauthorizedError` (401, ``WWW-Authenticate: Bearer``).

A request that sends a token never falls back to the session: a wrong token is a 401.
The REST API takes tokens only, so it has no cookies and no CSRF surface; the admin UI
takes its session only (``admin._auth.acting_user``). Who may act at all is the users'
rule (:attr:`engine.users.User.may_act`), asked by the token and session lookups.

Each process remembers a token it found valid for ``CRM_TOKEN_CACHE_SECONDS`` (default 1,
as the definitions reload interval), so a busy client skips the hash lookup; the token's
user is still read on every request, so a token revoked elsewhere, or a user deactivated
by any process, stops working on the next request.
"""

from __future__ import annotations

from flask import current_app, g, request

from engine.errors import CrmError, PermissionDeniedError, Problem
from engine.users import User

from ._state import current_engine

AUTHORIZATION_HEADER = "Authorization"
_BEARER = "bearer"
#: Seconds a process reuses a successful token lookup (app setting ``CRM_TOKEN_CACHE_SECONDS``).
DEFAULT_TOKEN_CACHE_SECONDS = 1.0


class UnauthorizedError(CrmError):
    """The request carries no valid credentials (answered 401 with ``WWW-Authenticate: Bearer``)."""

    code = "unauthorized"
    http_status = 401


def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, if it has one.

    :raises UnauthorizedError: for an ``Authorization`` header of another form.
    """
    header = request.headers.get(AUTHORIZATION_HEADER)
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _BEARER or not token:
        raise UnauthorizedError(
            "the Authorization header takes the form: Bearer <token>",
            [Problem(code="invalid_authorization", field=AUTHORIZATION_HEADER, message="expected Bearer <token>")],
        )
    return token


def _from_token(token: str) -> User:
    max_age = float(current_app.config.get("CRM_TOKEN_CACHE_SECONDS", DEFAULT_TOKEN_CACHE_SECONDS))
    user = current_engine().tokens.resolve(token, max_age=max_age)
    if user is None:
        raise UnauthorizedError(
            "the bearer token is unknown, revoked or expired, or its user is inactive; "
            "create a new one with `crm token create USER`",
            [Problem(code="invalid_token", field=AUTHORIZATION_HEADER, message="invalid token")],
        )
    return user


def session_user() -> User | None:
    """The active user of the flask-login session (its server-side session resolved again this
    request, so an ended session or a deactivated user is nobody); ``None`` when the app has no
    ``LoginManager`` or nobody is signed in."""
    if getattr(current_app, "login_manager", None) is None:
        return None
    import flask_login

    signed_in = flask_login.current_user
    if signed_in is None or not getattr(signed_in, "is_authenticated", False):
        return None
    user = getattr(signed_in, "user", None)
    return user if isinstance(user, User) and user.may_act else None


def _resolve(allow_session: bool, allow_token: bool) -> User:
    token = bearer_token() if allow_token else None
    if token is not None:
        return _from_token(token)
    if allow_session:
        user = session_user()
        if user is not None:
            return user
    raise UnauthorizedError(
        "this needs authentication: send an API token as `Authorization: Bearer <token>` "
        "(create one with `crm token create USER`)",
        [Problem(code="missing_token", field=AUTHORIZATION_HEADER, message="no bearer token")],
    )


def current_user(*, allow_session: bool = True, allow_token: bool = True) -> User:
    """The user the current request acts as (resolved once per request; see the module).

    :param allow_session: whether a flask-login session counts (the REST API says no).
    :param allow_token: whether a bearer token counts (the admin UI says no).
    :raises UnauthorizedError: when the request has no valid credentials.
    """
    user: User | None = g.get("crm_user", None)
    if user is None:
        user = _resolve(allow_session, allow_token)
        g.crm_user = user
    return user


def forget_current_user() -> None:
    """Resolve the request's user again at the next :func:`current_user` (after this request
    changed it: a new language, say)."""
    g.pop("crm_user", None)


def require_admin() -> User:
    """The current user, who must hold the admin role (definitions, presets, imports)."""
    user = current_user()
    if not user.is_admin:
        raise PermissionDeniedError(f'"{user.name}" is not an administrator; this operation needs the admin role')
    return user
