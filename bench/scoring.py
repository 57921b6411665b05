"""Benchmark: the built-in scorers on real data and at scale.

Usage: python bench/scoring.py [--rows 1000000] [--skip rfm,predictive,rules]

- RFM over all of Online Retail (397,884 kept lines, 4,338 customers) in SQLite: the time
  of the scoring itself (``prepare`` plus every ``score_batch``), loading not counted.
  Target: under 3 s.
- predictive on Bank Marketing: our naive Bayes against scikit-learn's logistic
  regression on one-hot features, on the same seeded holdout split (``holdout_split``).
  Target: our AUC within 0.02 of it. Needs ``pip install scikit-learn``, a bench-only
  dependency, not one of the project.
- weighted_rules over a million records in SQLite: the ``UPDATE … SET score = …`` that
  ``compile_sql`` builds against one written by hand, in the same run, on the same table.
  Target: at most 2× the hand-written statement.

The data sets are read from ``../shared/data`` (see tests/plugins/real_data.py); a part
whose file is missing is skipped. Figures are in docs/scorers.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# the data loaders live in tests/plugins/real_data.py: make the project root importable
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.scoring import ScoringSpec
from engine.transfer import BulkWriter
from plugins.scorers import PREDICTIVE, RFM, WEIGHTED_RULES, holdout_split
from tests.plugins.real_data import (
    BANK,
    BANK_COLUMNS,
    BANK_FEATURES,
    BANK_NUMERIC,
    RETAIL,
    RFM_CONFIG,
    bank_rows,
    load_bank,
    load_retail,
)
from tests.plugins.scoring_support import context, score, train
from tests.support import write_bundle


def bench_rfm(root: Path) -> None:
    if not RETAIL.exists():
        print(f"rfm: skipped, {RETAIL} is missing")
        return
    with CrmEngine(f"sqlite:///{root / 'retail.db'}") as crm:
        started = time.perf_counter()
        expected = load_retail(crm, root)
        print(f"rfm: loaded {expected.lines:,} lines in {time.perf_counter() - started:.1f} s")
        for method in ("rank", "quantile"):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                results = score(crm, RFM, "customer", {**RFM_CONFIG, "method": method}, batch=2000)
                best = min(best, time.perf_counter() - started)
            counts = {k: dict(sorted(Counter(r.extra[k] for r in results.values()).items())) for k in "rfm"}
            print(f"rfm ({method}): {len(results):,} customers scored in {best:.2f} s (best of 3); scores {counts}")


def bench_predictive(root: Path) -> None:
    if not BANK.exists():
        print(f"predictive: skipped, {BANK} is missing")
        return
    with CrmEngine(f"sqlite:///{root / 'bank.db'}") as crm:
        count = load_bank(crm, root)
        config = {
            "outcome": "outcome",
            "positive": ["yes"],
            "features": BANK_FEATURES,
            "holdout": 0.2,
            "seed": 42,
        }
        started = time.perf_counter()
        report = train(crm, PREDICTIVE, "call", config)
        seconds = time.perf_counter() - started
    ours = report.metrics["auc"]
    print(f"predictive: {count:,} calls, trained and evaluated in {seconds:.1f} s")
    print(f"predictive: our holdout AUC {ours:.4f}")
    try:
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
    except ImportError:
        print("predictive: scikit-learn is not installed (pip install scikit-learn); no comparison")
        return
    rows = list(bank_rows())
    train_ids, holdout_ids = holdout_split(range(1, len(rows) + 1), 0.2, 42)  # ids are file order
    numeric = [c for c in BANK_COLUMNS if c in BANK_NUMERIC]
    categorical = [c for c in BANK_COLUMNS if c not in BANK_NUMERIC]

    def matrix(ids: list[int]) -> list[list[Any]]:
        return [[float(rows[i - 1][c]) for c in numeric] + [rows[i - 1][c] for c in categorical] for i in ids]

    def labels(ids: list[int]) -> list[bool]:
        return [rows[i - 1]["y"] == "yes" for i in ids]

    n = len(numeric)
    setups = {
        "numbers scaled, categories one-hot": ColumnTransformer(
            [
                ("numbers", StandardScaler(), list(range(n))),
                (
                    "categories",
                    OneHotEncoder(handle_unknown="ignore"),
                    list(range(n, n + len(categorical))),
                ),
            ]
        ),
        "every column one-hot": ColumnTransformer(
            [
                ("all", OneHotEncoder(handle_unknown="ignore"), list(range(n + len(categorical)))),
            ]
        ),
    }
    for name, features in setups.items():
        model = make_pipeline(features, LogisticRegression(max_iter=5000))
        model.fit(matrix(train_ids), labels(train_ids))
        theirs = roc_auc_score(labels(holdout_ids), model.predict_proba(matrix(holdout_ids))[:, 1])
        print(f"predictive: scikit-learn logistic regression ({name}) AUC {theirs:.4f}; ours {ours - theirs:+.4f}")


RULES: list[dict[str, Any]] = [
    {"name": "big_budget", "when": {">=": [{"var": "record.budget"}, 100000]}, "points": 30},
    {
        "name": "warm_source",
        "when": {"in": [{"var": "record.source"}, ["referral", "partner"]]},
        "points": 20,
    },
    {"name": "tiny", "when": {"<": [{"var": "record.employees"}, 10]}, "points": -15},
    {"name": "target_country", "when": {"==": [{"var": "record.country"}, "CN"]}, "points": 15},
    {"name": "active", "when": {"==": [{"var": "record.active"}, True]}, "points": 10},
    {
        "name": "enterprise",
        "when": {
            "and": [
                {">=": [{"var": "record.employees"}, 1000]},
                {"!=": [{"var": "record.source"}, "web"]},
            ]
        },
        "points": 25,
    },
]
# The same rules as a person writes them in SQL, nulls handled to mean what the rules mean
# (a null number is 0 in a comparison, a null text equals nothing). Decimals on SQLite are
# stored times 10^scale (money: cents, the score's scale 2): the person writes in those units.
HAND_WRITTEN = """
UPDATE lead SET score = 100 * max(0, min(100,
    CASE WHEN budget >= 10000000 THEN 30 ELSE 0 END
  + CASE WHEN source IN ('referral', 'partner') THEN 20 ELSE 0 END
  + CASE WHEN coalesce(employees, 0) < 10 THEN -15 ELSE 0 END
  + CASE WHEN country = 'CN' THEN 15 ELSE 0 END
  + CASE WHEN active = 1 THEN 10 ELSE 0 END
  + CASE WHEN employees >= 1000 AND (source IS NULL OR source <> 'web') THEN 25 ELSE 0 END))
"""


def bench_weighted_rules(root: Path, count: int) -> None:
    entities = {
        "lead": {
            "fields": {
                "budget": {"type": "money"},
                "source": {"type": "enum", "choices": ["web", "referral", "partner", "fair"]},
                "employees": {"type": "integer"},
                "country": {"type": "string", "max_length": 2},
                "active": {"type": "boolean"},
                "score": {"type": "decimal", "precision": 8, "scale": 2},
            }
        }
    }
    with CrmEngine(f"sqlite:///{root / 'rules.db'}") as crm:
        crm.apply(load_definitions(write_bundle(root, "rules", entities)))
        rng = random.Random(11)
        sources = ["web", "referral", "partner", "fair", None]
        countries = ["CN", "US", "DE", "JP", None]
        now = datetime.now(UTC)
        table = crm.model.table("lead")
        started = time.perf_counter()
        with crm.db.write() as conn:
            writer = BulkWriter(
                conn,
                table,
                ("budget", "source", "employees", "country", "active"),
                {"version": 1, "created_at": now, "updated_at": now},
            )
            for start in range(0, count, 100_000):
                writer.write(
                    [
                        (
                            None if rng.random() < 0.1 else Decimal(rng.randrange(0, 500_000)),
                            rng.choice(sources),
                            None if rng.random() < 0.1 else rng.randrange(1, 5000),
                            rng.choice(countries),
                            rng.choice([True, False, None]),
                        )
                        for _ in range(min(100_000, count - start))
                    ]
                )
        print(f"weighted_rules: {count:,} leads written in {time.perf_counter() - started:.1f} s")
        spec = ScoringSpec("lead_score", "lead", "weighted_rules", {"rules": RULES})
        assert WEIGHTED_RULES.compile_sql is not None
        compiled = WEIGHTED_RULES.compile_sql(spec, table)
        assert compiled is not None
        value, _grade = compiled
        ours = theirs = float("inf")
        for _ in range(3):  # alternate, best of three each: the same cache state for both
            with crm.db.write() as conn:
                started = time.perf_counter()
                conn.execute(table.update().values(score=value))
                ours = min(ours, time.perf_counter() - started)
                compiled_scores = conn.execute(sa.select(table.c.id, table.c.score).order_by(table.c.id)).all()
            with crm.db.write() as conn:
                started = time.perf_counter()
                conn.execute(sa.text(HAND_WRITTEN))
                theirs = min(theirs, time.perf_counter() - started)
                hand_scores = conn.execute(sa.select(table.c.id, table.c.score).order_by(table.c.id)).all()
        differ = sum(1 for a, b in zip(compiled_scores, hand_scores, strict=True) if a != b)
        print(
            f"weighted_rules: UPDATE over {count:,} rows: compiled {ours:.2f} s, "
            f"hand-written {theirs:.2f} s, ratio {ours / theirs:.2f}; rows that differ: {differ}"
        )
        sample = 100_000
        with crm.db.read() as conn:
            records = [dict(r) for r in conn.execute(sa.select(table).limit(sample)).mappings()]
        with crm.db.read() as conn:
            ctx = context(crm, conn, WEIGHTED_RULES, "lead", {"rules": RULES})
            started = time.perf_counter()
            for start in range(0, sample, 2000):
                WEIGHTED_RULES.score_batch(ctx, records[start : start + 2000])
            seconds = time.perf_counter() - started
        print(f"weighted_rules: score_batch (rules in Python) {sample / seconds:,.0f} records/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="records for the weighted_rules part")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: rfm, predictive, rules")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    with tempfile.TemporaryDirectory(prefix="crm-bench-scoring-") as tmp:
        root = Path(tmp)
        if "rfm" not in skip:
            bench_rfm(root)
        if "predictive" not in skip:
            bench_predictive(root)
        if "rules" not in skip:
            bench_weighted_rules(root, args.rows)


if __name__ == "__main__":
    main()
