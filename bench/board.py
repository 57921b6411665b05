"""Benchmark: the pipeline board and My day as a user opens them, server time, against the
bare SQL the first screen cannot do without, in the same run.

    python bench/board.py [--open 10000] [--rounds 20]

The standard-product preset on a SQLite file, ``--open`` opportunities spread over the four
open stages of ``opportunity_pipeline`` (written through the engine's CSV import, owned by one
rep), and as many tasks. Timed, ``--rounds`` times each, the median and p90 reported:

- the board page ``GET /admin/board/opportunity_pipeline/`` for the administrator (everything)
  and for the rep (their own), through the Flask test client: routing, session, the board
  service (one GROUP BY for the headers, a page of 50 cards per open stage, one history query
  per stage), the template;
- My day ``GET /admin/my-day/`` for the rep;
- the baseline: raw ``sqlite3`` running the header GROUP BY and the four 50-card pages.

Targets (issue "sales workspace"): the board's first screen under 300 ms server time on
SQLite with 10,000 open records.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from pathlib import Path

from _workspace import STAGES, import_files, pages, print_table, timed, workspace

from engine.runtime import CrmEngine


def fill(crm: CrmEngine, rows: int, folder: Path) -> None:
    rng = random.Random(7)
    account = crm.records.create("account", {"name": "基准客户有限公司", "city": "西安"}, actor=crm.users.get("ada"))
    lines = ["title,account,amount,stage,expected_close,owner"]
    for i in range(rows):
        lines.append(
            f"商机 {i},{account['id']},{rng.randrange(10_000, 2_000_000)},{rng.choice(STAGES)},2027-03-31,rita"
        )
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tasks = ["title,due,owner"] + [f"跟进 {i},2026-12-{rng.randrange(1, 28):02d},rita" for i in range(rows)]
    (folder / "tasks.csv").write_text("\n".join(tasks) + "\n", encoding="utf-8")
    import_files(crm, folder, (("opportunity", "deals.csv", rows), ("task", "tasks.csv", rows)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    crm, path, folder = workspace("crm-board-")
    started = time.perf_counter()
    fill(crm, args.open, folder)
    print(f"filled {args.open} open opportunities and {args.open} tasks in {time.perf_counter() - started:.1f} s")
    page = pages(crm)

    raw = sqlite3.connect(path)

    def baseline() -> object:
        raw.execute("SELECT stage, count(*), sum(amount) FROM opportunity GROUP BY stage").fetchall()
        for stage in STAGES:
            raw.execute(
                "SELECT * FROM opportunity WHERE stage = ? ORDER BY updated_at DESC, id LIMIT 50", (stage,)
            ).fetchall()
        return None

    rows = [
        ("raw sqlite3: headers + 4 × 50 cards", timed(baseline, args.rounds, 0.9)),
        (
            "board, administrator (all records)",
            timed(page("ada", "/admin/board/opportunity_pipeline/"), args.rounds, 0.9),
        ),
        ("board, rep (own records)", timed(page("rita", "/admin/board/opportunity_pipeline/"), args.rounds, 0.9)),
        ("my day, rep", timed(page("rita", "/admin/my-day/"), args.rounds, 0.9)),
    ]
    print_table(rows, "p90")
    crm.close()


if __name__ == "__main__":
    main()
