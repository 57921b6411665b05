"""The canonical resolved form of definitions: what the engine stores and compares.

One JSON document holds every entity with overlays applied and defaults resolved, every
workflow (under ``workflows``), every scoring (under ``scorings``), every report (under
``reports``) and every role (under ``roles``); those keys are present only when there are any. Each entity, workflow,
scoring and report in it is itself a valid document of its kind, so reading it back goes
through the same meta-schema and checks as a file an admin wrote. Only keys whose value
differs from the default are written, in a stable order, so equal definitions give equal
documents and the same digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.errors import DefinitionError
from engine.metadata._documents import SCHEMA_VERSION, check_document
from engine.metadata._drafts import Collection, collect_entity
from engine.metadata._entities import build_entities
from engine.metadata._fields import resolved_precision
from engine.metadata._json_files import check_structure
from engine.metadata._model import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_PRECISION,
    Choice,
    Definitions,
    EntityDef,
    FieldDef,
    SourceRef,
)
from engine.metadata._names import derive_label
from engine.metadata._problems import child, pointer, problem, unique_problems
from engine.metadata._report_canonical import report_to_json
from engine.metadata._report_drafts import collect_report
from engine.metadata._reports import build_reports
from engine.metadata._role_canonical import role_to_json
from engine.metadata._role_drafts import collect_role
from engine.metadata._roles import build_roles, role_reference_problems
from engine.metadata._scoring_canonical import scoring_to_json
from engine.metadata._scoring_drafts import collect_scoring
from engine.metadata._scorings import build_scorings, rescore_problems
from engine.metadata._workflow_canonical import workflow_to_json
from engine.metadata._workflow_drafts import collect_workflow
from engine.metadata._workflows import build_workflows

#: The ``file`` of problems in stored definitions, unless the caller names it.
STORED_FILE = "<definitions>"


def definitions_to_json(definitions: Definitions) -> dict[str, Any]:
    """The canonical resolved form of ``definitions`` (a JSON-ready ``dict``)."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "definitions",
        "name": definitions.name,
        "bundles": list(definitions.bundles),
        "entities": {name: entity_to_json(e) for name, e in definitions.entities.items()},
    }
    # Only when there are any: definitions stored before workflows existed keep their form
    # and their digest.
    if definitions.workflows:
        out["workflows"] = {
            name: workflow_to_json(w, _driven_field(definitions, w.entity, w.field))
            for name, w in definitions.workflows.items()
        }
    # Likewise for scorings.
    if definitions.scorings:
        out["scorings"] = {name: scoring_to_json(s) for name, s in definitions.scorings.items()}
    # And for reports.
    if definitions.reports:
        out["reports"] = {name: report_to_json(r) for name, r in definitions.reports.items()}
    # And for roles.
    if definitions.roles:
        out["roles"] = {name: role_to_json(r) for name, r in definitions.roles.items()}
    return out


def _driven_field(definitions: Definitions, entity: str, field: str) -> FieldDef | None:
    found = definitions.entities.get(entity)
    return None if found is None else found.fields.get(field)


def definitions_from_json(
    data: Any,
    *,
    file: str = STORED_FILE,
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> Definitions:
    """Read the canonical form back (``data`` as ``json.loads`` returns it).

    :param file: how problems name the source (the stored form has no file).
    :param scorer_schemas: scorer name → JSON Schema of its config, to check the stored
        scorings' configurations against (see :func:`load_definitions`); ``None`` leaves
        them unchecked.
    :raises DefinitionError: when ``data`` is not valid stored definitions.
    """
    problems = check_structure(data, file)
    if problems:
        raise DefinitionError(problems)
    document = check_document(data, SourceRef(file), allowed=("definitions",), context="stored definitions")
    if not document.valid:
        raise DefinitionError(document.problems)
    name = str(data["name"])
    collection = Collection()
    for key, entity in data["entities"].items():
        where = SourceRef(file, pointer("entities", key))
        if entity["name"] != key:
            message = f"the entity stored under {key!r} is named {entity['name']!r}; they must match."
            collection.problems.append(problem("invalid", message, child(where, "name")))
            continue
        collect_entity(entity, where, name, collection)
    for key, workflow in data.get("workflows", {}).items():
        where = SourceRef(file, pointer("workflows", key))
        if workflow["name"] != key:
            message = f"the workflow stored under {key!r} is named {workflow['name']!r}; they must match."
            collection.problems.append(problem("invalid", message, child(where, "name")))
            continue
        collect_workflow(workflow, where, name, collection)
    for key, scoring in data.get("scorings", {}).items():
        where = SourceRef(file, pointer("scorings", key))
        if scoring["name"] != key:
            message = f"the scoring stored under {key!r} is named {scoring['name']!r}; they must match."
            collection.problems.append(problem("invalid", message, child(where, "name")))
            continue
        collect_scoring(scoring, where, name, collection)
    for key, report in data.get("reports", {}).items():
        where = SourceRef(file, pointer("reports", key))
        if report["name"] != key:
            message = f"the report stored under {key!r} is named {report['name']!r}; they must match."
            collection.problems.append(problem("invalid", message, child(where, "name")))
            continue
        collect_report(report, where, name, collection)
    for key, role in data.get("roles", {}).items():
        where = SourceRef(file, pointer("roles", key))
        if role["name"] != key:
            message = f"the role stored under {key!r} is named {role['name']!r}; they must match."
            collection.problems.append(problem("invalid", message, child(where, "name")))
            continue
        collect_role(role, where, name, collection)
    ancestors = {name: frozenset[str]()}
    entities, entity_problems = build_entities(collection.entities, ancestors)
    workflows, workflow_problems = build_workflows(collection.workflows, collection.entities, entities, ancestors)
    scorings, scoring_problems = build_scorings(
        collection.scorings,
        collection.entities,
        entities,
        ancestors,
        workflows=workflows,
        scorer_schemas=scorer_schemas,
    )
    reports, report_problems = build_reports(
        collection.reports,
        collection.entities,
        entities,
        ancestors,
        workflow_drafts=collection.workflows,
        workflows=workflows,
        scoring_drafts=collection.scorings,
    )
    roles, role_problems = build_roles(collection.roles, collection.entities, entities, ancestors)
    problems = unique_problems(
        [
            *collection.problems,
            *entity_problems,
            *workflow_problems,
            *scoring_problems,
            *rescore_problems(collection.workflows, collection.scorings, ancestors),
            *report_problems,
            *role_problems,
            *role_reference_problems(roles, workflows, collection.workflows),
        ]
    )
    if problems:
        raise DefinitionError(problems)
    return Definitions(
        name=name,
        entities=entities,
        bundles=tuple(data["bundles"]),
        workflows=workflows,
        scorings=scorings,
        reports=reports,
        roles=roles,
    )


def definitions_digest(definitions: Definitions) -> str:
    """SHA-256 (hex) of the canonical form as JSON with sorted keys and no whitespace."""
    text = json.dumps(
        definitions_to_json(definitions),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entity_to_json(entity: EntityDef) -> dict[str, Any]:
    """One entity as an entity document with only non-default keys."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "kind": "entity", "name": entity.name}
    if entity.label != derive_label(entity.name):
        out["label"] = entity.label.to_json()
    if entity.description is not None:
        out["description"] = entity.description.to_json()
    if entity.display is not None:
        out["display"] = entity.display
    if entity.renamed_from is not None:
        out["renamed_from"] = entity.renamed_from
    out["fields"] = {name: field_to_json(f) for name, f in entity.fields.items()}
    if entity.indexes:
        out["indexes"] = [list(names) for names in entity.indexes]
    if entity.unique:
        out["unique"] = [list(names) for names in entity.unique]
    return out


def field_to_json(field: FieldDef) -> dict[str, Any]:
    """One field as written in an entity document, with only non-default keys."""
    out: dict[str, Any] = {"type": field.type}
    if field.label != derive_label(field.name):
        out["label"] = field.label.to_json()
    if field.description is not None:
        out["description"] = field.description.to_json()
    for option, bound in (("minimum", field.minimum), ("maximum", field.maximum)):
        if bound is not None:
            out[option] = _bound_to_json(bound)
    if field.min_length is not None:
        out["min_length"] = field.min_length
    if field.max_length is not None and field.max_length != DEFAULT_MAX_LENGTH.get(field.type):
        out["max_length"] = field.max_length
    if field.pattern is not None:
        out["pattern"] = field.pattern
    if field.type in DEFAULT_PRECISION and field.precision is not None:
        written = None
        if field.precision != DEFAULT_PRECISION[field.type][0]:
            out["precision"] = written = field.precision
        if field.scale != resolved_precision(field.type, written, None)[1]:
            out["scale"] = field.scale
    if field.choices:
        out["choices"] = [_choice_to_json(c) for c in field.choices]
    if field.target is not None:
        out["target"] = field.target
    if field.on_delete != "restrict":
        out["on_delete"] = field.on_delete
    for flag in ("required", "unique", "index", "read_only"):
        if getattr(field, flag):
            out[flag] = True
    if field.has_default:
        out["default"] = field.default
    if field.renamed_from is not None:
        out["renamed_from"] = field.renamed_from
    return out


def _choice_to_json(choice: Choice) -> str | dict[str, Any]:
    if choice.label == derive_label(choice.value):
        return choice.value
    return {"value": choice.value, "label": choice.label.to_json()}


def _bound_to_json(value: Decimal) -> int | str:
    # Whole numbers as JSON integers; anything else as a decimal string, which keeps every
    # digit (a float would not). Formatting with "f" never produces an exponent.
    text = format(value, "f")
    whole, _, fraction = text.partition(".")
    if not fraction.strip("0"):
        return int(whole)
    return text
