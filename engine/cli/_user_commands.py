"""``crm user create|list|roles|set-roles|passwd`` and ``crm token create|list|revoke``.

Managing users and tokens is an administrator's job: without ``--as`` the CLI acts as
the system administrator; ``--as NAME`` must name a user with the admin role.
"""

from __future__ import annotations

import sys

import click

from engine.errors import Problem, UsageError
from engine.users import MIN_PASSWORD_LENGTH

from ._context import CliContext, pass_context
from ._output import echo_json, echo_table

_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(
            f"passwords have at least {MIN_PASSWORD_LENGTH} characters",
            [Problem(code="too_short", field="password", message=f"at least {MIN_PASSWORD_LENGTH} characters")],
        )
    return password


def _describe(name: str, roles: tuple[str, ...], team: str | None) -> str:
    return f"{name} (roles: {', '.join(roles) or 'none'}" + (f", team {team})" if team else ")")


@click.group()
def user() -> None:
    """Manage users, their roles, teams and passwords."""


@user.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="ROLE",
    help="A role the applied definitions define, or admin (repeat for several).",
)
@click.option("--team", metavar="TEAM")
@click.option("--display-name", metavar="TEXT")
@click.option("--language", type=click.Choice(["en", "zh"]), default="en")
@click.option("--email", metavar="EMAIL", help="Where notifications are emailed (when CRM_SMTP_URL is set).")
@_password_stdin
@_json_flag
@pass_context
def user_create(
    context: CliContext,
    name: str,
    roles: tuple[str, ...],
    team: str | None,
    display_name: str | None,
    language: str,
    email: str | None,
    password_stdin: bool,
    as_json: bool,
) -> None:
    """Create user NAME (with a password for the admin UI when --password-stdin is given)."""
    context.require_admin("managing users and tokens")
    password = _read_password(True) if password_stdin else None
    users = context.engine.users
    created = users.create(name, roles=roles, team=team, display_name=display_name, language=language, email=email)
    if password is not None:
        users.set_password(created.name, password)
    if as_json:
        echo_json(created.to_json())
    else:
        click.echo("created user " + _describe(created.name, created.roles, created.team))


@user.command("update")
@click.argument("name")
@click.option("--email", metavar="EMAIL", help='Where notifications are emailed ("" for nowhere).')
@_json_flag
@pass_context
def user_update(context: CliContext, name: str, email: str | None, as_json: bool) -> None:
    """Change user NAME's details (its email address)."""
    context.require_admin("managing users and tokens")
    if email is None:
        raise UsageError("nothing to change: give --email EMAIL")
    changed = context.engine.users.set_email(name, email)
    if as_json:
        echo_json(changed.to_json() | {"email": changed.email})
    else:
        click.echo(f"updated user {changed.name}: email {changed.email or 'none'}")


@user.command("list")
@_json_flag
@pass_context
def user_list(context: CliContext, as_json: bool) -> None:
    """List users."""
    found = context.engine.users.list()
    if as_json:
        echo_json([u.to_json() for u in found])
    else:
        echo_table([{**u.to_json(), "roles": ", ".join(u.roles)} for u in found], ["name", "roles", "team"])


@user.command("roles")
@click.argument("name")
@_json_flag
@pass_context
def user_roles(context: CliContext, name: str, as_json: bool) -> None:
    """Show the roles of user NAME, one a line."""
    found = context.engine.users.get(name)
    if as_json:
        echo_json(list(found.roles))
    else:
        for role in found.roles:
            click.echo(role)


@user.command("set-roles")
@click.argument("name")
@click.argument("roles", nargs=-1, metavar="[ROLE]...")
@click.option("--team", metavar="TEAM", help="Move the user to TEAM as well.")
@_json_flag
@pass_context
def user_set_roles(context: CliContext, name: str, roles: tuple[str, ...], team: str | None, as_json: bool) -> None:
    """Give user NAME exactly the ROLEs (none: no role); each must be a role the applied
    definitions define, or admin."""
    context.require_admin("managing users and tokens")
    changed = context.engine.users.set_roles(name, roles, team=team)
    if as_json:
        echo_json(changed.to_json())
    else:
        click.echo("changed user " + _describe(changed.name, changed.roles, changed.team))


@user.command("passwd")
@click.argument("name")
@_password_stdin
@pass_context
def user_passwd(context: CliContext, name: str, password_stdin: bool) -> None:
    """Set the password of user NAME (asked twice, or read from standard input)."""
    context.require_admin("managing users and tokens")
    context.engine.users.get(name)
    context.engine.users.set_password(name, _read_password(password_stdin))
    click.echo(f"password set for {name}", err=True)


@click.group()
def token() -> None:
    """API tokens for the REST API (sent in the header "Authorization: Bearer TOKEN")."""


@token.command("create")
@click.argument("user_name", metavar="USER")
@click.option("--name", metavar="LABEL", help="A label to recognise the token by.")
@click.option("--expires-days", type=int, metavar="DAYS", help="Stop working after DAYS days (default: never).")
@pass_context
def token_create(context: CliContext, user_name: str, name: str | None, expires_days: int | None) -> None:
    """Create a token for USER and print it (alone, once: it is stored only as a hash)."""
    context.require_admin("managing users and tokens")
    click.echo(context.engine.tokens.create(user_name, name=name, expires_days=expires_days))


@token.command("list")
@click.argument("user_name", metavar="[USER]", required=False)
@_json_flag
@pass_context
def token_list(context: CliContext, user_name: str | None, as_json: bool) -> None:
    """List tokens (of USER), without the tokens themselves."""
    context.require_admin("managing users and tokens")
    found = [t.to_json() for t in context.engine.tokens.list(user_name)]
    if as_json:
        echo_json(found)
    else:
        echo_table(found, ["id", "user", "name", "status", "created_at", "last_used_at", "expires_at"])


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@pass_context
def token_revoke(context: CliContext, token_id: int) -> None:
    """Revoke token ID: it stops working at once."""
    context.require_admin("managing users and tokens")
    revoked = context.engine.tokens.revoke(token_id)
    click.echo(f"revoked token {revoked.id} of {revoked.user}", err=True)
