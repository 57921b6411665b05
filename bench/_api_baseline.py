"""The baseline of ``bench/api.py``: the same four operations on the same ``deal`` table,
written by hand with Flask and SQLAlchemy Core: no definitions, no engine.

It does what a careful hand-written endpoint must: check the bearer token, validate the
body field by field, write the row with its version, timestamps and owner, and on a
change the same audit and workflow-history rows the engine writes, in one transaction.
What it does not have is everything generic: definitions, compiled validators, filters
parsed from JSON, permissions, plugins, the OpenAPI document.

    CRM_DATABASE_URL=... gunicorn -w 2 --pythonpath bench '_api_baseline:create_app()'
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from sqlalchemy import event

FIELDS = ("title", "company", "email", "city", "amount", "probability", "close_date", "stage")
AMOUNT_LIMIT = Decimal("1000000")


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return Response(text, status=status, mimetype="application/json", headers=headers)


def _problem(status: int, code: str, errors: list[dict[str, str]] | None = None) -> Response:
    body = {"status": status, "code": code, "errors": errors or []}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _record(row: Any) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in row._mapping.items()}


def _validate(body: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The hand-written checks of a new deal: the same rules as the bench's definitions."""
    if not isinstance(body, dict):
        return {}, [{"pointer": "", "code": "type"}]
    errors = [{"pointer": f"/{k}", "code": "unknown_field"} for k in body if k not in FIELDS or k == "stage"]
    values: dict[str, Any] = {}
    for name, limit in (("title", 200), ("company", 200), ("email", 254), ("city", 80)):
        value = body.get(name)
        if value is None:
            if name == "title":
                errors.append({"pointer": "/title", "code": "required"})
            continue
        if not isinstance(value, str) or len(value) > limit or (name == "email" and "@" not in value):
            errors.append({"pointer": f"/{name}", "code": "type"})
        values[name] = value
    if body.get("amount") is not None:
        try:
            amount = Decimal(str(body["amount"])).quantize(Decimal("0.01"))
            if amount < 0 or not amount.is_finite():
                raise InvalidOperation
            values["amount"] = amount
        except (InvalidOperation, ValueError):
            errors.append({"pointer": "/amount", "code": "type"})
    probability = body.get("probability")
    if probability is not None:
        if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
            errors.append({"pointer": "/probability", "code": "type"})
        values["probability"] = probability
    if body.get("close_date") is not None:
        try:
            values["close_date"] = date.fromisoformat(body["close_date"])
        except (TypeError, ValueError):
            errors.append({"pointer": "/close_date", "code": "type"})
    return values, errors


def create_app() -> Flask:
    """The baseline app over ``CRM_DATABASE_URL`` (one pool per gunicorn worker)."""
    url = os.environ["CRM_DATABASE_URL"]
    db = sa.create_engine(url)
    if db.dialect.name == "sqlite":
        # the same connection settings as the engine: WAL, a busy timeout, BEGIN IMMEDIATE
        # for writers (without it two writing workers fail with "database is locked")
        @event.listens_for(db, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA busy_timeout = 30000")
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")

        @event.listens_for(db, "begin")
        def _on_begin(connection: sa.Connection) -> None:
            write = connection.get_execution_options().get("write")
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    metadata = sa.MetaData()
    deal = sa.Table("deal", metadata, autoload_with=db)
    audit = sa.Table("crm_audit", metadata, autoload_with=db)
    history = sa.Table("crm_workflow_history", metadata, autoload_with=db)
    tokens = sa.Table("crm_api_tokens", metadata, autoload_with=db)
    users = sa.Table("crm_users", metadata, autoload_with=db)
    who = (
        sa.select(users.c.name)
        .join(tokens, tokens.c.user == users.c.name)
        .where(tokens.c.token_hash == sa.bindparam("hash"), tokens.c.revoked_at.is_(None), users.c.active)
    )
    by_id = sa.select(deal).where(deal.c.id == sa.bindparam("id"))
    app = Flask("baseline")

    def user(conn: sa.Connection) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
        name: str | None = conn.execute(who, {"hash": digest}).scalar()
        return name

    def write() -> sa.Connection:
        return db.connect().execution_options(write=True)

    @app.get("/deal")
    def list_deals() -> Response:
        city = request.args.get("city")
        try:
            limit = min(int(request.args.get("limit", "50")), 500)
            offset = int(request.args.get("offset", "0"))
        except ValueError:
            return _problem(400, "invalid_parameter")
        with db.connect() as conn, conn.begin():
            if user(conn) is None:
                return _problem(401, "unauthorized")
            where = deal.c.city == city if city is not None else sa.true()
            total = conn.execute(sa.select(sa.func.count()).select_from(deal).where(where)).scalar()
            rows = conn.execute(sa.select(deal).where(where).order_by(deal.c.id).limit(limit).offset(offset))
            items = [_record(r) for r in rows]
        return _respond({"items": items, "total": total, "limit": limit, "offset": offset})

    @app.get("/deal/<int:record_id>")
    def get_deal(record_id: int) -> Response:
        with db.connect() as conn, conn.begin():
            if user(conn) is None:
                return _problem(401, "unauthorized")
            row = conn.execute(by_id, {"id": record_id}).first()
        if row is None:
            return _problem(404, "not_found")
        return _respond(_record(row), headers={"ETag": f'W/"{row.version}"'})

    @app.post("/deal")
    def create_deal() -> Response:
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            return _problem(400, "invalid_json")
        values, errors = _validate(body)
        if errors:
            return _problem(422, "invalid_record", errors)
        now = datetime.now(UTC)
        with write() as conn, conn.begin():
            actor = user(conn)
            if actor is None:
                return _problem(401, "unauthorized")
            row = {
                **values,
                "stage": "draft",
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by": actor,
                "owner": actor,
            }
            created = conn.execute(deal.insert().values(row).returning(*deal.c)).one()
            change = uuid.uuid4().hex
            conn.execute(
                audit.insert(),
                [
                    {
                        "change_id": change,
                        "entity": "deal",
                        "record_id": created.id,
                        "action": "create",
                        "field": k,
                        "old_value": None,
                        "new_value": _json_value(v),
                        "actor": actor,
                        "at": now,
                    }
                    for k, v in {**values, "stage": "draft", "owner": actor}.items()
                ],
            )
            conn.execute(
                history.insert(),
                {
                    "entity": "deal",
                    "record_id": created.id,
                    "workflow": "deal_flow",
                    "transition": None,
                    "from_state": None,
                    "to_state": "draft",
                    "actor": actor,
                    "at": now,
                    "inputs": None,
                    "comment": None,
                },
            )
        return _respond(_record(created), 201, {"ETag": 'W/"1"', "Location": f"/deal/{created.id}"})

    @app.post("/deal/<int:record_id>/transitions/submit")
    def submit_deal(record_id: int) -> Response:
        now = datetime.now(UTC)
        with write() as conn, conn.begin():
            actor = user(conn)
            if actor is None:
                return _problem(401, "unauthorized")
            row = conn.execute(by_id, {"id": record_id}).first()
            if row is None:
                return _problem(404, "not_found")
            if row.stage != "draft" or row.amount is None or row.amount > AMOUNT_LIMIT:
                return _problem(409, "transition_refused")
            changed = conn.execute(
                deal.update()
                .where(deal.c.id == record_id, deal.c.version == row.version)
                .values(stage="submitted", version=row.version + 1, updated_at=now)
                .returning(*deal.c)
            ).first()
            if changed is None:
                return _problem(409, "conflict")
            conn.execute(
                audit.insert(),
                {
                    "change_id": uuid.uuid4().hex,
                    "entity": "deal",
                    "record_id": record_id,
                    "action": "update",
                    "field": "stage",
                    "old_value": "draft",
                    "new_value": "submitted",
                    "actor": actor,
                    "at": now,
                },
            )
            conn.execute(
                history.insert(),
                {
                    "entity": "deal",
                    "record_id": record_id,
                    "workflow": "deal_flow",
                    "transition": "submit",
                    "from_state": "draft",
                    "to_state": "submitted",
                    "actor": actor,
                    "at": now,
                    "inputs": None,
                    "comment": None,
                },
            )
        return _respond(_record(changed), headers={"ETag": f'W/"{changed.version}"'})

    return app
