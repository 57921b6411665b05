"""Terminal output: records as JSON or as aligned text, problems one per line."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from engine.errors import CrmError
from engine.records import record_json
from engine.storage import to_jsonable


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def echo_record(record: Mapping[str, Any]) -> None:
    data = record_json(record)
    width = max(display_width(k) for k in data)
    for key, value in data.items():
        shown = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(f"{key.ljust(width)}  {shown}")


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


#: Columns a table cell takes at most (longer values end in "…").
TABLE_CELL_WIDTH = 32


def echo_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, max_width: int = TABLE_CELL_WIDTH) -> None:
    def cell(value: Any) -> str:
        value = to_jsonable(value)
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if display_width(text) <= max_width:
            return text
        while display_width(text) > max_width - 1:
            text = text[:-1]
        return text + "…"

    table = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([display_width(c)] + [display_width(row[i]) for row in table]) for i, c in enumerate(columns)]
    click.echo("  ".join(_pad(c, w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in table:
        click.echo("  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)).rstrip())


def echo_error(error: CrmError, *, as_json: bool = False) -> None:
    """Print an error to stderr: the message, then one line per problem."""
    if as_json:
        click.echo(json.dumps({"error": error.to_json()}, ensure_ascii=False, indent=2), err=True)
        return
    click.echo(f"error: {error.message}", err=True)
    for problem in error.problems:
        click.echo(f"  {problem.format()}", err=True)


def echo_lines(lines: Iterable[str], *, err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
