"""What the preset tests share: the presets on disk, bundles composed of several, the users
of every preset engine, and records filled in from their definitions."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engine.hooks import make_plugins
from engine.metadata import Definitions, EntityDef, FieldDef, load_definitions
from engine.presets import MODES
from engine.runtime import CrmEngine
from engine.scoring import ScorerRegistry
from tests.support import REPO_ROOT, acting_for, postgres_schema_url

PRESETS_DIR = REPO_ROOT / "presets"
#: Every preset that ships: core, the five modes and their industry variants.
PRESETS: tuple[str, ...] = tuple(sorted(p.name for p in PRESETS_DIR.iterdir() if (p / "bundle.json").is_file()))
#: Mode → its industry variants (``<mode>_<industry>``).
VARIANTS: Mapping[str, tuple[str, ...]] = {m: tuple(p for p in PRESETS if p.startswith(m + "_")) for m in MODES}
#: Each mode's family: the mode and its variants; ``crm preset load`` puts one of each next to the others.
FAMILIES: Mapping[str, tuple[str, ...]] = {m: (m, *VARIANTS[m]) for m in MODES}
#: The built-in scorers' configuration schemas, so that scoring configurations are checked too.
SCORER_SCHEMAS: Mapping[str, Any] = ScorerRegistry.collect(make_plugins(entry_points=False)).config_schemas()

#: One user per role the presets name (``admin`` holds every role).
USERS: Mapping[str, tuple[str, ...]] = {
    "rita": ("rep",),
    "rob": ("rep",),
    "sam": ("secretary",),
    "fiona": ("finance",),
    "mia": ("manager",),
    "max": ("marketing",),
    "sid": ("service",),
    "sue": ("service",),
    "ada": ("admin",),
}


#: ``get(preset, backend)`` of the ``preset_engines`` fixture: an engine with the preset applied.
PresetEngines = Callable[[str, str], CrmEngine]


@contextmanager
def engines_per_preset(
    tmp_path_factory: pytest.TempPathFactory, set_up: Callable[[CrmEngine, str], None]
) -> Iterator[PresetEngines]:
    """``get(preset, backend)``: one engine per preset and database, made on first use with
    ``set_up(engine, preset)``, closed on exit; SQLite files and PostgreSQL schemas are made
    and dropped as by the ``database_url`` fixture of ``tests/conftest.py``."""
    engines: dict[tuple[str, str], CrmEngine] = {}
    schemas: list[Iterator[str]] = []

    def get(preset: str, backend: str) -> CrmEngine:
        key = (preset, backend)
        if key not in engines:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp(preset) / 'crm.db'}"
            else:
                schema = postgres_schema_url()
                url = next(schema)
                schemas.append(schema)
            engine = CrmEngine(url)
            try:
                set_up(engine, preset)
            except BaseException:
                engine.close()  # a failed set-up is not reused by the next test
                raise
            engines[key] = engine
        return engines[key]

    try:
        yield get
    finally:
        for engine in engines.values():
            engine.close()
        for schema in schemas:
            next(schema, None)  # drops the schema


def mode_of(preset: str) -> str | None:
    """The mode a preset belongs to (None for core)."""
    return next((m for m in MODES if preset == m or preset.startswith(m + "_")), None)


def union_bundle(root: Path, names: list[str] | tuple[str, ...]) -> Path:
    """A bundle that extends ``names``, as ``crm preset load`` composes the modes of one database."""
    bundle = root / "_".join(["union", *names])[:60]
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "bundle.json").write_text(
        json.dumps({"schema_version": 1, "kind": "bundle", "name": "union", "extends": list(names)})
    )
    return bundle


@cache
def load_preset(name: str) -> Definitions:
    """A preset's definitions (frozen, so loaded once per session)."""
    return load_definitions(PRESETS_DIR / name, scorer_schemas=SCORER_SCHEMAS)


def pairwise_cover(families: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Rows of one member per family such that every two members of different families meet
    in some row (a covering array, built greedily; a seeded shuffle breaks ties, which gets
    11 rows for five families of three where the 90 pairs would need 90 loads). A union of
    a row holds every pair in it, and a pair that clashes makes the row clash."""

    def pairs(row: tuple[str, ...]) -> set[frozenset[tuple[int, str]]]:
        return {frozenset(p) for p in itertools.combinations(enumerate(row), 2)}

    candidates = list(itertools.product(*families))
    uncovered = set().union(*(pairs(row) for row in candidates))
    shuffle = random.Random(1).shuffle
    rows: list[tuple[str, ...]] = []
    while uncovered:
        shuffle(candidates)
        best = max(candidates, key=lambda row: len(pairs(row) & uncovered))
        uncovered -= pairs(best)
        rows.append(best)
    return rows


@dataclass(frozen=True)
class New:
    """A value that is a new record of ``entity`` (with these values), made when needed."""

    entity: str
    values: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Serial:
    """A value unique in the session: the prefix and a number (order numbers, codes)."""

    prefix: str


#: Numbers generated values across every engine of the session, so unique fields never repeat.
_SERIAL = itertools.count(1)


class RecordMaker:
    """Creates records of any preset entity: required fields get plausible values, required
    references get a new referred-to record, and unique fields get distinct values."""

    def __init__(self, engine: CrmEngine) -> None:
        self.engine = engine

    def make(self, entity: str, values: Mapping[str, Any] | None = None, *, actor: str = "rita") -> dict[str, Any]:
        definition = self.engine.model.entity(entity)
        given = {k: self.resolve(v, actor) for k, v in (values or {}).items()}
        driven = {w.field for w in self.engine.model.definitions.workflows_for(entity)}
        for field in definition.fields.values():
            if field.name in given or field.name in driven or not field.required or field.has_default:
                continue
            given[field.name] = self.value_for(definition, field, actor)
        return self.engine.records.create(entity, given, actor=acting_for(actor))

    def resolve(self, value: Any, actor: str) -> Any:
        if isinstance(value, New):
            return self.make(value.entity, value.values, actor=actor)["id"]
        if isinstance(value, Serial):
            return f"{value.prefix}{next(_SERIAL):05d}"
        return value

    def value_for(self, entity: EntityDef, field: FieldDef, actor: str) -> Any:
        n = next(_SERIAL)
        if field.type == "reference":
            assert field.target is not None
            return self.make(field.target, actor=actor)["id"]
        if field.pattern is not None and "[0-9]{4}-" in field.pattern:
            return "2024-05"  # the period fields: a month
        if field.type in ("string", "text"):
            return f"{entity.name} {n}"
        if field.type in ("integer", "decimal", "money"):
            low = field.minimum if field.minimum is not None else Decimal(1)
            value = max(low, Decimal(n))
            return int(value) if field.type == "integer" else str(value)
        if field.type == "date":
            return "2024-05-01"
        if field.type == "datetime":
            return "2024-05-01T09:00:00+08:00"
        if field.type == "enum":
            return field.choices[0].value
        if field.type == "boolean":
            return True
        raise AssertionError(f"no sample value for the {field.type} field {entity.name}.{field.name}")
