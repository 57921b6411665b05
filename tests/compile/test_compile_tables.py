"""Tables compiled from definitions: columns, types, names, and real round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from compile_defs import definitions, entity, field
from sqlalchemy.dialects import postgresql, sqlite

from engine.compile import (
    NAMING_CONVENTION,
    UTCDateTime,
    build_metadata,
    column_type,
    system_columns,
)
from engine.errors import DefinitionError
from engine.metadata._model import FieldDef, Label

STATUSES = ["new", "qualified", "won", "lost"]

ACCOUNT = entity(
    "account",
    field("name", "string", required=True, unique=True, max_length=120),
    field("primary_contact", "reference", target="contact", on_delete="set_null"),
    field("industry", "enum", choices=["tech", "retail"], index=True),
    field("revenue", "money"),
    indexes=(("industry", "owner"),),
    unique=(("name", "industry"),),
)
CONTACT = entity(
    "contact",
    field("account", "reference", target="account", on_delete="cascade"),
    field("email", "email", unique=True),
    field("born", "date"),
)
ORDER = entity(
    "order",
    field("select", "string"),
    field("parent", "reference", target="order"),
    field("status", "enum", choices=STATUSES, default="new"),
)
ALL_TYPES = entity(
    "sample",
    field("title", "string", max_length=80),
    field("body", "text"),
    field("count", "integer"),
    field("ratio", "decimal", precision=18, scale=6),
    field("price", "money"),
    field("active", "boolean"),
    field("day", "date"),
    field("at", "datetime"),
    field("stage", "enum", choices=STATUSES),
    field("tags", "multi_enum", choices=["a", "b", "c"]),
    field("mail", "email"),
    field("tel", "phone"),
    field("site", "url"),
    field("parent", "reference", target="sample"),
    field("extra", "json"),
)
CRM = definitions(ACCOUNT, CONTACT, ORDER, ALL_TYPES)
SYSTEM = ["id", "version", "created_at", "updated_at", "created_by", "owner"]


def test_one_table_per_entity_named_after_it() -> None:
    metadata = build_metadata(CRM)
    assert sorted(metadata.tables) == ["account", "contact", "order", "sample"]


def test_system_columns_come_first_then_fields_in_definition_order() -> None:
    table = build_metadata(CRM).tables["sample"]
    assert [c.name for c in table.columns] == SYSTEM + list(ALL_TYPES.fields)


def test_system_columns() -> None:
    columns = {c.name: c for c in system_columns()}
    assert list(columns) == SYSTEM
    assert columns["id"].primary_key and columns["id"].autoincrement is True
    assert not columns["version"].nullable and columns["version"].default.arg == 1
    assert not columns["created_at"].nullable and not columns["updated_at"].nullable
    assert isinstance(columns["created_at"].type, UTCDateTime)
    assert columns["created_by"].nullable and columns["created_by"].type.length == 128
    assert columns["owner"].nullable and columns["owner"].index
    assert system_columns()[0] is not system_columns()[0]  # fresh objects every call


def test_every_field_column_is_nullable_even_when_required() -> None:
    table = build_metadata(CRM).tables["account"]
    assert ACCOUNT.fields["name"].required
    assert all(table.c[name].nullable for name in ACCOUNT.fields)


def test_id_is_integer_on_sqlite_so_that_it_is_the_rowid() -> None:
    id_type = build_metadata(CRM).tables["sample"].c.id.type
    assert id_type.compile(dialect=sqlite.dialect()) == "INTEGER"
    assert id_type.compile(dialect=postgresql.dialect()) == "BIGINT"


@pytest.mark.parametrize(
    ("definition", "on_sqlite", "on_postgres"),
    [
        (field("f", "string", max_length=80), "VARCHAR(80)", "VARCHAR(80)"),
        (field("f", "email"), "VARCHAR(254)", "VARCHAR(254)"),
        (field("f", "phone"), "VARCHAR(32)", "VARCHAR(32)"),
        (field("f", "url"), "VARCHAR(2048)", "VARCHAR(2048)"),
        (field("f", "text"), "TEXT", "TEXT"),
        (field("f", "integer"), "BIGINT", "BIGINT"),
        # SQLite keeps decimals exactly as integers: the value times 10^scale
        (field("f", "decimal", precision=10, scale=3), "BIGINT", "NUMERIC(10, 3)"),
        (field("f", "money"), "BIGINT", "NUMERIC(18, 2)"),
        (field("f", "boolean"), "BOOLEAN", "BOOLEAN"),
        (field("f", "date"), "DATE", "DATE"),
        (field("f", "datetime"), "DATETIME", "TIMESTAMP WITH TIME ZONE"),
        (field("f", "enum", choices=["a", "b"]), "VARCHAR(64)", "VARCHAR(64)"),
        (field("f", "enum", choices=["x" * 80, "y"]), "VARCHAR(80)", "VARCHAR(80)"),
        (field("f", "multi_enum", choices=["a"]), "JSON", "JSONB"),
        (field("f", "json"), "JSON", "JSONB"),
        (field("f", "reference", target="t"), "BIGINT", "BIGINT"),
    ],
    ids=lambda value: getattr(value, "type", None),
)
def test_column_type_of_each_field_type(definition: FieldDef, on_sqlite: str, on_postgres: str) -> None:
    kind = column_type(definition)
    assert kind.compile(dialect=sqlite.dialect()) == on_sqlite
    assert kind.compile(dialect=postgresql.dialect()) == on_postgres


def test_unknown_field_type_is_an_explicit_error() -> None:
    bogus = FieldDef(name="f", type="colour", label=Label("f"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown type 'colour'"):
        column_type(bogus)


def test_boolean_and_enum_make_no_check_constraints() -> None:
    ddl = str(sa.schema.CreateTable(build_metadata(CRM).tables["sample"]).compile(dialect=postgresql.dialect()))
    assert "CHECK" not in ddl and "ENUM" not in ddl


def _index_names(table: sa.Table) -> set[str]:
    return {index.name for index in table.indexes}


def _constraint_names(table: sa.Table, kind: type) -> set[str]:
    return {c.name for c in table.constraints if isinstance(c, kind)}


@pytest.mark.parametrize(
    ("table", "indexes", "uniques", "foreign_keys"),
    [
        (
            "account",
            {"ix_account_owner", "ix_account_primary_contact", "ix_account_industry", "ix_account_industry_owner"},
            {"uq_account_name", "uq_account_name_industry"},
            {"fk_account_primary_contact"},
        ),
        (
            "contact",
            {"ix_contact_owner", "ix_contact_account"},
            {"uq_contact_email"},
            {"fk_contact_account"},
        ),
        ("order", {"ix_order_owner", "ix_order_parent"}, set(), {"fk_order_parent"}),
    ],
)
def test_index_and_constraint_names_follow_the_convention(
    table: str, indexes: set[str], uniques: set[str], foreign_keys: set[str]
) -> None:
    compiled = build_metadata(CRM).tables[table]
    assert _index_names(compiled) == indexes
    assert _constraint_names(compiled, sa.UniqueConstraint) == uniques
    assert _constraint_names(compiled, sa.ForeignKeyConstraint) == foreign_keys
    assert compiled.primary_key.name == f"pk_{table}"


def test_unique_field_is_not_indexed_twice() -> None:
    twice = entity("t", field("code", "string", unique=True, index=True), indexes=(("code",),))
    table = build_metadata(definitions(twice)).tables["t"]
    assert _index_names(table) == {"ix_t_owner"}
    assert _constraint_names(table, sa.UniqueConstraint) == {"uq_t_code"}


def test_long_names_stay_within_63_characters_and_apart() -> None:
    long_a, long_b = "a" * 40 + "_first", "a" * 40 + "_second"
    wide = entity(
        "very_long_entity_name_for_names",
        field(long_a, "string", index=True),
        field(long_b, "string", index=True),
        unique=((long_a, long_b),),
    )
    table = build_metadata(definitions(wide)).tables[wide.name]
    names = _index_names(table) | _constraint_names(table, sa.UniqueConstraint)
    assert all(len(name) <= 63 for name in names)
    assert len(names) == 4  # owner, two fields, one unique: none collide
    again = build_metadata(definitions(wide)).tables[wide.name]
    assert _index_names(again) == _index_names(table)  # deterministic


@pytest.mark.parametrize(
    ("on_delete", "sql"),
    [("restrict", "RESTRICT"), ("cascade", "CASCADE"), ("set_null", "SET NULL")],
)
def test_reference_on_delete(on_delete: str, sql: str) -> None:
    child = entity("child", field("parent", "reference", target="child", on_delete=on_delete))
    (fk,) = build_metadata(definitions(child)).tables["child"].c.parent.foreign_keys
    assert fk.ondelete == sql and fk.column.table.name == "child"


@pytest.mark.parametrize(
    ("bad", "code", "pointer"),
    [
        (
            entity("t", field("x", "reference", target="nowhere")),
            "unknown_target",
            "/fields/x/target",
        ),
        (entity("t", field("x"), indexes=(("x", "nope"),)), "unknown_field", "/indexes/0/1"),
        (entity("t", field("x"), unique=(("nope",),)), "unknown_field", "/unique/0/0"),
    ],
)
def test_definition_errors(bad: Any, code: str, pointer: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        build_metadata(definitions(bad))
    assert [(p.code, p.pointer) for p in caught.value.problems] == [(code, pointer)]


def test_naming_convention_is_usable_by_other_metadata() -> None:
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    table = sa.Table(
        "log", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.Integer, index=True)
    )
    assert table.primary_key.name == "pk_log" and _index_names(table) == {"ix_log_at"}


# -- real databases -----------------------------------------------------------------------

UTC = UTC
PLUS_8 = timezone(timedelta(hours=8))

ROUND_TRIP: dict[str, Any] = {
    "title": "Zoë 张三 'quoted' \"double\"",
    "body": "long text " * 500,
    "count": 2**62,
    "ratio": Decimal("-12345.678901"),
    "price": Decimal("9999999999.99"),
    "active": False,
    "day": date(1815, 12, 10),
    "stage": "won",
    "tags": ["c", "a"],
    "mail": "ada@example.com",
    "tel": "+44 20 7946 0018",
    "site": "https://example.com/a?b=c",
    "extra": {"nested": [1, 2.5, None, True, "x"], "n": {"deep": {}}},
}


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


@pytest.fixture
def crm_db(database_url: str) -> Any:
    """An engine with the CRM tables created; dropped again afterwards."""
    engine = _engine(database_url)
    metadata = build_metadata(CRM)
    metadata.create_all(engine)
    yield engine, metadata
    metadata.drop_all(engine)
    engine.dispose()


def _insert(engine: sa.Engine, table: sa.Table, values: dict[str, Any]) -> sa.Row[Any]:
    with engine.begin() as conn:
        new_id = conn.execute(table.insert().values(values)).inserted_primary_key[0]
        return conn.execute(sa.select(table).where(table.c.id == new_id)).one()


def test_typed_values_round_trip(crm_db: Any) -> None:
    engine, metadata = crm_db
    row = _insert(engine, metadata.tables["sample"], ROUND_TRIP)
    assert {name: getattr(row, name) for name in ROUND_TRIP} == ROUND_TRIP
    assert isinstance(row.ratio, Decimal) and isinstance(row.price, Decimal)
    assert row.active is False


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (datetime(2024, 3, 1, 12, 30, tzinfo=PLUS_8), datetime(2024, 3, 1, 4, 30, tzinfo=UTC)),
        (datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC), datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        (datetime(2024, 3, 1, 12, 30), datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),  # naive = UTC
    ],
)
def test_datetimes_come_back_aware_in_utc(crm_db: Any, given: datetime, stored: datetime) -> None:
    engine, metadata = crm_db
    row = _insert(engine, metadata.tables["sample"], {"at": given})
    assert row.at == stored and row.at.tzinfo is not None and row.at.utcoffset() == timedelta(0)


def test_datetime_comparisons_use_utc(crm_db: Any) -> None:
    engine, metadata = crm_db
    sample = metadata.tables["sample"]
    _insert(engine, sample, {"at": datetime(2024, 3, 1, 4, 30, tzinfo=UTC)})
    with engine.connect() as conn:
        same = datetime(2024, 3, 1, 12, 30, tzinfo=PLUS_8)
        assert conn.execute(sa.select(sa.func.count()).where(sample.c.at == same)).scalar() == 1


def test_null_values_are_sql_null(crm_db: Any) -> None:
    engine, metadata = crm_db
    sample = metadata.tables["sample"]
    row = _insert(engine, sample, {name: None for name in ALL_TYPES.fields})
    assert all(getattr(row, name) is None for name in ALL_TYPES.fields)
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(sample.c.extra.is_(None), sample.c.tags.is_(None))
        assert conn.execute(query).scalar() == 1


def test_new_rows_start_at_version_1_with_equal_timestamps(crm_db: Any) -> None:
    engine, metadata = crm_db
    row = _insert(engine, metadata.tables["order"], {"select": "x"})
    assert row.version == 1 and row.id >= 1
    assert row.created_at == row.updated_at and row.created_at.tzinfo is not None


def test_keyword_names_and_references_work(crm_db: Any) -> None:
    engine, metadata = crm_db
    order, account, contact = (metadata.tables[n] for n in ("order", "account", "contact"))
    parent = _insert(engine, order, {"select": "parent"})
    child = _insert(engine, order, {"select": "child", "parent": parent.id})
    assert child.parent == parent.id
    acme = _insert(engine, account, {"name": "Acme"})
    ada = _insert(engine, contact, {"account": acme.id, "email": "ada@example.com"})
    _insert(engine, account, {"name": "Beta", "primary_contact": ada.id})
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(account.insert().values(name="Acme"))


@pytest.mark.postgres
def test_full_decimal_precision_on_postgres(tmp_path: Any) -> None:
    from tests.support import postgres_schema_url

    urls = postgres_schema_url()
    url = next(urls)
    try:
        engine = _engine(url)
        metadata = build_metadata(CRM)
        metadata.create_all(engine)
        values = {"ratio": Decimal("123456789012.345678"), "price": Decimal("9999999999999999.99")}
        row = _insert(engine, metadata.tables["sample"], values)
        assert (row.ratio, row.price) == (values["ratio"], values["price"])
        engine.dispose()
    finally:
        urls.close()
