"""Admin sessions end on the server (SQLite and PostgreSQL): a copied session cookie stops
working after sign-out, a password change or a deactivation; the cookie's flags; and the limit
on password guessing at the sign-in page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.errors import UsageError
from engine.runtime import CrmEngine
from engine.storage import sessions
from engine.users import SignInLimits
from engine.web import create_app

PASSWORD = "open sesame"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def app(engine: CrmEngine) -> Flask:
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    engine.users.create("rita", roles=["rep"])
    engine.users.set_password("rita", PASSWORD)
    return create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests"})


def _csrf(client: FlaskClient, url: str = "/admin/login/") -> str:
    found = _TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def _sign_in(client: FlaskClient, name: str = "ada", password: str = PASSWORD, **environ: str) -> int:
    data = {"csrf_token": _csrf(client), "name": name, "password": password}
    return client.post("/admin/login/", data=data, environ_base=environ).status_code


def _copy_of(app: Flask, signed_in: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``signed_in``'s session cookie."""
    cookie = signed_in.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session is open
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app: Flask) -> None:
    browser = app.test_client()
    assert _sign_in(browser) == 302
    thief = _copy_of(app, browser)
    browser.post("/admin/logout/", data={"csrf_token": _csrf(browser, "/admin/")})
    assert browser.get("/admin/").status_code == 302
    response = thief.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/")


def test_sign_out_ends_every_session_of_the_user(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    assert _sign_in(laptop) == 302 and _sign_in(phone) == 302
    laptop.post("/admin/logout/", data={"csrf_token": _csrf(laptop, "/admin/")})
    assert phone.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda engine: engine.users.set_password("ada", "a new secret"), id="password-change"),
        pytest.param(lambda engine: engine.users.set_active("ada", False), id="deactivation"),
    ],
)
def test_a_copied_cookie_stops_working_after(app: Flask, engine: CrmEngine, change: object) -> None:
    browser = app.test_client()
    assert _sign_in(browser) == 302
    thief = _copy_of(app, browser)
    change(engine)  # type: ignore[operator]
    engine.users.set_active("ada", True)  # reactivating does not revive an ended session
    assert thief.get("/admin/").status_code == 302
    assert browser.get("/admin/").status_code == 302


def test_other_users_sessions_go_on(app: Flask, engine: CrmEngine) -> None:
    ada, rita = app.test_client(), app.test_client()
    assert _sign_in(ada) == 302 and _sign_in(rita, "rita") == 302
    engine.users.set_password("ada", "a new secret")
    assert rita.get("/admin/").status_code == 200


def test_a_session_expires_after_its_lifetime(engine: CrmEngine) -> None:
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    app = create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests", "CRM_SESSION_HOURS": "8"})
    browser = app.test_client()
    assert _sign_in(browser) == 302
    assert browser.get("/admin/").status_code == 200
    with engine.db.write() as conn:  # the sign-in was nine hours ago
        conn.execute(sessions.update().values(created_at=datetime.now(UTC) - timedelta(hours=9)))
    response = browser.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login/")
    assert _sign_in(browser) == 302 and browser.get("/admin/").status_code == 200  # a new sign-in works


def test_sessions_last_twelve_hours_unless_configured(engine: CrmEngine) -> None:
    engine.users.create("ada", roles=["admin"])
    key = engine.sessions.start("ada")
    eleven_hours_on = datetime.now(UTC) + timedelta(hours=11)
    assert engine.sessions.resolve(key, now=eleven_hours_on) is not None
    assert engine.sessions.resolve(key, now=eleven_hours_on + timedelta(hours=1, minutes=1)) is None


@pytest.mark.parametrize("hours", ["soon", "0", "-3"])
def test_a_bad_session_lifetime_is_a_usage_error(engine: CrmEngine, hours: str) -> None:
    with pytest.raises(UsageError, match="CRM_SESSION_HOURS"):
        create_app({"CRM_ENGINE": engine, "TESTING": True, "SECRET_KEY": "tests", "CRM_SESSION_HOURS": hours})


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_over_https(app: Flask) -> None:
    plain = app.test_client()
    data = {"csrf_token": _csrf(plain), "name": "ada", "password": PASSWORD}
    cookie = plain.post("/admin/login/", data=data).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    found = _TOKEN.search(secure.get("/admin/login/", base_url="https://localhost").get_data(as_text=True))
    assert found
    data = {"csrf_token": found.group(1), "name": "ada", "password": PASSWORD}
    cookie = secure.post("/admin/login/", data=data, base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_guessing_is_limited_per_account(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = app.test_client()
    with caplog.at_level("WARNING", logger="engine.users"):
        for _ in range(5):
            assert _sign_in(client, password="guess") == 401
    assert sum("failed sign-in for 'ada'" in r.getMessage() for r in caplog.records) == 5
    data = {"csrf_token": _csrf(client), "name": "ada", "password": PASSWORD}
    response = client.post("/admin/login/", data=data)  # even the right password now
    assert response.status_code == 429
    assert 840 <= int(response.headers["Retry-After"]) <= 900
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert _sign_in(app.test_client(), "rita") == 302  # another account is not locked


def test_password_guessing_is_limited_per_address(app: Flask, engine: CrmEngine) -> None:
    client = app.test_client()
    for number in range(20):
        assert _sign_in(client, f"nobody{number}", "guess", REMOTE_ADDR="203.0.113.9") == 401
    assert _sign_in(client, "ada", PASSWORD, REMOTE_ADDR="203.0.113.9") == 429
    assert _sign_in(client, "ada", PASSWORD, REMOTE_ADDR="198.51.100.7") == 302  # another address


def test_a_success_clears_the_accounts_failures(app: Flask) -> None:
    client = app.test_client()
    for _ in range(4):
        assert _sign_in(client, password="guess") == 401
    assert _sign_in(client) == 302
    other = app.test_client()
    for _ in range(4):
        assert _sign_in(other, password="guess") == 401
    assert _sign_in(other) == 302


def test_the_limits_hold_across_processes(engine: CrmEngine, database_url: str) -> None:
    """Two engines on one database (two workers) share the counters."""
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    other = CrmEngine(database_url)
    try:
        for _ in range(2):
            assert engine.sign_ins.sign_in("ada", "guess", address="192.0.2.1") is None
            assert other.sign_ins.sign_in("ada", "guess", address="192.0.2.2") is None
        assert engine.sign_ins.sign_in("ada", "guess", address="192.0.2.1") is None
        from engine.users import TooManySignInsError

        with pytest.raises(TooManySignInsError) as refused:
            other.sign_ins.sign_in("ada", PASSWORD, address="192.0.2.3")
        assert refused.value.http_status == 429 and refused.value.retry_after > 0
    finally:
        other.close()


def test_failures_older_than_the_window_do_not_count(engine: CrmEngine) -> None:
    engine.users.create("ada", roles=["admin"])
    engine.users.set_password("ada", PASSWORD)
    engine.sign_ins.limits = SignInLimits(per_account=2, per_address=10, window=timedelta(seconds=1))
    assert engine.sign_ins.sign_in("ada", "guess", address=None) is None
    assert engine.sign_ins.sign_in("ada", "guess", address=None) is None
    import time

    time.sleep(1.1)
    user = engine.sign_ins.sign_in("ada", PASSWORD, address=None)
    assert user is not None and user.name == "ada"
