"""Decimal and money values are kept exactly on both databases, 18 digits included (#18.2).

SQLite has no exact decimal type: its NUMERIC columns keep a REAL (15-16 significant digits),
which stored ``9999999999999999.99`` as ``1e16`` and ``12345678901.123456`` as ``…123455``.
Decimals are stored there as the value times 10^scale in a 64-bit integer; these tests hold
records, the API, filters, sorting, reports, CSV, type changes and the upgrade of older
databases to the exact values.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.compile import plain_number, stored_number
from engine.errors import DefinitionError, UsageError
from engine.metadata import load_definitions
from engine.reports import run_report
from engine.runtime import CrmEngine
from engine.transfer import export_csv, import_csv
from engine.web import create_app
from tests.support import SYSTEM, CliResult, write_bundle

BIG = Decimal("9999999999999999.99")  # 18 digits: the most a money(18,2) holds
JUST_BELOW = Decimal("9999999999999999.98")
RATE = Decimal("12345678901.123456")  # 17 digits of a decimal(18,6)
RATE_BELOW = Decimal("12345678901.123455")

ENTITIES: dict[str, Any] = {
    "deal": {
        "fields": {
            "title": {"type": "string", "required": True},
            "team": {"type": "enum", "choices": ["north", "south"]},
            "amount": {"type": "money"},
            "rate": {"type": "decimal"},
        }
    }
}
TOTALS = {
    "schema_version": 1,
    "kind": "report",
    "name": "totals",
    "type": "aggregate",
    "entity": "deal",
    "by": ["team"],
    "measures": [
        {"name": "deals", "op": "count"},
        {"name": "amount", "op": "sum", "field": "amount"},
        {"name": "rate", "op": "sum", "field": "rate"},
        {"name": "largest", "op": "max", "field": "amount"},
        {"name": "smallest", "op": "min", "field": "amount"},
        {"name": "average", "op": "avg", "field": "amount"},
        {"name": "per_deal", "op": "ratio", "numerator": "amount", "denominator": "deals"},
    ],
    "sort": ["team"],
}


def _bundle(root: Path, entities: dict[str, Any] = ENTITIES, *, report: bool = True) -> Path:
    bundle = write_bundle(root, "deals", entities)
    if report:
        (bundle / "reports").mkdir(exist_ok=True)
        (bundle / "reports" / "totals.json").write_text(json.dumps(TOTALS))
    return bundle


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> Iterator[CrmEngine]:
    engine.apply(load_definitions(_bundle(tmp_path / "defs")))
    yield engine


def _create(crm: CrmEngine, title: str, amount: Any = None, rate: Any = None, team: str = "north") -> int:
    values = {"title": title, "team": team, "amount": _text(amount), "rate": _text(rate)}
    return int(crm.records.create("deal", values, actor=SYSTEM)["id"])


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _titles(crm: CrmEngine, **query: Any) -> list[str]:
    return [r["title"] for r in crm.records.list("deal", limit=100, actor=SYSTEM, **query).items]


# -- records and the API ------------------------------------------------------------------------
@pytest.mark.parametrize("sign", [1, -1], ids=["positive", "negative"])
def test_eighteen_digits_round_trip_through_the_records_service(crm: CrmEngine, sign: int) -> None:
    created = crm.records.create(
        "deal", {"title": "big", "amount": str(sign * BIG), "rate": str(sign * RATE)}, actor=SYSTEM
    )
    assert (created["amount"], created["rate"]) == (sign * BIG, sign * RATE)
    stored = crm.records.get("deal", created["id"], actor=SYSTEM)
    assert (stored["amount"], stored["rate"]) == (sign * BIG, sign * RATE)
    assert str(stored["amount"]) == str(sign * BIG) and str(stored["rate"]) == str(sign * RATE)
    updated = crm.records.update("deal", created["id"], {"amount": str(sign * JUST_BELOW)}, actor=SYSTEM)
    assert crm.records.get("deal", updated["id"], actor=SYSTEM)["amount"] == sign * JUST_BELOW


def test_eighteen_digits_round_trip_through_the_api(crm: CrmEngine) -> None:
    crm.users.create("root", roles=["admin"])
    token = crm.tokens.create("root", name="tests")
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = client.post("/api/v1/records/deal", json={"title": "big", "amount": str(BIG), "rate": str(RATE)})
    assert response.status_code == 201, response.get_data(as_text=True)
    record_id = response.get_json()["id"]
    shown = client.get(f"/api/v1/records/deal/{record_id}").get_json()
    assert (Decimal(str(shown["amount"])), Decimal(str(shown["rate"]))) == (BIG, RATE)
    # the JSON text carries every digit, not a float's rounding of it
    raw = client.get(f"/api/v1/records/deal/{record_id}").get_data(as_text=True)
    assert "9999999999999999.99" in raw and "12345678901.123456" in raw
    listed = client.get("/api/v1/records/deal", query_string={"where": json.dumps({"amount": {"gt": str(JUST_BELOW)}})})
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [r["id"] for r in listed.get_json()["items"]] == [record_id]
    # cursor pages continue after the exact last value (a float would tie these three)
    for amount in (JUST_BELOW, -BIG, -JUST_BELOW):
        assert (
            client.post("/api/v1/records/deal", json={"title": str(amount), "amount": str(amount)}).status_code == 201
        )
    walked: list[Decimal] = []
    page = client.get("/api/v1/records/deal", query_string={"sort": "-amount", "limit": 1}).get_json()
    while True:
        walked += [Decimal(str(r["amount"])) for r in page["items"]]
        if page["next"] is None:
            break
        assert "cursor=" in page["next"]
        page = client.get(page["next"]).get_json()
    assert walked == [BIG, JUST_BELOW, -JUST_BELOW, -BIG]


# -- filters and sorting -----------------------------------------------------------------------
def test_equal_and_greater_tell_neighbouring_values_apart(crm: CrmEngine) -> None:
    _create(crm, "top", BIG, RATE)
    _create(crm, "below", JUST_BELOW, RATE_BELOW)
    assert _titles(crm, where={"amount": str(BIG)}) == ["top"]
    assert _titles(crm, where={"amount": str(JUST_BELOW)}) == ["below"]
    assert _titles(crm, where={"amount": {"gt": str(JUST_BELOW)}}) == ["top"]
    assert _titles(crm, where={"amount": {"lt": str(BIG)}}) == ["below"]
    assert _titles(crm, where={"rate": str(RATE)}) == ["top"]
    assert _titles(crm, where={"rate": {"gt": str(RATE_BELOW)}}) == ["top"]
    assert _titles(crm, where={"rate": {"gte": str(RATE_BELOW)}, "amount": {"lte": str(JUST_BELOW)}}) == ["below"]
    assert _titles(crm, where={"amount": {"in": [str(BIG), "1.00"]}}) == ["top"]
    assert _titles(crm, where={"amount": {"ne": str(BIG)}}) == ["below"]


def test_sorting_follows_the_exact_values_negatives_included(crm: CrmEngine) -> None:
    values = [Decimal("0.01"), -BIG, JUST_BELOW, Decimal("-1.01"), BIG, Decimal("0"), -JUST_BELOW, Decimal("-0.01")]
    for i, value in enumerate(values):
        _create(crm, f"d{i}", value)
    _create(crm, "none")
    ascending = [r["amount"] for r in crm.records.list("deal", sort="amount", limit=100, actor=SYSTEM).items]
    assert [v for v in ascending if v is not None] == sorted(values)
    descending = [r["amount"] for r in crm.records.list("deal", sort="-amount", limit=100, actor=SYSTEM).items]
    assert [v for v in descending if v is not None] == sorted(values, reverse=True)


# -- reports -----------------------------------------------------------------------------------
def test_report_sums_are_exact(crm: CrmEngine) -> None:
    north = [Decimal("1234567890123456.78"), Decimal("0.01"), Decimal("-0.02"), Decimal("1000000000000000.05")]
    for i, amount in enumerate(north):
        _create(crm, f"n{i}", amount, RATE if i == 0 else Decimal("0.000001"))
    _create(crm, "s0", BIG, team="south")
    _create(crm, "s1", -JUST_BELOW, team="south")
    rows = {row["team"]: row for row in run_report(crm, "totals", actor=SYSTEM).rows}
    assert rows["north"]["amount"] == Decimal("2234567890123456.82") == sum(north)
    assert rows["north"]["rate"] == RATE + 3 * Decimal("0.000001") == Decimal("12345678901.123459")
    assert rows["north"]["largest"] == Decimal("1234567890123456.78")
    assert rows["north"]["smallest"] == Decimal("-0.02")
    assert rows["south"]["amount"] == Decimal("0.01")
    assert (rows["south"]["largest"], rows["south"]["smallest"]) == (BIG, -JUST_BELOW)
    # an average and a ratio are floating-point numbers, of the values (not of stored units)
    assert float(rows["north"]["average"]) == pytest.approx(float(sum(north)) / 4)
    assert float(rows["north"]["per_deal"]) == pytest.approx(float(sum(north)) / 4)


# -- CSV -----------------------------------------------------------------------------------------
def test_csv_export_and_import_keep_every_digit(crm: CrmEngine, tmp_path: Path) -> None:
    first = _create(crm, "top", BIG, RATE)
    second = _create(crm, "low", -JUST_BELOW, -RATE_BELOW)
    out = tmp_path / "deals.csv"
    assert export_csv(crm, "deal", out, actor=SYSTEM) == 2
    with out.open(newline="", encoding="utf-8") as handle:
        exported = {row["title"]: (row["amount"], row["rate"]) for row in csv.DictReader(handle)}
    assert exported == {
        "top": ("9999999999999999.99", "12345678901.123456"),
        "low": ("-9999999999999999.98", "-12345678901.123455"),
    }
    crm.records.update("deal", first, {"amount": "1.00", "rate": "1"}, actor=SYSTEM)
    crm.records.delete("deal", second, actor=SYSTEM)
    report = import_csv(crm, "deal", out, key="id", actor=SYSTEM)
    assert (report.updated, report.inserted) == (1, 1)
    stored = {r["title"]: (r["amount"], r["rate"]) for r in crm.records.list("deal", actor=SYSTEM).items}
    assert stored == {"top": (BIG, RATE), "low": (-JUST_BELOW, -RATE_BELOW)}


# -- limits and type changes ---------------------------------------------------------------------
def test_more_than_eighteen_digits_are_refused_on_sqlite_only(engine: CrmEngine, tmp_path: Path) -> None:
    wide = {"deal": {"fields": {"title": {"type": "string"}, "big": {"type": "decimal", "precision": 30, "scale": 4}}}}
    definitions = load_definitions(_bundle(tmp_path / "defs", wide, report=False))
    if engine.db.is_sqlite:
        with pytest.raises(DefinitionError) as refused:
            engine.apply(definitions)
        [problem] = refused.value.problems
        assert problem.code == "precision_too_large"
        assert problem.pointer == "/fields/big/precision"
        assert problem.file is not None and problem.file.endswith("deal.json")
        assert "18" in problem.message
        return
    engine.apply(definitions)
    value = Decimal("12345678901234567890123456.7891")
    created = engine.records.create("deal", {"title": "wide", "big": str(value)}, actor=SYSTEM)
    assert engine.records.get("deal", created["id"], actor=SYSTEM)["big"] == value


def test_a_scale_change_keeps_the_values(crm: CrmEngine, tmp_path: Path) -> None:
    values = [Decimal("12.34"), Decimal("-0.05"), Decimal("123456789012.35"), Decimal("0.15")]
    ids = [_create(crm, f"d{i}", value) for i, value in enumerate(values)]

    def rescale(scale: int) -> dict[int, Decimal]:
        entities = json.loads(json.dumps(ENTITIES))
        entities["deal"]["fields"]["amount"] = {"type": "decimal", "precision": 18, "scale": scale}
        crm.apply(load_definitions(_bundle(tmp_path / f"scale{scale}", entities)), allow_data_loss=True)
        return {r["id"]: r["amount"] for r in crm.records.list("deal", actor=SYSTEM).items}

    widened = rescale(4)
    assert [widened[i] for i in ids] == values
    assert [str(widened[i]) for i in ids] == ["12.3400", "-0.0500", "123456789012.3500", "0.1500"]
    assert _titles(crm, where={"amount": "12.34"}) == ["d0"]
    # fewer decimals round half away from zero, as the plan says
    narrowed = rescale(1)
    assert [narrowed[i] for i in ids] == [Decimal("12.3"), Decimal("-0.1"), Decimal("123456789012.4"), Decimal("0.2")]
    assert sorted(narrowed.values()) == [narrowed[i] for i in (ids[1], ids[3], ids[0], ids[2])]


def test_a_sum_beyond_64_bits_fails_on_sqlite_instead_of_rounding(crm: CrmEngine) -> None:
    for i in range(10):
        _create(crm, f"d{i}", BIG)  # 10 x (10^18 - 1) units: beyond 2^63 - 1 on SQLite
    if crm.db.is_sqlite:
        with pytest.raises(UsageError, match="a sum is too large"):
            run_report(crm, "totals", actor=SYSTEM)
        return
    [row] = run_report(crm, "totals", actor=SYSTEM).rows
    assert row["amount"] == 10 * BIG


# -- SQL over decimal columns ------------------------------------------------------------------------
def test_sql_arithmetic_and_computed_writes_are_in_the_values_units(crm: CrmEngine) -> None:
    record_id = _create(crm, "d", Decimal("12.34"), Decimal("0.5"))
    table = crm.model.table("deal")
    amount, rate = table.c.amount, table.c.rate
    with crm.db.write() as conn:
        row = conn.execute(
            sa.select(
                amount * 2, amount / 4, amount + 1, 3 * amount, -amount, plain_number(amount) * plain_number(rate)
            )
        ).one()
        assert tuple(row[:5]) == (
            Decimal("24.68"),
            Decimal("3.085"),
            Decimal("13.34"),
            Decimal("37.02"),
            -Decimal("12.34"),
        )
        assert float(row[5]) == pytest.approx(6.17)
        # a computed number written into a decimal column is stored at its scale; a column
        # of another scale is converted
        conn.execute(table.update().values(amount=plain_number(amount) * plain_number(rate), rate=amount))
    stored = crm.records.get("deal", record_id, actor=SYSTEM)
    assert (stored["amount"], stored["rate"]) == (Decimal("6.17"), Decimal("12.34"))
    with crm.db.write() as conn:
        conn.execute(table.update().values(amount=stored_number(sa.literal(0.125, sa.Float()), amount.type)))
    assert crm.records.get("deal", record_id, actor=SYSTEM)["amount"] == Decimal("0.13")  # half away from zero


# -- older SQLite databases ------------------------------------------------------------------------
OLD_VALUES: list[tuple[str, Any, Any, Decimal | None, Decimal | None]] = [
    # title, amount and rate as an older version stored them, the values they stand for
    ("real", 1234.5, 0.000001, Decimal("1234.50"), Decimal("0.000001")),
    ("whole", 100, 7, Decimal("100.00"), Decimal("7.000000")),
    ("negative", -0.01, -98765.4321, Decimal("-0.01"), Decimal("-98765.432100")),
    ("long", 123456789012.12, 1234567.891234, Decimal("123456789012.12"), Decimal("1234567.891234")),
    ("empty", None, None, None, None),
]


def _make_old_decimals(path: Path) -> None:
    """Rebuild ``deal`` as versions before #18.2 made it: NUMERIC columns holding REALs."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        (sql,) = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deal'").fetchone()
        assert "amount BIGINT" in sql and "rate BIGINT" in sql, sql
        old = sql.replace("amount BIGINT", "amount NUMERIC(18, 2)").replace("rate BIGINT", "rate NUMERIC(18, 6)")
        con.execute(old.replace("deal", "old_deal", 1))
        con.execute("INSERT INTO old_deal SELECT * FROM deal")
        for title, amount, rate, _, _ in OLD_VALUES:
            con.execute("UPDATE old_deal SET amount = ?, rate = ? WHERE title = ?", (amount, rate, title))
        con.execute("DROP TABLE deal")
        con.execute("ALTER TABLE old_deal RENAME TO deal")
        con.execute("COMMIT")
        assert con.execute("SELECT typeof(amount) FROM deal WHERE title = 'real'").fetchone() == ("real",)
    finally:
        con.close()


def _stored(path: Path) -> tuple[dict[str, str], dict[str, tuple[Any, Any]]]:
    con = sqlite3.connect(path)
    try:
        declared = {str(r[1]): str(r[2]) for r in con.execute("PRAGMA table_info(deal)")}
        rows = {r[0]: (r[1], r[2]) for r in con.execute("SELECT title, amount, rate FROM deal")}
        return declared, rows
    finally:
        con.close()


def _old_database(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "old.db"
    bundle = _bundle(tmp_path / "defs")
    crm = CrmEngine(f"sqlite:///{path}")
    try:
        crm.apply(load_definitions(bundle))
        for title, *_ in OLD_VALUES:
            _create(crm, title)
    finally:
        crm.close()
    _make_old_decimals(path)
    return path, bundle


def _assert_upgraded(crm: CrmEngine, path: Path) -> None:
    found = {r["title"]: (r["amount"], r["rate"]) for r in crm.records.list("deal", actor=SYSTEM).items}
    assert found == {title: (amount, rate) for title, _, _, amount, rate in OLD_VALUES}
    declared, rows = _stored(path)
    assert (declared["amount"], declared["rate"]) == ("BIGINT", "BIGINT")
    assert rows["real"] == (123450, 1) and rows["long"] == (12345678901212, 1234567891234)
    assert _titles(crm, where={"amount": {"gt": "1000"}}, sort="amount") == ["real", "long"]


def test_an_older_sqlite_database_is_upgraded_when_opened(tmp_path: Path) -> None:
    path, _ = _old_database(tmp_path)
    crm = CrmEngine(f"sqlite:///{path}")
    try:
        _assert_upgraded(crm, path)
    finally:
        crm.close()


def test_an_older_sqlite_database_is_upgraded_by_schema_apply(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    path, bundle = _old_database(tmp_path)
    result = run_cli("--database-url", f"sqlite:///{path}", "schema", "apply", str(bundle))
    assert result.exit_code == 0, result.stderr
    crm = CrmEngine(f"sqlite:///{path}")
    try:
        _assert_upgraded(crm, path)
    finally:
        crm.close()


def test_an_old_value_too_large_for_64_bits_stops_the_upgrade(tmp_path: Path) -> None:
    path, _ = _old_database(tmp_path)
    con = sqlite3.connect(path)
    con.execute("UPDATE deal SET amount = 1e17 WHERE title = 'empty'")  # 10^19 cents
    con.commit()
    con.close()
    with pytest.raises(UsageError) as refused:
        CrmEngine(f"sqlite:///{path}")
    assert [p.code for p in refused.value.problems] == ["precision_too_large"]
    declared, _ = _stored(path)
    assert declared["amount"] == "NUMERIC(18, 2)"  # nothing changed


def test_stored_values_are_scaled_integers_on_sqlite(crm: CrmEngine) -> None:
    record_id = _create(crm, "top", BIG, RATE)
    table = crm.model.table("deal")
    with crm.db.read() as conn:
        raw = conn.execute(sa.text("SELECT amount, rate FROM deal WHERE id = :id"), {"id": record_id}).one()
        typed = conn.execute(sa.select(table.c.amount, table.c.rate).where(table.c.id == record_id)).one()
    assert tuple(typed) == (BIG, RATE)
    if crm.db.is_sqlite:
        assert tuple(raw) == (999999999999999999, 12345678901123456)
    else:
        assert tuple(raw) == (BIG, RATE)
