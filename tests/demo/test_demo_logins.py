"""After ``crm preset load NAME --demo N`` a new user signs in: the users the demo creates,
and a demo administrator, have the password ``demo``; users that existed keep theirs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from engine.metadata import load_definitions
from engine.presets import generate_demo
from engine.runtime import CrmEngine
from tests.demo.demo_support import NOW
from tests.support import REPO_ROOT, CliResult


def test_a_demo_load_prints_logins_that_sign_in(database_url: str, run_cli: Callable[..., CliResult]) -> None:
    with CrmEngine(database_url) as crm:
        crm.users.create("olga", roles=["finance"])
        crm.users.set_password("olga", "olga's own secret")
    done = run_cli("--database-url", database_url, "preset", "load", "standard_product", "--demo", "300")
    assert done.exit_code == 0, done.stderr
    assert "password: demo (demo data only; change it with `crm user passwd NAME`)" in done.stdout
    line = next(text for text in done.stdout.splitlines() if text.startswith("sign in to /admin"))
    shown = dict((role, name) for name, role in re.findall(r"([\w.@-]+) \((\w+)\)", line))
    assert {"admin", "manager", "rep", "secretary", "marketing", "service"} <= set(shown)
    assert "finance" not in shown  # olga holds it: no finance user is created, none is shown
    with CrmEngine(database_url) as crm:
        admin = crm.users.authenticate("admin", "demo")
        assert admin is not None and admin.is_admin
        for role, name in shown.items():
            user = crm.users.authenticate(name, "demo")
            assert user is not None and (role in user.roles), (role, name)
        assert crm.users.authenticate("olga", "demo") is None
        assert crm.users.authenticate("olga", "olga's own secret") is not None


def test_json_lists_the_logins_and_a_second_load_changes_no_password(
    database_url: str, run_cli: Callable[..., CliResult]
) -> None:
    done = run_cli("--database-url", database_url, "preset", "load", "key_account", "--demo", "200", "--json")
    assert done.exit_code == 0, done.stderr
    logins = json.loads(done.stdout)["logins"]
    assert logins["password"] == "demo"
    assert [u["role"] for u in logins["users"]][:3] == ["admin", "manager", "rep"]
    with CrmEngine(database_url) as crm:
        for user in logins["users"]:
            assert crm.users.authenticate(user["name"], "demo") is not None
        crm.users.set_password("admin", "changed")
    again = run_cli("--database-url", database_url, "preset", "load", "key_account", "--demo", "100", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["logins"]["users"] == []  # nobody new
    with CrmEngine(database_url) as crm:
        assert crm.users.authenticate("admin", "changed") is not None
        assert crm.users.authenticate("admin", "demo") is None


def test_without_a_password_demo_users_cannot_sign_in(database_url: str) -> None:
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(REPO_ROOT / "examples" / "sales"))
        generate_demo(crm, "sales_example", 100, now=NOW)
        users = crm.users.list()
        assert users and "admin" not in {u.name for u in users}
        assert all(crm.users.authenticate(u.name, "demo") is None for u in users)
