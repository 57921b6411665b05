"""Check a scoring's configuration: against its scorer's JSON Schema, and its rules.

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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from engine.errors import Problem
from engine.logic import LogicError, compile_rule
from engine.metadata._problems import did_you_mean, problem, quoted_list
from engine.metadata._schemas import StrictValidator, value_problems
from engine.metadata._scoring_drafts import ConfigPath, ScoringDraft
from engine.metadata._workflow_rules import relocated_rule_problem

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
