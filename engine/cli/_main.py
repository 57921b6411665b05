"""The ``crm`` group, its global options, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
import traceback

import click
import sqlalchemy as sa

from engine.errors import CrmError

from ._context import CliContext
from ._help import set_summaries
from ._output import echo_error


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--database-url",
    envvar="CRM_DATABASE_URL",
    metavar="URL",
    help="Database URL (default: CRM_DATABASE_URL, else the SQLite file crm.db here).",
)
@click.option(
    "--as", "actor", envvar="CRM_USER", metavar="NAME", help="Act as this user (default: system administrator)."
)
@click.option(
    "--lang", "language", type=click.Choice(["en", "zh"]), default="en", envvar="CRM_LANG", help="Label language."
)
@click.version_option(package_name="crm-engine", prog_name="crm")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, actor: str | None, language: str) -> None:
    """CRM Engine: compose a CRM from JSON definitions."""
    context = CliContext(database_url=database_url, actor=actor, language=language)
    ctx.obj = context
    ctx.call_on_close(context.close)


def _register() -> None:
    from ._automation_commands import automation
    from ._demo_commands import demo
    from ._derived_commands import derived
    from ._duplicate_commands import duplicates
    from ._event_commands import events
    from ._io_commands import export_command, import_group
    from ._job_commands import jobs, worker
    from ._merge_commands import merge_group, merge_record_command
    from ._notification_commands import notifications_command
    from ._ownership_commands import add_ownership_commands
    from ._preset_commands import preset
    from ._record_commands import audit_command, record
    from ._report_commands import report
    from ._schema_commands import schema
    from ._scoring_commands import plugins, score
    from ._serve_commands import serve
    from ._user_commands import token, user
    from ._webhook_commands import webhook
    from ._workflow_commands import history_command, transition_command, workflow

    cli.add_command(schema)
    cli.add_command(record)
    cli.add_command(audit_command)
    cli.add_command(import_group)
    cli.add_command(export_command)
    add_ownership_commands(user, record)
    cli.add_command(user)
    cli.add_command(token)
    cli.add_command(transition_command)
    cli.add_command(workflow)
    cli.add_command(history_command)
    cli.add_command(score)
    cli.add_command(plugins)
    cli.add_command(preset)
    cli.add_command(demo)
    cli.add_command(serve)
    cli.add_command(report)
    cli.add_command(events)
    cli.add_command(derived)
    cli.add_command(automation)
    cli.add_command(notifications_command)
    cli.add_command(jobs)
    cli.add_command(worker)
    cli.add_command(webhook)
    record.add_command(merge_record_command)
    cli.add_command(merge_group)
    cli.add_command(duplicates)
    set_summaries(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error becomes a message and a non-zero exit, never a traceback."""
    as_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(args=argv, prog_name="crm", standalone_mode=False)
    except CrmError as error:
        echo_error(error, as_json=as_json)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except sa.exc.OperationalError as error:
        message = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        click.echo(f"error: cannot use the database: {message}", err=True)
        click.echo("  check --database-url / CRM_DATABASE_URL and that the server is running", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as error:  # a bug, not bad input: say so briefly, details on request
        if os.environ.get("CRM_DEBUG"):
            traceback.print_exc()
        click.echo(f"internal error: {error.__class__.__name__}: {error}", err=True)
        click.echo("  this is a bug in crm-engine; run with CRM_DEBUG=1 for details", err=True)
        return 70
    return result if isinstance(result, int) else 0


def entry_point() -> None:  # pragma: no cover - console script wrapper
    sys.exit(main())
