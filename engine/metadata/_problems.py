"""Problem codes of the definition language and small helpers to build located problems.

Every code a definition problem can carry is listed in :data:`PROBLEM_CODES` with a one-line
summary; ``docs/definitions.md`` documents each of them and the tests check that both stay
complete. Codes are stable: tools and tests match on them, never on message text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from engine import suggestions
from engine.errors import Problem
from engine.metadata._model import SourceRef

PROBLEM_CODES: Mapping[str, str] = MappingProxyType(
    {
        # files and documents
        "path_not_found": "the path given to the loader does not exist",
        "missing_bundle_file": "a bundle directory has no bundle.json",
        "unreadable_file": "a file could not be read",
        "invalid_encoding": "a file is not UTF-8",
        "empty_file": "a file is empty",
        "invalid_json": "a file is not valid JSON",
        "too_deep": "a document nests objects or arrays too deeply",
        "duplicate_key": "an object has the same key twice",
        "not_an_object": "a document is not a JSON object",
        "unsupported_schema_version": "schema_version is not 1",
        "unknown_kind": "kind names no known document kind",
        "unexpected_kind": "a document kind in the wrong place",
        # meta-schema
        "required": "a required key is missing",
        "unknown_key": "a key the document kind does not define",
        "inapplicable_option": "a field option that does not apply to the field's type",
        "not_changeable": "change_fields changes a property that overlays may not change",
        "type": "a value has the wrong JSON type",
        "enum": "a value is not one of the allowed values",
        "unknown_type": "a field type that does not exist",
        "invalid_name": "an identifier that is not snake_case or is too long",
        "pattern": "a string value has the wrong form",
        "too_short": "a string, list or object is too short or empty",
        "too_long": "a string, list or object is too long",
        "out_of_range": "a number is outside its allowed range",
        "duplicate_item": "a list has the same item twice",
        "unknown_item": "a scoring overlay edits an item, or a list of named items, the configuration does not have",
        "invalid": "a value is invalid in another way",
        "invalid_character": "a text holds a NUL character or a lone surrogate",
        # names
        "reserved_name": "a name the engine reserves for itself",
        "sql_keyword": "a field name that is an SQL reserved word",
        # fields
        "invalid_default": "a default value the field itself would reject",
        "invalid_bounds": "minimum/maximum or min_length/max_length contradict each other",
        "invalid_pattern": "a pattern that is not a valid regular expression",
        "invalid_scale": "scale is larger than precision",
        "precision_too_large": "a decimal or money precision above 18 digits, applied to a SQLite database",
        "duplicate_choice": "the same choice value twice",
        "invalid_on_delete": "on_delete set_null on a required reference",
        "autonumber_counter": "an autonumber pattern without exactly one counter {#…#} of 1 to 12 #",
        "autonumber_token": "an autonumber pattern with an unknown {token} or an unmatched brace",
        # entities
        "unknown_field": "a name that is not a field of the entity",
        "unknown_target": "a reference to an entity that is not defined",
        "derived_conflict": "an option that cannot go with compute or rollup",
        "invalid_path": "a compute or rollup reads a path that is not a field or follows a non-reference",
        "now_not_allowed": "a compute without a daily refresh, or a rollup's where, reads now",
        "rollup_mismatch": "a rollup's reference, field or function does not fit",
        "dependency_cycle": "derived fields that depend on each other in a loop",
        "duplicate_entity": "two documents define the same entity",
        "renamed_from_clash": "renamed_from names something that still exists or is claimed twice",
        "duplicate_rule_exists": "two duplicate rules of an entity have the same name",
        "inapplicable_method": "a duplicate rule compares a non-text field with similar",
        # bundles
        "unknown_bundle": "extends names a preset or path that does not exist",
        "ambiguous_bundle": "extends names a preset found in two preset directories",
        "duplicate_bundle": "two different bundles have the same name",
        "extends_cycle": "bundles extend each other in a cycle",
        "link_outside_bundle": "a symbolic link in a bundle points outside the bundle's directory",
        # overlays
        "unknown_entity": ("an overlay, workflow, action, scoring or report names an entity no visible bundle has"),
        "field_exists": "an overlay adds a field that already exists",
        "choice_exists": "an overlay adds a choice that already exists",
        "index_exists": "an overlay adds an index or unique constraint that already exists",
        "overlay_clash": "two overlays set the same property to different values",
        # workflows
        "duplicate_workflow": "two documents define the same workflow",
        "field_has_workflow": "two workflows drive the same field",
        "not_enum_field": "a workflow drives a field that is not an enum",
        "state_not_choice": "a workflow state that is not a choice of its field",
        "choice_not_state": "a choice of a workflow's field that is not a state",
        "initial_state": "a workflow without exactly one initial state, or a final initial one",
        "unknown_state": "a transition or report names a state the workflow does not have",
        "unreachable_state": "no transitions lead from the initial state to a state",
        "final_state_exit": "a transition leaves a final state",
        "unknown_transition": "an escalation or overlay names a missing or unsuitable transition",
        "invalid_duration": (
            "a duration that does not fit: max_duration (weeks to seconds) or a rollup window's period (days or weeks)"
        ),
        "unknown_variable": "a rule reads data a workflow rule is not given",
        "state_field_action": "an action sets a field a workflow drives",
        "invalid_action_value": "a literal value in an action that the field would reject",
        "not_user_field": "an assign action's field, or a notify recipient's, cannot hold a user's name",
        "not_reference": (
            "an update or transition action, or a role's read_via, reaches a record through a field that is no "
            "reference to it"
        ),
        "duplicate_created": "two create actions of one list name their record alike (as)",
        # workflow overlays
        "unknown_workflow": ("a workflow overlay or report names a workflow no visible bundle defines"),
        "state_exists": "a workflow or report overlay adds a state that already exists",
        "unknown_report": "a report overlay names a report no visible bundle defines",
        "unknown_measure": "a report overlay replaces or removes a measure the report does not have",
        "measure_exists": "a report overlay adds a measure the report already has",
        "transition_exists": "a workflow overlay adds a transition that already exists",
        # scorings
        "duplicate_scoring": "two documents define the same scoring",
        "unknown_scoring": ("a scoring overlay, rescore action or report names a scoring it cannot use"),
        "unknown_scorer": "a scoring names a scorer that is not installed",
        "invalid_config": "a scoring's config does not fit its scorer's schema",
        "broken_scorer": "a scorer's own config schema is not valid JSON Schema",
        "invalid_target": "a scoring's target is a field that cannot receive the score",
        # reports
        "duplicate_report": "two documents define the same report",
        "unsuitable_field": "a report uses a field whose type does not fit that use",
        "unsorted_bands": "a report groups a number in bands whose bounds are not listed from the lowest up",
        "unknown_param": "a report's filter names a parameter the report does not declare",
        "unknown_column": "a report's sort, having or ratio names a column it does not have",
        "duplicate_column": "two columns of a report have the same name",
        # roles
        "duplicate_role": "two documents define the same role",
        "unknown_role": (
            "a role overlay, workflow or notify recipient names a role no visible bundle defines (once roles exist)"
        ),
        # automations
        "duplicate_automation": "two documents define the same automation",
        "invalid_trigger": "an automation's trigger does not fit its event (a date trigger on a field not a date)",
        "invalid_offset": "a date trigger's offset or catch-up is not a signed duration in days or weeks",
        "invalid_cron": "a schedule trigger's cron is not five valid cron fields",
        "unknown_subscription": "a webhook action names a webhook subscription that does not exist (checked at apply)",
        # views
        "duplicate_view": "two documents define the same view",
        "invalid_relative": "a view's filter has a relative value (@...) that is unknown or does not fit its field",
        # rules (engine.logic) and filters, reported where the rule or filter is written
        "unknown_operator": "a rule or a view's filter uses an operator its language does not have",
        "invalid_operation": "a rule has an object of several keys where an operation belongs",
        "invalid_arguments": "a rule gives an operator arguments it cannot take",
        "rule_too_large": "a rule is larger than the rule language allows",
    }
)


def escape_token(token: str | int) -> str:
    """Escape one RFC 6901 reference token (``~`` → ``~0``, ``/`` → ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """The RFC 6901 pointer made of ``tokens`` (``pointer("fields", "a/b")`` → ``/fields/a~1b``)."""
    return "".join("/" + escape_token(t) for t in tokens)


def child(base: SourceRef, *tokens: str | int) -> SourceRef:
    """``base`` extended by ``tokens`` (same file, deeper pointer)."""
    return SourceRef(base.file, base.pointer + pointer(*tokens))


def problem(code: str, message: str, where: SourceRef | None = None, **extra: object) -> Problem:
    """A :class:`Problem` located at ``where``; ``code`` must be a known problem code."""
    # A typo in a code would silently break every tool matching on it: fail loudly instead.
    assert code in PROBLEM_CODES, f"unregistered problem code {code!r}"
    if where is None:
        return Problem(code, message, **extra)  # type: ignore[arg-type]
    return Problem(code, message, file=where.file, pointer=where.pointer, **extra)  # type: ignore[arg-type]


def file_problem(code: str, message: str, file: str, **extra: object) -> Problem:
    """A problem about a file as a whole (unreadable, not JSON...): no pointer."""
    assert code in PROBLEM_CODES, f"unregistered problem code {code!r}"
    return Problem(code, message, file=file, **extra)  # type: ignore[arg-type]


def unique_problems(problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` without exact repeats, first occurrence kept."""
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def did_you_mean(word: str, candidates: Sequence[str], aliases: Mapping[str, str] = suggestions.NO_ALIASES) -> str:
    """`` Did you mean 'x'?`` for the closest candidate (:func:`engine.suggestions.suggest`),
    or an empty string; definition problems quote names as Python literals."""
    return suggestions.did_you_mean(word, candidates, quote="repr", aliases=aliases)


def quoted_list(words: Iterable[str]) -> str:
    """``'a', 'b', 'c'``."""
    return ", ".join(repr(w) for w in words)
