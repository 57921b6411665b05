"""Benchmark: the dashboard as a user opens it, server time, against the bare SQL of the same
aggregates, in the same run.

    python bench/dashboard.py [--open 10000] [--won 1000] [--rounds 15]

The standard-product preset on a SQLite file: ``--open`` opportunities spread over the four
open stages of ``opportunity_pipeline`` and ``--won`` won ones spread over the last year
(written through the engine's CSV import, owned by one rep), and ``--open`` tasks. Timed,
``--rounds`` times each after a warm-up, the median and p95 reported:

- the figures alone (:func:`engine.workspace.dashboard`: tiles of every workflow, the main
  workflow's funnel and won trend, new leads, overdue work, SLA breaches) for the
  administrator, this quarter;
- the page ``GET /admin/?period=this_quarter`` for the administrator and for the rep, through
  the Flask test client: routing, session, the figures, the score distributions, the template;
- the preset's report cards, which the page loads after its first screen
  (``GET /admin/reports/?part=1``), for the administrator;
- the baseline: raw ``sqlite3`` running the figures' aggregates as plain SQL (a GROUP BY per
  workflow, the won sums of the period and the one before and of each trend step, the new
  leads, the overdue tasks and the breach counts).

Target (issue "sales workspace"): the dashboard under 500 ms server time on SQLite with
10,000 open records.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _workspace import STAGES, import_files, pages, print_table, timed, workspace

from engine.runtime import CrmEngine
from engine.workspace import dashboard, period_of


def fill(crm: CrmEngine, rows: int, won: int, folder: Path) -> None:
    rng = random.Random(7)
    account = crm.records.create("account", {"name": "基准客户有限公司", "city": "西安"}, actor=crm.users.get("ada"))
    now = datetime.now(UTC)
    lines = ["title,account,amount,stage,expected_close,won_at,owner"]
    for i in range(rows):
        lines.append(
            f"商机 {i},{account['id']},{rng.randrange(10_000, 2_000_000)},{rng.choice(STAGES)},2027-03-31,,rita"
        )
    for i in range(won):
        when = (now - timedelta(days=rng.randrange(0, 365))).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        lines.append(f"赢单 {i},{account['id']},{rng.randrange(10_000, 2_000_000)},won,2027-03-31,{when},rita")
    (folder / "deals.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tasks = ["title,due,owner"] + [
        f"跟进 {i},2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d},rita" for i in range(rows)
    ]
    (folder / "tasks.csv").write_text("\n".join(tasks) + "\n", encoding="utf-8")
    import_files(crm, folder, (("opportunity", "deals.csv", rows + won), ("task", "tasks.csv", rows)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--won", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    crm, path, folder = workspace("crm-dashboard-")
    started = time.perf_counter()
    fill(crm, args.open, args.won, folder)
    print(f"filled {args.open} open and {args.won} won opportunities, {args.open} tasks in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    page = pages(crm)
    period = period_of({"period": "this_quarter"})
    ada = crm.users.get("ada")
    shown = dashboard(crm, ada, period)
    assert shown.main is not None and shown.main.open.count == args.open, shown.main
    raw = sqlite3.connect(path)
    workflows = list(crm.model.definitions.workflows.values())
    spans = [period, period.previous(), *period.steps()]

    def iso(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def baseline() -> object:
        for w in workflows:
            raw.execute(f"SELECT {w.field}, count(*) FROM {w.entity} GROUP BY {w.field}").fetchall()
        for span in spans:
            raw.execute(
                "SELECT count(*), sum(amount) FROM opportunity WHERE stage = 'won' AND won_at >= ? AND won_at <= ?",
                (iso(span.start), iso(span.end)),
            ).fetchall()
        for span in (period, period.previous()):
            raw.execute(
                "SELECT count(*) FROM lead WHERE created_at >= ? AND created_at <= ?", (iso(span.start), iso(span.end))
            ).fetchall()
        raw.execute("SELECT count(*) FROM task WHERE done_at IS NULL AND due <= date('now', '-1 day')").fetchall()
        raw.execute("SELECT count(*) FROM activity WHERE done_at IS NULL AND due < date('now')").fetchall()
        for stage in ("proposal", "negotiation"):
            raw.execute(
                "SELECT count(*) FROM opportunity o WHERE stage = ? AND coalesce((SELECT max(at) FROM "
                "crm_workflow_history h WHERE h.entity = 'opportunity' AND h.record_id = o.id AND h.to_state = ?), "
                "o.created_at) < ?",
                (stage, stage, iso(datetime.now(UTC) - timedelta(days=21))),
            ).fetchall()
        return None

    rows = [
        ("raw sqlite3: the same aggregates", timed(baseline, args.rounds, 0.95)),
        ("figures alone, administrator", timed(lambda: dashboard(crm, ada, period), args.rounds, 0.95)),
        ("page, administrator (all records)", timed(page("ada", "/admin/?period=this_quarter"), args.rounds, 0.95)),
        ("page, rep (own records)", timed(page("rita", "/admin/?period=this_quarter"), args.rounds, 0.95)),
        ("report cards after it, administrator", timed(page("ada", "/admin/reports/?part=1"), args.rounds, 0.95)),
    ]
    print_table(rows, "p95")
    crm.close()


if __name__ == "__main__":
    main()
