"""An upsert import changes only the columns its file has (others keep their values)."""

from __future__ import annotations

from pathlib import Path

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import import_csv
from tests.support import SYSTEM, write_bundle


def test_an_upsert_keeps_the_fields_its_file_does_not_name(database_url: str, tmp_path: Path) -> None:
    fields = {"code": {"type": "string", "unique": True}, "name": {"type": "string"}, "city": {"type": "string"}}
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(write_bundle(tmp_path, "b", {"account": {"fields": fields}})))
        acme = crm.records.create("account", {"code": "A1", "name": "Acme", "city": "上海"}, actor=SYSTEM)
        path = tmp_path / "names.csv"
        path.write_text("code,name\nA1,Acme Ltd\nB2,Beta\n", encoding="utf-8")
        report = import_csv(crm, "account", path, key="code", actor=SYSTEM)
        assert (report.updated, report.inserted) == (1, 1)
        after = crm.records.get("account", acme["id"], actor=SYSTEM)
        assert (after["name"], after["city"]) == ("Acme Ltd", "上海")
        by_id = import_csv(
            crm, "account", _write(tmp_path / "ids.csv", f"id,city\n{acme['id']},北京\n"), key="id", actor=SYSTEM
        )
        assert by_id.updated == 1
        assert crm.records.get("account", acme["id"], actor=SYSTEM)["name"] == "Acme Ltd"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
