"""A PostgreSQL URL without the ``[postgres]`` extra says what to install (not "this is a bug")."""

from __future__ import annotations

import subprocess
import sys

# Run the real entry point in a fresh interpreter where psycopg cannot be imported,
# as on a machine where only the base package is installed.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from engine.cli import main; sys.exit(main(sys.argv[1:]))"


def test_postgres_url_without_driver_names_the_extra() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_PSYCOPG,
            "--database-url",
            "postgresql://crm@127.0.0.1/crm",
            "record",
            "list",
            "account",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'crm-engine[postgres]'" in result.stderr
    assert "psycopg" in result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
