"""API tokens and passwords: the token service and ``crm token`` / ``crm user`` on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.errors import NotFoundError, UsageError
from engine.runtime import CrmEngine
from engine.storage import api_tokens
from engine.users import TOKEN_PREFIX, hash_token
from tests.support import CliResult

Run = Callable[..., CliResult]


@pytest.fixture
def ann(engine: CrmEngine) -> CrmEngine:
    engine.users.create("ann", roles=["rep"], team="east")
    return engine


def test_a_token_acts_as_its_user_until_revoked(ann: CrmEngine) -> None:
    token = ann.tokens.create("ann", name="laptop")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    user = ann.tokens.resolve(token)
    assert user is not None and user.name == "ann" and user.roles == ("rep",)
    with ann.db.read() as conn:  # only the hash is stored
        stored = conn.execute(sa.select(api_tokens.c.token_hash)).scalars().all()
    assert stored == [hash_token(token)] and token not in stored
    (listed,) = ann.tokens.list("ann")
    assert listed.name == "laptop" and listed.status() == "active" and listed.last_used_at is not None
    ann.tokens.revoke(listed.id)
    assert ann.tokens.resolve(token) is None and ann.tokens.list()[0].status() == "revoked"
    ann.tokens.revoke(listed.id)  # twice is harmless


def test_unknown_expired_and_inactive_tokens_resolve_to_nobody(ann: CrmEngine) -> None:
    assert ann.tokens.resolve("crm_" + "x" * 43) is None
    assert ann.tokens.resolve("") is None and ann.tokens.resolve("not a token") is None
    expiring = ann.tokens.create("ann", expires_days=1)
    assert ann.tokens.resolve(expiring) is not None
    with ann.db.write() as conn:
        conn.execute(sa.update(api_tokens).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert ann.tokens.resolve(expiring) is None and ann.tokens.list()[0].status() == "expired"
    other = ann.tokens.create("ann")
    ann.users.set_active("ann", False)
    assert ann.tokens.resolve(other) is None
    ann.users.set_active("ann", True)
    assert ann.tokens.resolve(other) is not None


def test_a_remembered_lookup_still_reads_the_user_every_time(ann: CrmEngine, database_url: str) -> None:
    token = ann.tokens.create("ann")
    assert ann.tokens.resolve(token, max_age=3600) is not None
    with CrmEngine(database_url) as elsewhere:  # another process deactivates the user
        elsewhere.users.set_active("ann", False)
    assert ann.tokens.resolve(token, max_age=3600) is None  # remembered, yet refused at once
    assert ann.tokens.resolve(token) is None
    ann.users.set_active("ann", True)
    assert ann.tokens.resolve(token, max_age=3600) is not None
    with CrmEngine(database_url) as elsewhere:  # a revocation elsewhere counts at once as well
        elsewhere.tokens.revoke(elsewhere.tokens.list("ann")[0].id)
    assert ann.tokens.resolve(token, max_age=3600) is None


def test_deactivating_or_changing_roles_here_counts_at_once(ann: CrmEngine) -> None:
    token = ann.tokens.create("ann")
    assert ann.tokens.resolve(token, max_age=3600).roles == ("rep",)  # type: ignore[union-attr]
    ann.users.set_roles("ann", ["manager"])
    assert ann.tokens.resolve(token, max_age=3600).roles == ("manager",)  # type: ignore[union-attr]
    ann.users.set_active("ann", False)
    assert ann.tokens.resolve(token, max_age=3600) is None


@pytest.mark.parametrize(
    ("user", "options", "error"),
    [
        ("nobody", {}, NotFoundError),
        ("system", {}, UsageError),
        ("ann", {"expires_days": 0}, UsageError),
        ("ann", {"expires_days": 100_000}, UsageError),
        ("ann", {"name": ""}, UsageError),
    ],
    ids=["unknown-user", "system", "zero-days", "too-many-days", "empty-name"],
)
def test_bad_token_requests(ann: CrmEngine, user: str, options: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ann.tokens.create(user, **options)  # type: ignore[arg-type]
    assert ann.tokens.list() == []


def test_passwords(ann: CrmEngine) -> None:
    ann.users.set_password("ann", "s3cret!")
    assert ann.users.authenticate("ann", "s3cret!") is not None
    assert ann.users.authenticate("ann", "wrong") is None and ann.users.authenticate("nobody", "x") is None


@pytest.fixture
def cli(ann: CrmEngine, database_url: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    return run_cli


def test_token_commands(ann: CrmEngine, cli: Run) -> None:
    created = cli("token", "create", "ann", "--name", "ci", "--expires-days", "30")
    token = created.stdout.strip()
    assert created.exit_code == 0 and created.stdout == token + "\n"  # the token alone: TOKEN=$(crm token create)
    user = ann.tokens.resolve(token)
    assert user is not None and user.name == "ann"
    listed = cli("token", "list", "ann", "--json")
    assert listed.exit_code == 0 and [(t["name"], t["status"]) for t in listed.json()] == [("ci", "active")]
    assert token not in cli("token", "list").stdout
    assert cli("token", "revoke", str(listed.json()[0]["id"])).exit_code == 0
    assert ann.tokens.resolve(token) is None
    for args, code in (
        (("token", "revoke", "999"), 4),
        (("token", "create", "nobody"), 4),
        (("token", "create", "ann", "--expires-days", "0"), 2),
        (("--as", "ann", "token", "create", "ann"), 7),
    ):
        result = cli(*args)
        assert result.exit_code == code and "Traceback" not in result.stderr, args


def test_password_commands(ann: CrmEngine, cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("first pass\n"))
    assert cli("user", "create", "bob", "--role", "admin", "--password-stdin").exit_code == 0
    assert ann.users.authenticate("bob", "first pass") is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("second pass\n"))
    assert cli("user", "passwd", "bob", "--password-stdin").exit_code == 0
    assert ann.users.authenticate("bob", "second pass") is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("ab\n"))
    short = cli("user", "passwd", "bob", "--password-stdin")
    assert short.exit_code == 2 and "too_short" in short.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO("ok-password\n"))
    assert cli("user", "passwd", "nobody", "--password-stdin").exit_code == 4
