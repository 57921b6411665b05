"""What the workspace benchmarks (``board.py``, ``dashboard.py``) share: a SQLite file with
the standard-product preset and two users (``ada`` the administrator, ``rita`` a rep), CSV
files imported through the engine, the pages as each user opens them through the Flask test
client, and the timing and table printed."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.presets import load_preset
from engine.runtime import CrmEngine
from engine.web import create_app

#: The open stages of the standard product's opportunity pipeline.
STAGES = ("qualification", "needs_analysis", "proposal", "negotiation")
PASSWORD = "bench password"
#: A measured run: (label, (p50 ms, high quantile ms)).
Row = tuple[str, tuple[float, float]]


def workspace(prefix: str) -> tuple[CrmEngine, Path, Path]:
    """A new SQLite file with the standard product and its two users: (engine, file, folder)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    path = folder / "crm.db"
    crm = CrmEngine(f"sqlite:///{path}")
    load_preset(crm, "standard_product")
    for name, roles in (("ada", ["admin"]), ("rita", ["rep"])):
        crm.users.create(name, roles=roles, team="east")
        crm.users.set_password(name, PASSWORD)
    return crm, path, folder


def import_files(crm: CrmEngine, folder: Path, files: Sequence[tuple[str, str, int]]) -> None:
    """Import each (entity, file in ``folder``, rows expected) as the administrator."""
    from engine.transfer import import_csv

    for entity, name, expected in files:
        report = import_csv(crm, entity, folder / name, actor=crm.users.get("ada"))
        assert report.inserted == expected, (entity, report)


def pages(crm: CrmEngine) -> Callable[[str, str], Callable[[], object]]:
    """``page(user, url)``: a run that GETs ``url`` as ``user`` (signed in once) and checks
    it answered 200."""
    app = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    clients: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in clients:
            c = app.test_client()
            login = c.get("/admin/login/").get_data(as_text=True)
            token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
            c.post("/admin/login/", data={"csrf_token": token, "name": name, "password": PASSWORD})
            clients[name] = c
        return clients[name]

    def page(user: str, url: str) -> Callable[[], object]:
        c = client(user)

        def run() -> object:
            response = c.get(url)
            assert response.status_code == 200, response.status_code
            return response.data

        return run

    return page


def timed(run: Callable[[], object], rounds: int, quantile: float) -> tuple[float, float]:
    """(median, ``quantile``) of ``rounds`` runs in ms, after one to warm statements and
    templates."""
    run()
    laps = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        laps.append((time.perf_counter() - start) * 1000)
    laps.sort()
    return statistics.median(laps), laps[max(int(len(laps) * quantile) - 1, 0)]


def print_table(rows: Sequence[Row], quantile: str) -> None:
    """The runs with their ratio to the first (the baseline)."""
    base = rows[0][1][0]
    print(f"{'':40} {'p50 ms':>9} {quantile + ' ms':>9} {'× raw':>8}")
    for label, (p50, high) in rows:
        print(f"{label:40} {p50:9.1f} {high:9.1f} {p50 / base:8.1f}")
