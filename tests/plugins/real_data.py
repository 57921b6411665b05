"""Loading the real data sets of ``../shared/data`` into an engine (tests and bench share it).

Online Retail: the lines with a customer id, quantity > 0 and unit price > 0, as entities
``customer`` and ``invoice_line``, written through ``engine.transfer.BulkWriter``; the
figures RFM must find are computed here independently, straight from the CSV, in Decimal.
Bank Marketing: every call as entity ``call`` (``duration`` left out: it leaks the outcome).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.transfer import BulkWriter
from tests.support import write_bundle

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RETAIL = DATA / "online_retail.csv.gz"
BANK = DATA / "bank-additional-full.csv.gz"

RETAIL_ENTITIES: dict[str, Any] = {
    "customer": {
        "label": {"en": "Customer", "zh": "客户"},
        "fields": {
            "code": {"type": "string", "max_length": 16, "unique": True},
            "country": {"type": "string"},
        },
    },
    "invoice_line": {
        "fields": {
            "customer": {"type": "reference", "target": "customer"},
            "invoice_no": {"type": "string", "max_length": 16},
            "stock_code": {"type": "string", "max_length": 32},
            "quantity": {"type": "integer"},
            "unit_price": {"type": "decimal", "precision": 12, "scale": 3},
            "invoice_date": {"type": "datetime"},
        }
    },
}

RFM_CONFIG: dict[str, Any] = {
    "transactions": "invoice_line",
    "customer": "customer",
    "date": "invoice_date",
    "order": "invoice_no",
    "quantity": "quantity",
    "price": "unit_price",
    # the loader keeps only these lines already; the filter shows how and runs in SQL
    "filter": {"and": [{">": [{"var": "record.quantity"}, 0]}, {">": [{"var": "record.unit_price"}, 0]}]},
    "method": "rank",
}


@dataclass
class Expected:
    """RFM figures computed from the CSV alone."""

    reference: date
    recency: dict[str, int]
    frequency: dict[str, int]
    monetary: dict[str, Decimal]
    lines: int


def retail_lines() -> Iterator[tuple[str, str, str, int, Decimal, datetime, str]]:
    """(customer code, invoice, stock code, quantity, price, time, country) of kept lines."""
    with gzip.open(RETAIL, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for invoice, stock, _desc, quantity, when, price, customer, country in reader:
            if not customer:
                continue
            q, p = int(quantity), Decimal(price)
            if q <= 0 or p <= 0:
                continue
            code = customer[:-2] if customer.endswith(".0") else customer
            yield code, invoice, stock, q, p, datetime.fromisoformat(when), country


def load_retail(crm: CrmEngine, root: Path) -> Expected:
    """Apply the two entities, write every kept line, and return the expected figures."""
    crm.apply(load_definitions(write_bundle(root, "retail", RETAIL_ENTITIES)))
    customers: dict[str, int] = {}
    countries: dict[str, str] = {}
    last: dict[str, date] = {}
    invoices: dict[str, set[str]] = {}
    money: dict[str, Decimal] = {}
    rows = []
    for code, invoice, stock, q, p, when, country in retail_lines():
        customer = customers.setdefault(code, len(customers) + 1)
        countries.setdefault(code, country)
        day = when.date()
        if last.get(code, date.min) < day:
            last[code] = day
        invoices.setdefault(code, set()).add(invoice)
        money[code] = money.get(code, Decimal(0)) + q * p
        rows.append((customer, invoice, stock, q, p, when.replace(tzinfo=UTC)))
    now = datetime.now(UTC)
    stamps = {"version": 1, "created_at": now, "updated_at": now}
    with crm.db.write() as conn:
        people = BulkWriter(conn, crm.model.table("customer"), ("id", "code", "country"), stamps)
        people.write([(i, code, countries[code]) for code, i in customers.items()])
        lines = BulkWriter(
            conn,
            crm.model.table("invoice_line"),
            ("customer", "invoice_no", "stock_code", "quantity", "unit_price", "invoice_date"),
            stamps,
        )
        for start in range(0, len(rows), 50_000):
            lines.write(rows[start : start + 50_000])
    reference = max(last.values()) + timedelta(days=1)
    return Expected(
        reference,
        {code: (reference - day).days for code, day in last.items()},
        {code: len(found) for code, found in invoices.items()},
        money,
        len(rows),
    )


BANK_NUMERIC = (
    "age",
    "campaign",
    "pdays",
    "previous",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
)
BANK_COLUMNS = {  # CSV column -> field (SQL keywords and dots renamed)
    "age": "age",
    "job": "job",
    "marital": "marital",
    "education": "education",
    "default": "credit_default",
    "housing": "housing",
    "loan": "loan",
    "contact": "contact_type",
    "month": "call_month",
    "day_of_week": "call_day",
    "campaign": "campaign",
    "pdays": "pdays",
    "previous": "previous",
    "poutcome": "poutcome",
    "emp.var.rate": "emp_var_rate",
    "cons.price.idx": "cons_price_idx",
    "cons.conf.idx": "cons_conf_idx",
    "euribor3m": "euribor3m",
    "nr.employed": "nr_employed",
}
BANK_ENTITIES: dict[str, Any] = {
    "call": {
        "fields": {
            **{
                field: (
                    {"type": "integer"}
                    if column in ("age", "campaign", "pdays", "previous")
                    else {"type": "decimal", "precision": 12, "scale": 4}
                    if column in BANK_NUMERIC
                    else {"type": "string", "max_length": 32}
                )
                for column, field in BANK_COLUMNS.items()
            },
            "outcome": {"type": "enum", "choices": ["yes", "no"]},
        }
    }
}
BANK_FEATURES = list(BANK_COLUMNS.values())


def bank_rows() -> Iterator[dict[str, str]]:
    with gzip.open(BANK, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=";")


def load_bank(crm: CrmEngine, root: Path) -> int:
    """Apply entity ``call`` and write every call (ids 1..n in file order); the row count."""
    crm.apply(load_definitions(write_bundle(root, "bank", BANK_ENTITIES)))
    columns = (*BANK_COLUMNS.values(), "outcome")
    rows = []
    for row in bank_rows():
        values: list[Any] = []
        for column in BANK_COLUMNS:
            text = row[column]
            if column in ("age", "campaign", "pdays", "previous"):
                values.append(int(text))
            elif column in BANK_NUMERIC:
                values.append(Decimal(text))
            else:
                values.append(text)
        rows.append((*values, row["y"]))
    now = datetime.now(UTC)
    with crm.db.write() as conn:
        BulkWriter(
            conn,
            crm.model.table("call"),
            columns,
            {"version": 1, "created_at": now, "updated_at": now},
        ).write(rows)
    return len(rows)
