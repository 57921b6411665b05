"""Autonumber fields on SQLite and PostgreSQL: numbers given at creation from counters that
only go up, read-only afterwards, concurrent creates, imports with and without numbers, and
the edges (API, CLI, OpenAPI, admin) refusing a number given as input; demo data numbered."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.metadata import load_definitions
from engine.presets import generate_demo
from engine.records import number_rows
from engine.runtime import CrmEngine
from engine.storage import counter_key, counters
from engine.transfer import import_csv
from engine.users import SystemActor
from engine.web import create_app
from tests.support import SYSTEM, CliResult, write_bundle
from tests.web.test_web_admin_ui import PASSWORD, sign_in, token
from tests.web.web_support import API, problem

ENTITIES: dict[str, Any] = {
    "sales_order": {
        "fields": {
            "title": {"type": "string"},
            "number": {"type": "autonumber", "pattern": "SO-{YYYY}-{#####}"},
            "ticket": {"type": "autonumber", "pattern": "T{###}"},
        }
    }
}


@pytest.fixture
def crm(engine: CrmEngine, tmp_path: Path) -> CrmEngine:
    engine.apply(load_definitions(write_bundle(tmp_path, "sales", ENTITIES)))
    return engine


def _year() -> int:
    return datetime.now(UTC).year


def _counter(crm: CrmEngine, key: str) -> int | None:
    with crm.db.read() as conn:
        return conn.execute(sa.select(counters.c.value).where(counters.c.key == key)).scalar()


def _codes(raised: pytest.ExceptionInfo[RecordValidationError]) -> list[tuple[str | None, str]]:
    return [(p.field, p.code) for p in raised.value.problems]


def test_a_new_record_gets_the_next_number_of_each_pattern(crm: CrmEngine) -> None:
    first = crm.records.create("sales_order", {"title": "a"}, actor=SYSTEM)
    second = crm.records.create("sales_order", {"title": "b"}, actor=SYSTEM)
    year = _year()
    assert (first["number"], first["ticket"]) == (f"SO-{year}-00001", "T001")
    assert (second["number"], second["ticket"]) == (f"SO-{year}-00002", "T002")
    assert crm.records.get("sales_order", second["id"], actor=SYSTEM)["number"] == f"SO-{year}-00002"
    assert _counter(crm, counter_key("sales_order", "number", f"SO-{year}-")) == 2
    audit = {row["field"]: row["new_value"] for row in crm.records.audit("sales_order", first["id"], actor=SYSTEM)}
    assert audit["number"] == f"SO-{year}-00001"


def test_a_number_outgrowing_its_padding_keeps_every_digit(crm: CrmEngine) -> None:
    with crm.db.write() as conn:
        conn.execute(counters.insert().values(key=counter_key("sales_order", "ticket", "T"), value=999))
    assert crm.records.create("sales_order", {}, actor=SYSTEM)["ticket"] == "T1000"


def test_each_year_counts_on_its_own(crm: CrmEngine) -> None:
    definition = crm.model.entity("sales_order")
    columns = ("created_at", "title")
    rows = [
        (datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "a"),
        (datetime(2025, 1, 1, tzinfo=UTC), "b"),
        (datetime(2024, 6, 1, tzinfo=UTC), "c"),
    ]
    with crm.db.write() as conn:
        columns, numbered = number_rows(conn, definition, columns, rows, datetime.now(UTC))
    at = columns.index("number")
    assert [r[at] for r in numbered] == ["SO-2024-00001", "SO-2025-00001", "SO-2024-00002"]
    # the ticket has no date before its counter: one counter for every year
    assert [r[columns.index("ticket")] for r in numbered] == ["T001", "T002", "T003"]


def test_a_number_is_never_given_again(crm: CrmEngine) -> None:
    first = crm.records.create("sales_order", {}, actor=SYSTEM)
    crm.records.delete("sales_order", first["id"], actor=SYSTEM)
    with pytest.raises(RecordValidationError):
        crm.records.create("sales_order", {"title": 5}, actor=SYSTEM)  # refused: takes no number
    with pytest.raises(ZeroDivisionError), crm.db.write() as conn:
        crm.records.create("sales_order", {}, conn=conn, actor=SYSTEM)
        raise ZeroDivisionError  # rolled back with its counter
    again = crm.records.create("sales_order", {}, actor=SYSTEM)
    assert again["number"].endswith("-00002")
    assert crm.records.list("sales_order", actor=SYSTEM).total == 1


@pytest.mark.parametrize("given", [{"number": "SO-2020-00001"}, {"number": None}, {"ticket": "T999"}])
def test_a_create_giving_a_number_is_refused_naming_the_field(crm: CrmEngine, given: dict[str, Any]) -> None:
    with pytest.raises(RecordValidationError) as raised:
        crm.records.create("sales_order", {"title": "x", **given}, actor=SYSTEM)
    assert _codes(raised) == [(next(iter(given)), "read_only")]
    assert crm.records.list("sales_order", actor=SYSTEM).total == 0


def test_an_update_of_a_number_is_refused_naming_the_field(crm: CrmEngine) -> None:
    record = crm.records.create("sales_order", {"title": "x"}, actor=SYSTEM)
    for actor in (SYSTEM, SystemActor("test", writes_read_only=True)):
        with pytest.raises(RecordValidationError) as raised:
            crm.records.update("sales_order", record["id"], {"number": "SO-1999-00001"}, actor=actor)
        assert _codes(raised) == [("number", "read_only")]
    assert crm.records.get("sales_order", record["id"], actor=SYSTEM)["number"] == record["number"]


def test_sixteen_parallel_creates_get_sixteen_consecutive_numbers(crm: CrmEngine) -> None:
    start = threading.Barrier(16)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            start.wait()
            numbers.append(crm.records.create("sales_order", {"title": "parallel"}, actor=SYSTEM)["number"])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"SO-{_year()}-{n:05d}" for n in range(1, 17)]


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_import_keeps_given_numbers_and_numbers_the_rest_past_them(crm: CrmEngine, tmp_path: Path) -> None:
    year = _year()
    path = _csv(tmp_path, f"title,number\na,SO-{year}-00040\nb,\nc,OLD-7\nd,SO-2019-00003\n")
    report = import_csv(crm, "sales_order", path, actor=SYSTEM)
    assert report.inserted == 4
    got = {r["title"]: (r["number"], r["ticket"]) for r in crm.records.list("sales_order", actor=SYSTEM).items}
    assert got == {
        "a": (f"SO-{year}-00040", "T001"),
        "b": (f"SO-{year}-00041", "T002"),
        "c": ("OLD-7", "T003"),
        "d": ("SO-2019-00003", "T004"),
    }
    assert _counter(crm, counter_key("sales_order", "number", "SO-2019-")) == 3
    assert crm.records.create("sales_order", {}, actor=SYSTEM)["number"] == f"SO-{year}-00042"


def test_an_import_without_the_column_numbers_every_line(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("sales_order", {}, actor=SYSTEM)
    import_csv(crm, "sales_order", _csv(tmp_path, "title\na\nb\n"), actor=SYSTEM)
    numbers = sorted(r["number"] for r in crm.records.list("sales_order", actor=SYSTEM).items)
    assert [n[-5:] for n in numbers] == ["00001", "00002", "00003"]


def test_an_imported_number_already_taken_is_refused(crm: CrmEngine, tmp_path: Path) -> None:
    taken = crm.records.create("sales_order", {}, actor=SYSTEM)["number"]
    report = import_csv(
        crm, "sales_order", _csv(tmp_path, f"title,number\ndup,{taken}\nnew,\n"), on_error="skip", actor=SYSTEM
    )
    assert (report.inserted, report.rejected) == (1, 1)
    assert [(p.line, p.field, p.code) for p in report.problems] == [(2, "number", "unique")]


def test_an_import_keyed_by_number_keeps_the_number(crm: CrmEngine, tmp_path: Path) -> None:
    record = crm.records.create("sales_order", {"title": "old"}, actor=SYSTEM)
    number = record["number"]
    path = _csv(tmp_path, f"title,number\nnew,{number}\n")
    report = import_csv(crm, "sales_order", path, key="number", actor=SYSTEM)
    assert report.updated == 1
    assert crm.records.get("sales_order", record["id"], actor=SYSTEM)["title"] == "new"
    path = _csv(tmp_path, f"id,ticket\n{record['id']},T500\n")
    refused = import_csv(crm, "sales_order", path, key="id", on_error="skip", actor=SYSTEM)
    assert [(p.field, p.code) for p in refused.problems] == [("ticket", "read_only")]


def test_the_api_refuses_a_number_with_a_422_naming_the_field(crm: CrmEngine) -> None:
    crm.users.create("root", roles=["admin"])
    client = create_app({"CRM_ENGINE": crm, "TESTING": True}).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {crm.tokens.create('root', name='tests')}"
    refused = problem(client.post(f"{API}/records/sales_order", json={"number": "SO-1-1"}), 422)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("number", "read_only")]
    created = client.post(f"{API}/records/sales_order", json={"title": "x"})
    assert created.status_code == 201 and created.get_json()["number"].endswith("-00001")
    record_id = created.get_json()["id"]
    changed = problem(client.patch(f"{API}/records/sales_order/{record_id}", json={"ticket": "T9"}), 422)
    assert [(e["field"], e["code"]) for e in changed["errors"]] == [("ticket", "read_only")]
    _assert_openapi_marks_numbers_read_only(client.get(f"{API}/openapi.json").get_json())
    fields = {f["name"]: f for f in client.get(f"{API}/entities/sales_order").get_json()["fields"]}
    assert fields["number"]["number_pattern"] == "SO-{YYYY}-{#####}"
    assert (fields["number"]["unique"], fields["number"]["read_only"], fields["number"]["required"]) == (
        True,
        True,
        False,
    )


def _assert_openapi_marks_numbers_read_only(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    number = schemas["sales_order"]["properties"]["number"]
    assert number["readOnly"] is True
    assert number["x-number-pattern"] == "SO-{YYYY}-{#####}"
    assert "number" not in schemas["sales_order.create"]["properties"]
    assert "number" not in schemas["sales_order.update"]["properties"]


def test_the_cli_refuses_a_number_without_a_traceback(
    database_url: str,
    tmp_path: Path,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    assert run_cli("schema", "apply", write_bundle(tmp_path, "sales", ENTITIES)).exit_code == 0
    refused = run_cli("record", "create", "sales_order", "--data", '{"number": "SO-1"}')
    assert refused.exit_code != 0
    assert "number" in refused.stderr and "Traceback" not in refused.stderr + refused.stdout
    created = run_cli("record", "create", "sales_order", "--data", '{"title": "x"}', "--json")
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["ticket"] == "T001"


def test_the_admin_shows_the_number_and_never_asks_for_it(crm: CrmEngine) -> None:
    crm.users.create("ada", roles=["admin"])
    crm.users.set_password("ada", PASSWORD)
    ui = create_app({"CRM_ENGINE": crm, "TESTING": True, "SECRET_KEY": "tests"}).test_client()
    sign_in(ui)
    new_page = ui.get("/admin/records/sales_order/new/").get_data(as_text=True)
    assert 'id="title"' in new_page and 'id="number"' not in new_page
    data = {"csrf_token": token(ui, "/admin/records/sales_order/new/"), "title": "From the admin", "number": "X-1"}
    assert ui.post("/admin/records/sales_order/new/", data=data).status_code == 302
    (created,) = crm.records.list("sales_order", actor=SYSTEM).items
    assert created["number"] == f"SO-{_year()}-00001"
    details = ui.get(f"/admin/records/sales_order/details/?id={created['id']}").get_data(as_text=True)
    assert created["number"] in details
    edit_page = ui.get(f"/admin/records/sales_order/edit/?id={created['id']}").get_data(as_text=True)
    assert 'id="number"' not in edit_page


def test_demo_data_is_numbered(crm: CrmEngine) -> None:
    written = generate_demo(crm, "sales", 30, now=datetime(2026, 1, 15, tzinfo=UTC))
    assert written["sales_order"] == 30
    numbers = [r["number"] for r in crm.records.list("sales_order", limit=100, actor=SYSTEM).items]
    assert len(set(numbers)) == 30 and all(n.startswith("SO-20") for n in numbers)
    assert crm.records.create("sales_order", {}, actor=SYSTEM)["number"] not in numbers


def test_numbering_goes_on_after_the_entity_and_the_field_are_renamed(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("sales_order", {}, actor=SYSTEM)
    fields = dict(ENTITIES["sales_order"]["fields"])
    fields["order_no"] = {**fields.pop("number"), "renamed_from": "number"}
    renamed = {"order": {"renamed_from": "sales_order", "fields": fields}}
    crm.apply(load_definitions(write_bundle(tmp_path, "sales", renamed)))
    again = crm.records.create("order", {}, actor=SYSTEM)
    assert (again["order_no"], again["ticket"]) == (f"SO-{_year()}-00002", "T002")


def test_a_new_pattern_numbers_the_next_records(crm: CrmEngine, tmp_path: Path) -> None:
    crm.records.create("sales_order", {}, actor=SYSTEM)
    fields = {**ENTITIES["sales_order"]["fields"], "ticket": {"type": "autonumber", "pattern": "TK-{###}"}}
    _, plan = crm.apply(load_definitions(write_bundle(tmp_path, "sales", {"sales_order": {"fields": fields}})))
    assert [s.describe() for s in plan.steps] == ["sales_order.ticket: number_pattern changed"]
    assert crm.records.create("sales_order", {}, actor=SYSTEM)["ticket"] == "TK-001"


def _numbers(crm: CrmEngine) -> dict[str, str | None]:
    return {r["title"]: r["number"] for r in crm.records.list("sales_order", limit=50, actor=SYSTEM).items}


def test_records_stored_before_the_field_are_numbered_in_the_order_they_were_made(
    engine: CrmEngine, tmp_path: Path
) -> None:
    """An autonumber added to an entity with records numbers them (creation order, creation
    dates in the pattern), says so in the plan and audits it as one batch; new records follow."""
    plain = {"sales_order": {"fields": {"title": {"type": "string"}}}}
    engine.apply(load_definitions(write_bundle(tmp_path / "v1", "sales", plain)))
    for title in ("first", "second", "third"):
        engine.records.create("sales_order", {"title": title}, actor=SYSTEM)
    numbered = {
        "sales_order": {"fields": {"title": {"type": "string"}, "number": ENTITIES["sales_order"]["fields"]["number"]}}
    }
    definitions = load_definitions(write_bundle(tmp_path / "v2", "sales", numbered))
    notes = [s.describe() for s in engine.plan(definitions).steps]
    assert any("3 existing record(s) numbered" in n for n in notes), notes
    engine.apply(definitions)
    year = _year()
    assert _numbers(engine) == {t: f"SO-{year}-0000{i}" for i, t in enumerate(("first", "second", "third"), 1)}
    assert engine.records.create("sales_order", {"title": "fourth"}, actor=SYSTEM)["number"] == f"SO-{year}-00004"
    (batch,) = [a for a in engine.records.audit("sales_order", actor=SYSTEM) if a["action"] == "number"]
    summary = json.loads(batch["new_value"]) if isinstance(batch["new_value"], str) else batch["new_value"]
    assert summary["records"] == 3


def test_a_typed_number_field_becoming_an_autonumber_keeps_its_numbers_and_counts_past_them(
    engine: CrmEngine, tmp_path: Path
) -> None:
    """The presets' order numbers were typed; as an autonumber they stay, the counter moves
    past the largest typed in the pattern (no clash), and a record without one gets one."""
    year = _year()
    typed = {"sales_order": {"fields": {"title": {"type": "string"}, "number": {"type": "string", "max_length": 40}}}}
    engine.apply(load_definitions(write_bundle(tmp_path / "v1", "sales", typed)))
    engine.records.create("sales_order", {"title": "a", "number": f"SO-{year}-00017"}, actor=SYSTEM)
    engine.records.create("sales_order", {"title": "b", "number": "legacy 42"}, actor=SYSTEM)
    engine.records.create("sales_order", {"title": "c"}, actor=SYSTEM)
    numbered = {
        "sales_order": {"fields": {"title": {"type": "string"}, "number": ENTITIES["sales_order"]["fields"]["number"]}}
    }
    engine.apply(load_definitions(write_bundle(tmp_path / "v2", "sales", numbered)))
    assert _numbers(engine) == {"a": f"SO-{year}-00017", "b": "legacy 42", "c": f"SO-{year}-00018"}
    assert engine.records.create("sales_order", {"title": "d"}, actor=SYSTEM)["number"] == f"SO-{year}-00019"
