"""The ``scoring`` document kind: scorings are checked and frozen once entities and
workflows are (their configurations against the scorers' JSON Schemas), written back in
the stored form, and described by the :data:`SCORING` kind.

Check a scoring's configuration: against its scorer's JSON Schema, and its rules.

This package never imports plugins: the caller passes the schemas of the scorers it has
(``scorer_schemas``: scorer name → JSON Schema of its config; ``crm schema validate``
passes those of the installed scorers). Without them the scorer's name and its
configuration are not checked here; the scoring service checks them when it runs.

Every error of a configuration is reported, each at its pointer inside ``config`` in the
document that wrote the value (a scoring overlay, when one changed it), with the code
``invalid_config``. A scorer whose own schema is broken is the fault of its plugin,
reported once per scoring as ``broken_scorer`` rather than raised.

What a scorer makes of JSON Logic rules is its business, but a rule under a key named
``when`` is checked with ``engine.logic`` wherever it appears, which catches a mistyped
operator when the definitions load instead of when a score runs.

Freeze scoring drafts into :class:`ScoringDef` objects and check them against the
entities and workflows: the scored entity, the target fields, the configuration (checked
above), and the scorings that workflows' ``rescore`` actions name.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from engine.errors import Problem
from engine.logic import LogicError, compile_rule
from engine.metadata._cron import cron_problem
from engine.metadata._entities import Lookup, driven_map
from engine.metadata._field_types import NUMBER_TYPES
from engine.metadata._fields import label_or_derived
from engine.metadata._model import EntityDef, ScoringDef, SourceRef, Trigger
from engine.metadata._names import derive_label
from engine.metadata._pipeline import SCHEMA_VERSION, DocumentKind, OverlayKind, Resolution, sees
from engine.metadata._problems import child, did_you_mean, problem, quoted_list
from engine.metadata._schemas import StrictValidator, value_problems
from engine.metadata._scoring_drafts import ConfigPath, ScoringDraft, apply_scoring_overlays, scoring_draft
from engine.metadata._workflow_actions import relocated_rule_problem
from engine.metadata._workflow_drafts import WorkflowDraft
from engine.metadata._workflow_model import WorkflowDef

#: The key under which a configuration holds JSON Logic rules this package checks.
RULE_KEY = "when"


@dataclass
class ScorerValidators:
    """The scorers' schemas of one load, each turned into a validator once.

    :param schemas: scorer name → JSON Schema of its config; ``None`` when the caller
        has none, and then nothing is checked against them.
    """

    schemas: Mapping[str, Mapping[str, Any]] | None
    _validators: dict[str, Validator | str] = field(default_factory=dict, init=False, repr=False)

    def validator(self, scorer: str) -> Validator | str:
        """The validator of ``scorer``, or the reason its schema cannot be used."""
        if scorer not in self._validators:
            assert self.schemas is not None
            schema = dict(self.schemas[scorer])
            try:
                StrictValidator.check_schema(schema)
            except SchemaError as error:
                self._validators[scorer] = f"{error.message} (at {_path(error.schema_path)})"
            else:
                self._validators[scorer] = StrictValidator(schema)
        return self._validators[scorer]


def config_problems(draft: ScoringDraft, scorers: ScorerValidators) -> list[Problem]:
    """Every problem of the (merged) configuration of ``draft``."""
    problems = _schema_problems(draft, scorers)
    for path, rule in _rules(draft.config, ()):
        problems.extend(_rule_problems(rule, draft, path))
    return problems


def _schema_problems(draft: ScoringDraft, scorers: ScorerValidators) -> list[Problem]:
    if scorers.schemas is None:
        return []
    scorer = str(draft.spec["scorer"])
    if scorer not in scorers.schemas:
        known = sorted(scorers.schemas)
        listed = f" Installed scorers: {quoted_list(known)}." if known else " None is installed."
        message = (
            f"no installed scorer is called {scorer!r}.{did_you_mean(scorer, known)}{listed} "
            "Correct the name, or install the plugin that provides it."
        )
        return [problem("unknown_scorer", message, draft.at("scorer"))]
    validator = scorers.validator(scorer)
    if isinstance(validator, str):
        return [_broken(scorer, validator, draft)]
    try:
        found = value_problems(validator.iter_errors(draft.config), "")
    except (Unresolvable, RecursionError) as error:
        return [_broken(scorer, f"it cannot be evaluated: {error}", draft)]
    problems: list[Problem] = []
    for inner in found:
        where = draft.config_at(_tokens(inner.pointer or ""))
        message = f"the config does not fit the scorer {scorer!r}: {inner.message}"
        problems.append(problem("invalid_config", message, where))
    return problems


def _broken(scorer: str, reason: str, draft: ScoringDraft) -> Problem:
    message = (
        f"the scorer {scorer!r} declares a configuration schema that is not valid JSON "
        f"Schema: {reason}. This is a fault of the plugin providing it: update or fix it."
    )
    return problem("broken_scorer", message, draft.at("scorer"))


def _rules(value: Any, path: ConfigPath) -> Iterator[tuple[ConfigPath, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == RULE_KEY and isinstance(item, dict):
                yield (*path, key), item
            else:
                yield from _rules(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _rules(item, (*path, str(index)))


def _rule_problems(rule: Any, draft: ScoringDraft, path: ConfigPath) -> list[Problem]:
    try:
        # The problems validate_rule gives, without generating code that is thrown away.
        compile_rule(rule, generate_code=False)
    except LogicError as error:
        where = draft.config_at(path)
        return [relocated_rule_problem(p, where) for p in error.problems]
    return []


def _tokens(pointer: str) -> ConfigPath:
    """The reference tokens of an RFC 6901 pointer."""
    if not pointer:
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def _path(parts: Any) -> str:
    return "/" + "/".join(str(p) for p in parts)


#: Every trigger, in the one order a scoring's triggers are kept in.
TRIGGERS: tuple[Trigger, ...] = ("save", "transition", "batch")
#: The triggers of a scoring that names none.
DEFAULT_TRIGGERS: tuple[Trigger, ...] = ("batch",)
#: Field types each target accepts: target option → (types, how the message names them).
_TARGET_TYPES: Mapping[str, tuple[tuple[str, ...], str]] = MappingProxyType(
    {
        "target_value": (tuple(sorted(NUMBER_TYPES)), "an integer, decimal or money field"),
        "target_grade": (("string", "enum"), "a string or enum field"),
    }
)


def build_scorings(
    drafts: Mapping[str, ScoringDraft],
    entities: Lookup,
    *,
    workflows: Mapping[str, WorkflowDef],
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None,
) -> tuple[dict[str, ScoringDef], list[Problem]]:
    """Freeze every scoring draft and check it.

    :param entities: the entities the scorings may name.
    :param workflows: the frozen workflows (a target may not be a field they drive).
    :param scorer_schemas: scorer name → JSON Schema of its config, or ``None`` to leave
        scorers and configurations unchecked.
    """
    lookup = dataclasses.replace(entities, driven=driven_map((w.entity, w.field) for w in workflows.values()))
    scorers = ScorerValidators(scorer_schemas)
    writers: dict[tuple[str, str], ScoringDraft] = {}
    scorings: dict[str, ScoringDef] = {}
    problems: list[Problem] = []
    for name, draft in drafts.items():
        entity_name = str(draft.spec["entity"])
        entity = lookup.entity(entity_name, draft.bundle)
        if entity is None:
            problems.extend(lookup.unknown_entity(entity_name, draft.bundle, draft.at("entity")))
        problems.extend(config_problems(draft, scorers))
        for option in _TARGET_TYPES:
            if entity is not None and option in draft.spec:
                problems.extend(_target_problems(draft, option, entity, lookup, writers))
        if "schedule" in draft.spec and (reason := cron_problem(str(draft.spec["schedule"]))) is not None:
            problems.append(problem("invalid_cron", reason + ".", draft.at("schedule")))
        written = draft.spec.get("triggers", DEFAULT_TRIGGERS)
        scorings[name] = ScoringDef(
            name=name,
            entity=entity_name,
            scorer=str(draft.spec["scorer"]),
            label=label_or_derived(draft.spec, name),
            config=MappingProxyType(copy.deepcopy(draft.config)),
            target_value=draft.spec.get("target_value"),
            target_grade=draft.spec.get("target_grade"),
            triggers=tuple(t for t in TRIGGERS if t in written),
            schedule=draft.spec.get("schedule"),
            source=draft.source,
        )
    return scorings, problems


def _target_problems(
    draft: ScoringDraft,
    option: str,
    entity: EntityDef,
    lookup: Lookup,
    writers: dict[tuple[str, str], ScoringDraft],
) -> list[Problem]:
    name = str(draft.spec[option])
    where = draft.at(option)
    types, wanted = _TARGET_TYPES[option]
    suitable = [f.name for f in entity.fields.values() if f.type in types]
    field = entity.fields.get(name)
    if field is None:
        hint = did_you_mean(name, suitable or list(entity.fields))
        message = f"{name!r} is not a field of {entity.name!r}.{hint}"
        return [problem("unknown_field", message, where)]
    what = "value" if option == "target_value" else "grade"
    if field.type not in types:
        listed = f" Its fields that can: {quoted_list(suitable)}." if suitable else " Add one to the entity."
        message = f"the {what} of a score goes into {wanted}; {name!r} is a {field.type} field.{listed}"
        return [problem("invalid_target", message, where)]
    if name in lookup.driven_fields(entity.name):
        message = (
            f"{name!r} of {entity.name!r} is driven by a workflow: it changes only by its "
            f"transitions, so a score cannot be written into it. Write the {what} into "
            "another field."
        )
        return [problem("invalid_target", message, where)]
    first = writers.setdefault((entity.name, name), draft)
    if first is not draft:
        message = (
            f"the scoring {first.name!r} ({first.source.file}) already writes into "
            f"{name!r}; two scorings writing one field would overwrite each other. Give "
            "each its own field."
        )
        return [problem("invalid_target", message, where)]
    return []


def rescore_problems(
    workflows: Mapping[str, WorkflowDraft],
    scorings: Mapping[str, ScoringDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken_scorings: Iterable[str] = (),
) -> list[Problem]:
    """``unknown_scoring`` problems of the ``rescore`` actions of ``workflows``: each
    scoring named must be one its bundle can see, of the workflow's entity."""
    broken = set(broken_scorings)
    problems: list[Problem] = []
    for workflow in workflows.values():
        entity = str(workflow.spec["entity"])
        for bundle, actions, where in _action_lists(workflow):
            for index, action in enumerate(actions):
                body = action.get("rescore")
                if not isinstance(body, Mapping):
                    continue
                for position, name in enumerate(body.get("scorings", ())):
                    at = child(where, index, "rescore", "scorings", position)
                    found = _rescore_problem(name, entity, bundle, at, scorings, ancestors, broken)
                    if found is not None:
                        problems.append(found)
    return problems


def _action_lists(
    workflow: WorkflowDraft,
) -> Iterator[tuple[str, list[Mapping[str, Any]], SourceRef]]:
    """(bundle, actions, where) of every action list of a workflow: each transition's and
    each escalation's (overlays cannot change actions, so the part's bundle wrote them)."""
    for transition in workflow.transitions.values():
        if "actions" in transition.spec:
            yield transition.bundle, transition.spec["actions"], transition.at("actions")
    for state in workflow.states.values():
        escalation = state.spec.get("escalation")
        if isinstance(escalation, Mapping) and "actions" in escalation:
            where = child(state.at("escalation"), "actions")
            yield state.bundle, escalation["actions"], where


def _rescore_problem(
    name: str,
    entity: str,
    bundle: str,
    where: SourceRef,
    scorings: Mapping[str, ScoringDraft],
    ancestors: Mapping[str, frozenset[str]],
    broken: set[str],
) -> Problem | None:
    scoring = scorings.get(name)
    if scoring is None and name in broken:
        return None  # its own document's problems are reported already
    if scoring is not None and sees(bundle, scoring.bundle, ancestors):
        scored = str(scoring.spec["entity"])
        if scored == entity:
            return None
        message = (
            f"the scoring {name!r} scores {scored!r} records, and this workflow's records "
            f"are {entity!r}; name a scoring of {entity!r}, or leave scorings out to rescore "
            "all of them."
        )
        return problem("unknown_scoring", message, where)
    if scoring is not None:
        hint = (
            f" It is defined in bundle {scoring.bundle!r}, which bundle {bundle!r} does not extend; add it to extends."
        )
    else:
        visible = [n for n, s in scorings.items() if sees(bundle, s.bundle, ancestors) and s.spec["entity"] == entity]
        hint = did_you_mean(name, visible) + " Define the scoring, or correct the name."
    message = f"{name!r} is not a scoring this bundle can see.{hint}"
    return problem("unknown_scoring", message, where)


def scoring_to_json(scoring: ScoringDef) -> dict[str, Any]:
    """One scoring as a scoring document with only non-default keys."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "scoring",
        "name": scoring.name,
        "entity": scoring.entity,
        "scorer": scoring.scorer,
    }
    if scoring.label != derive_label(scoring.name):
        out["label"] = scoring.label.to_json()
    if scoring.config:
        out["config"] = copy.deepcopy(dict(scoring.config))
    target = {
        key: value
        for key, value in (("value", scoring.target_value), ("grade", scoring.target_grade))
        if value is not None
    }
    if target:
        out["target"] = target
    if scoring.triggers != DEFAULT_TRIGGERS:
        out["triggers"] = list(scoring.triggers)
    if scoring.schedule is not None:
        out["schedule"] = scoring.schedule
    return out


def _build(resolution: Resolution) -> tuple[Mapping[str, ScoringDef], list[Problem]]:
    return build_scorings(
        resolution.drafts("scoring"),
        Lookup.of(resolution),
        workflows=resolution.definitions("workflow"),
        scorer_schemas=resolution.scorer_schemas,
    )


def _rescore_problems(resolution: Resolution) -> list[Problem]:
    return rescore_problems(
        resolution.drafts("workflow"), resolution.drafts("scoring"), resolution.ancestors, resolution.broken("scoring")
    )


SCORING = DocumentKind(
    name="scoring",
    plural="scorings",
    summary="how a scorer scores an entity's records, and where the score goes",
    draft=scoring_draft,
    build=_build,
    to_json=lambda scoring, _definitions: scoring_to_json(scoring),
    duplicate_hint=", or change the existing one with a scoring_overlay document",
    overlay=OverlayKind("changes to an inherited scoring's configuration, target and triggers", apply_scoring_overlays),
    after=("entity", "workflow"),
    checks=(_rescore_problems,),
)
