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
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.web import create_app

STAGES = ("qualification", "needs_analysis", "proposal", "negotiation")
PASSWORD = "bench password"


def timed(run: Callable[[], object], rounds: int) -> tuple[float, float]:
    run()  # warm: statements, templates
    laps = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        laps.append((time.perf_counter() - start) * 1000)
    laps.sort()
    return statistics.median(laps), laps[int(len(laps) * 0.9) - 1]


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
    from engine.transfer import import_csv

    for entity, name in (("opportunity", "deals.csv"), ("task", "tasks.csv")):
        report = import_csv(crm, entity, folder / name, actor=crm.users.get("ada"))
        assert report.inserted == rows, (entity, report.to_json() if hasattr(report, "to_json") else report)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crm-board-"))
    path = folder / "crm.db"
    crm = CrmEngine(f"sqlite:///{path}")
    load_preset(crm, "standard_product")
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"])):
        crm.users.create(name, roles=roles, team="east")
        crm.users.set_password(name, PASSWORD)
    started = time.perf_counter()
    fill(crm, args.open, folder)
    print(f"filled {args.open} open opportunities and {args.open} tasks in {time.perf_counter() - started:.1f} s")
    app = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})

    def client(name: str):  # type: ignore[no-untyped-def]
        c = app.test_client()
        page = c.get("/admin/login/").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        c.post("/admin/login/", data={"csrf_token": token, "name": name, "password": PASSWORD})
        return c

    admin, rep = client("ada"), client("rita")

    def page(c, url: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
        def run() -> object:
            response = c.get(url)
            assert response.status_code == 200, response.status_code
            return response.data

        return run

    raw = sqlite3.connect(path)

    def baseline() -> object:
        raw.execute("SELECT stage, count(*), sum(amount) FROM opportunity GROUP BY stage").fetchall()
        for stage in STAGES:
            raw.execute(
                "SELECT * FROM opportunity WHERE stage = ? ORDER BY updated_at DESC, id LIMIT 50", (stage,)
            ).fetchall()
        return None

    rows = [
        ("raw sqlite3: headers + 4 × 50 cards", timed(baseline, args.rounds)),
        ("board, administrator (all records)", timed(page(admin, "/admin/board/opportunity_pipeline/"), args.rounds)),
        ("board, rep (own records)", timed(page(rep, "/admin/board/opportunity_pipeline/"), args.rounds)),
        ("my day, rep", timed(page(rep, "/admin/my-day/"), args.rounds)),
    ]
    base = rows[0][1][0]
    print(f"{'':40} {'p50 ms':>9} {'p90 ms':>9} {'× raw':>8}")
    for label, (p50, p90) in rows:
        print(f"{label:40} {p50:9.1f} {p90:9.1f} {p50 / base:8.1f}")
    crm.close()


if __name__ == "__main__":
    main()
