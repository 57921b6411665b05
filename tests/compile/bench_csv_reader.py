"""Rows per second of the CSV row converter (a script, not a test).

    .venv/bin/python tests/compile/bench_csv_reader.py

Goal: >= 250k rows/s for a typical 20-field row (strings, ints, decimals, dates, enums,
booleans), so that a whole import (CSV parsing + conversion + INSERT) reaches ~100k
rows/s. CPU time is measured, not wall time: the figure should not depend on what
else the machine is doing.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from compile_defs import entity, field

from engine.compile import compile_csv_reader, compile_validator

TYPICAL = (
    entity(
        "deal",
        field("name", "string", required=True, max_length=120),
        field("account_name", "string", max_length=120),
        field("contact_name", "string", max_length=80),
        field("city", "string", max_length=80),
        field("source", "string", max_length=40),
        field("region", "string", max_length=40),
        field("stage", "enum", choices=["new", "qualified", "won", "lost"], default="new"),
        field("country", "enum", choices=["cn", "us", "de", "fr", "uk"]),
        field("priority", "enum", choices=["low", "normal", "high"]),
        field("quantity", "integer", minimum=0),
        field("visits", "integer", minimum=0, maximum=100000),
        field("score", "integer"),
        field("amount", "money", minimum=0),
        field("discount", "decimal", precision=5, scale=2, minimum=0, maximum=100),
        field("cost", "money"),
        field("active", "boolean", default=True),
        field("vip", "boolean"),
        field("opened_on", "date"),
        field("close_on", "date"),
        field("notes", "text"),
    ),
    [
        "Big deal",
        "Analytical Engines Ltd",
        "Ada Lovelace",
        "London",
        "web",
        "emea",
        "qualified",
        "uk",
        "high",
        "120",
        "3512",
        "-42",
        "1250000.50",
        "12.50",
        "-310.25",
        "true",
        "no",
        "2024-03-01",
        "2024-06-30",
        "Met at the conference, follow up in May.",
    ],
)
RICH = (
    entity(
        "contact",
        field("first_name", "string", required=True, max_length=80),
        field("last_name", "string", required=True, max_length=80),
        field("email", "email"),
        field("phone", "phone"),
        field("website", "url"),
        field("company", "string"),
        field("title", "string", max_length=120),
        field("city", "string", max_length=80),
        field("country", "enum", choices=["cn", "us", "de", "fr", "uk"]),
        field("status", "enum", choices=["new", "open", "won", "lost"], default="new"),
        field("employees", "integer", minimum=0),
        field("score", "integer"),
        field("revenue", "money", minimum=0),
        field("active", "boolean", default=True),
        field("vip", "boolean"),
        field("birthday", "date"),
        field("last_seen", "datetime"),
        field("tags", "multi_enum", choices=["a", "b", "c"]),
        field("extra", "json"),
        field("notes", "text"),
    ),
    [
        "Ada",
        "Lovelace",
        "ada@example.com",
        "+44 20 7946 0018",
        "https://example.com/ada",
        "AE Ltd",
        "Director",
        "London",
        "uk",
        "open",
        "120",
        "-42",
        "1250000.50",
        "true",
        "no",
        "1815-12-10",
        "2024-03-01T10:30:00Z",
        "a|c",
        '{"k": 1}',
        "Follow up in May.",
    ],
)
ROWS = 200_000


def _best_rate(run: Callable[[], Any], count: int, repeat: int = 5) -> float:
    best = 0.0
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = max(best, count / (time.process_time() - start))
    return best


def main() -> None:
    for label, (definition, row) in (("typical 20 fields", TYPICAL), ("rich 20 fields", RICH)):
        converter = compile_csv_reader(definition, list(definition.fields))
        assert converter.convert(row)[1] == []
        rows = [list(row)] * ROWS
        raw = converter.convert_raw

        def convert_all(raw: Any = raw, rows: list[list[str]] = rows) -> None:
            for cells in rows:
                raw(cells)

        text = io.StringIO()
        csv.writer(text).writerows(rows)
        data = text.getvalue()

        def parse_and_convert(raw: Any = raw, data: str = data) -> None:
            for cells in csv.reader(io.StringIO(data)):
                raw(cells)

        validator = compile_validator(definition)
        record = {
            name: int(cell) if spec.type == "integer" else cell
            for (name, spec), cell in zip(definition.fields.items(), row, strict=True)
            if spec.type not in ("boolean", "multi_enum")
        }
        assert validator.check(record)[1] == []
        check = validator.create_check

        def validate_all(check: Any = check, record: dict[str, Any] = record) -> None:
            for _ in range(ROWS):
                check(record)

        print(label)
        print(f"  convert_raw              {_best_rate(convert_all, ROWS):>10,.0f} rows/s")
        print(f"  csv.reader + convert_raw {_best_rate(parse_and_convert, ROWS, 3):>10,.0f} rows/s")
        print(f"  validator (JSON record)  {_best_rate(validate_all, ROWS):>10,.0f} records/s")


if __name__ == "__main__":
    main()
