"""The live definitions in the API's JSON form.

Unlike the stored canonical form (only non-default keys), this spells every resolved option
out, so a client builds forms and tables without knowing the defaults: each field's type,
whether it is required, its limits and choices, and every label in English and Chinese.
"""

from __future__ import annotations

from typing import Any

from engine.metadata import NO_DEFAULT, Definitions, EntityDef, FieldDef, Label, ScoringDef
from engine.storage import to_jsonable
from engine.workflow import WorkflowView


def label_json(label: Label | None) -> dict[str, str | None] | None:
    return None if label is None else {"en": label.en, "zh": label.zh}


def field_json(f: FieldDef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f.name,
        "type": f.type,
        "label": label_json(f.label),
        "required": f.required,
        "unique": f.unique,
        "read_only": f.read_only or f.derived,
    }
    if f.compute is not None:
        out["compute"] = f.compute
    if f.rollup is not None:
        out["rollup"] = f.rollup.to_json()
    for key in ("required_when", "read_only_when"):
        if getattr(f, key) is not None:
            out[key] = getattr(f, key)
    if f.description is not None:
        out["description"] = label_json(f.description)
    if f.default is not NO_DEFAULT:
        out["default"] = to_jsonable(f.default)
    for key in ("min_length", "max_length", "pattern", "number_pattern", "precision", "scale", "target"):
        value = getattr(f, key)
        if value is not None:
            out[key] = value
    for key in ("minimum", "maximum"):
        value = getattr(f, key)
        if value is not None:
            out[key] = format(value, "f")
    if f.type == "reference":
        out["on_delete"] = f.on_delete
    if f.choices:
        out["choices"] = [{"value": c.value, "label": label_json(c.label)} for c in f.choices]
    return out


def entity_summary(entity: EntityDef) -> dict[str, Any]:
    return {
        "name": entity.name,
        "label": label_json(entity.label),
        "display": entity.display,
        "fields": len(entity.fields),
    }


def entity_json(entity: EntityDef, definitions: Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": entity.name,
        "label": label_json(entity.label),
        "display": entity.display,
        "fields": [field_json(f) for f in entity.fields.values()],
        "unique": [list(cols) for cols in entity.unique],
        "indexes": [list(cols) for cols in entity.indexes],
        "workflows": [w.name for w in definitions.workflows_for(entity.name)],
        "scorings": [s.name for s in definitions.scorings_for(entity.name)],
    }
    if entity.description is not None:
        out["description"] = label_json(entity.description)
    return out


def workflow_json(view: WorkflowView) -> dict[str, Any]:
    workflow = view.definition
    return {
        "name": workflow.name,
        "entity": workflow.entity,
        "field": workflow.field,
        "label": label_json(workflow.label),
        "initial_state": workflow.initial_state,
        "states": [
            {
                "name": s.name,
                "label": label_json(s.label),
                "initial": s.initial,
                "final": s.final,
                "required": list(view.required(s)),
                "requires_hidden_fields": view.requires_hidden(s),
                "read_only": list(view.read_only(s)),
            }
            for s in workflow.states.values()
        ],
        "transitions": [
            {
                "name": t.name,
                "label": label_json(t.label),
                "from": list(t.from_states),
                "to": t.to_state,
                "roles": list(t.roles),
                "guarded": t.when is not None,
                "not_by_creator": t.not_by_creator,
                "inputs": [
                    {
                        "name": i.name,
                        "type": i.type,
                        "label": label_json(i.label),
                        "required": i.required,
                        **({"choices": list(i.choices)} if i.choices else {}),
                        **({"max_length": i.max_length} if i.max_length is not None else {}),
                    }
                    for i in t.inputs.values()
                ],
            }
            for t in workflow.transitions.values()
        ],
    }


def scoring_json(scoring: ScoringDef) -> dict[str, Any]:
    return {
        "name": scoring.name,
        "entity": scoring.entity,
        "scorer": scoring.scorer,
        "label": label_json(scoring.label),
        "target": {"value": scoring.target_value, "grade": scoring.target_grade},
        "triggers": list(scoring.triggers),
    }
