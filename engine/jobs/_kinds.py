"""The kinds of job: what each takes (checked when it is submitted) and how it runs.

A kind is a name, its parameters, a check against the live definitions (so an unknown
entity, scoring or preset is refused when the job is submitted, not minutes later in a
worker) and a function that runs it with a :class:`~engine.progress.Progress` and answers
``(result, error)``: a JSON-able result, and an error when the job failed though it ran
(a scorer that broke). Errors it raises fail the job with their message.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import CrmError, Problem, UsageError
from engine.progress import Progress

if TYPE_CHECKING:
    from engine.runtime import CrmEngine
    from engine.users import User

JobKindName = Literal["score_run", "import", "preset_load", "duplicates_scan"]
#: Demo records a preset-load job may ask for.
MAX_DEMO = 200_000
#: The largest CSV an import job carries (it is stored with the job until it ran).
MAX_CSV_BYTES = 64 * 1024 * 1024


class InvalidJobError(CrmError):
    """A job submitted with an unknown kind or bad parameters; problems carry pointers."""

    code = "invalid_job"
    exit_code = 2
    http_status = 422


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its JSON type, whether it is required, and its bounds."""

    type: Literal["string", "integer", "boolean"]
    required: bool = False
    choices: tuple[str, ...] = ()
    maximum: int | None = None


Outcome = tuple[Any, str | None]
Runner = Callable[["CrmEngine", Mapping[str, Any], "User", Progress], Outcome]
Checker = Callable[["CrmEngine", Mapping[str, Any]], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    params: Mapping[str, Param]
    check: Checker
    run: Runner


def _problem(key: str, code: str, message: str) -> Problem:
    return Problem(code=code, message=message, pointer=f"/params/{key}" if key else "/params")


def _checked_value(key: str, spec: Param, value: Any) -> Problem | None:
    if spec.type == "boolean":
        return None if isinstance(value, bool) else _problem(key, "type", "expected true or false")
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return _problem(key, "type", "expected a whole number, 0 or more")
        if spec.maximum is not None and value > spec.maximum:
            return _problem(key, "maximum", f"at most {spec.maximum}")
        return None
    if not isinstance(value, str) or not value:
        return _problem(key, "type", "expected a non-empty string")
    if spec.choices and value not in spec.choices:
        return _problem(key, "choices", f"expected one of {', '.join(spec.choices)}")
    return None


def check_params(kind: str, params: Any) -> dict[str, Any]:
    """``params`` checked against the kind's parameters (every problem at once).

    :raises InvalidJobError: an unknown kind (pointer ``/kind``) or bad parameters
        (pointers ``/params/<name>``).
    """
    if not kind:
        raise InvalidJobError(
            "a job needs a kind",
            [Problem(code="required", message="expected one of " + ", ".join(sorted(KINDS)), pointer="/kind")],
        )
    found = KINDS.get(kind)
    if found is None:
        known = ", ".join(sorted(KINDS))
        raise InvalidJobError(
            f'there is no job kind "{kind}"; known kinds: {known}',
            [Problem(code="unknown_kind", message=f"expected one of {known}", pointer="/kind")],
        )
    if not isinstance(params, Mapping):
        raise InvalidJobError("params: expected an object", [_problem("", "type", "expected an object")])
    problems = [
        _problem(key, "unknown_param", f"{kind} takes {', '.join(found.params)}")
        for key in params
        if key not in found.params
    ]
    for key, spec in found.params.items():
        if key not in params or params[key] is None:
            if spec.required:
                problems.append(_problem(key, "required", f"{kind} needs {key}"))
            continue
        problem = _checked_value(key, spec, params[key])
        if problem is not None:
            problems.append(problem)
    if problems:
        raise InvalidJobError(f"invalid parameters for a {kind} job", problems)
    return {k: v for k, v in params.items() if v is not None}


def _refused(key: str, error: UsageError) -> InvalidJobError:
    """A name in the parameters the live definitions do not have, pointed at."""
    code = error.problems[0].code if error.problems else "unknown_name"
    return InvalidJobError(f"{key}: {error.message}", [_problem(key, code, error.message)])


# -- score runs -----------------------------------------------------------------------------


def _check_score_run(engine: CrmEngine, params: Mapping[str, Any]) -> None:
    entity, scoring = params.get("entity"), params.get("scoring")
    try:
        if entity is not None:
            engine.entity(entity)
    except UsageError as error:
        raise _refused("entity", error) from None
    try:
        found = engine.scoring.definitions(entity=entity, scoring=scoring)
    except UsageError as error:
        raise _refused("scoring", error) from None
    if not found:
        problem = _problem("entity" if entity else "", "no_scoring", "no scoring is defined for what you named")
        raise InvalidJobError(problem.message, [problem])


def _run_score_run(engine: CrmEngine, params: Mapping[str, Any], user: User, progress: Progress) -> Outcome:
    runs = engine.scoring.run(entity=params.get("entity"), scoring=params.get("scoring"), progress=progress)
    errors = [r.error for r in runs if r.error]
    return {"runs": [r.to_json() for r in runs]}, ("; ".join(errors) if errors else None)


# -- imports --------------------------------------------------------------------------------


def _check_import(engine: CrmEngine, params: Mapping[str, Any]) -> None:
    try:
        entity = engine.entity(params["entity"])
    except UsageError as error:
        raise _refused("entity", error) from None
    from engine.transfer import ImportFormat, delimiter_of

    try:
        ImportFormat(delimiter=delimiter_of(params.get("delimiter")))
    except UsageError as error:
        raise _refused("delimiter", error) from None
    key = params.get("key")
    if key is not None and key != "id" and key not in entity.fields:
        raise InvalidJobError(
            f'{entity.name} has no field "{key}"', [_problem("key", "unknown_field", "no such field")]
        )
    if len(params["csv"].encode("utf-8")) > MAX_CSV_BYTES:
        problem = _problem("csv", "maximum", f"the CSV may have at most {MAX_CSV_BYTES} bytes")
        raise InvalidJobError(problem.message, [problem])


def _run_import(engine: CrmEngine, params: Mapping[str, Any], user: User, progress: Progress) -> Outcome:
    from engine.transfer import ImportFormat, delimiter_of, import_csv

    on_error: Literal["abort", "skip"] = "skip" if params.get("on_error") == "skip" else "abort"
    file_format = ImportFormat(delimiter=delimiter_of(params.get("delimiter")))
    with tempfile.TemporaryDirectory(prefix="crm-job-") as folder:
        path = Path(folder) / "import.csv"
        path.write_text(params["csv"], encoding="utf-8")
        report = import_csv(
            engine,
            params["entity"],
            path,
            on_error=on_error,
            key=params.get("key"),
            actor=user,
            progress=progress,
            dry_run=bool(params.get("dry_run", False)),
            file_format=file_format,
            allow_duplicate=bool(params.get("allow_duplicate", False)),
        )
    return report.to_json(), None


# -- preset loads ---------------------------------------------------------------------------


def _check_preset_load(engine: CrmEngine, params: Mapping[str, Any]) -> None:
    from engine.presets import resolve

    try:
        resolve(params["name"], params.get("industry"))
    except UsageError as error:
        raise _refused("industry" if "industry" in error.message else "name", error) from None


def _run_preset_load(engine: CrmEngine, params: Mapping[str, Any], user: User, progress: Progress) -> Outcome:
    from engine.presets import generate_demo, load_preset, resolve

    name, industry = params["name"], params.get("industry")
    loaded = load_preset(
        engine,
        name,
        industry=industry,
        allow_data_loss=bool(params.get("allow_data_loss", False)),
        actor=user.name,
        progress=progress,
    )
    result: dict[str, Any] = {
        "version": loaded.version,
        "presets": list(loaded.bundles),
        "changes": len(loaded.plan.steps),
    }
    demo = int(params.get("demo", 0))
    if demo:
        preset = resolve(name, industry).name
        result["demo"] = generate_demo(engine, preset, demo, seed=int(params.get("seed", 7)), progress=progress)
    return result, None


# -- duplicate scans ------------------------------------------------------------------------


def _check_duplicates_scan(engine: CrmEngine, params: Mapping[str, Any]) -> None:
    try:
        entity = engine.entity(params["entity"])
    except UsageError as error:
        raise _refused("entity", error) from None
    rules = [r.name for r in entity.duplicates]
    rule = params.get("rule")
    if not rules or (rule is not None and rule not in rules):
        key = "entity" if not rules else "rule"
        problem = _problem(key, "unknown_rule", f"{entity.name}'s duplicate rules: {', '.join(rules) or 'none'}")
        raise InvalidJobError(problem.message, [problem])


def _run_duplicates_scan(engine: CrmEngine, params: Mapping[str, Any], user: User, progress: Progress) -> Outcome:
    groups = engine.duplicates.scan(params["entity"], actor=user, rule=params.get("rule"), progress=progress)
    return {"entity": params["entity"], "groups": [g.to_json() for g in groups]}, None


KINDS: Mapping[str, JobKind] = {
    "score_run": JobKind(
        "score_run",
        {"entity": Param("string"), "scoring": Param("string")},
        _check_score_run,
        _run_score_run,
    ),
    "import": JobKind(
        "import",
        {
            "entity": Param("string", required=True),
            "csv": Param("string", required=True),
            "on_error": Param("string", choices=("abort", "skip")),
            "key": Param("string"),
            "dry_run": Param("boolean"),
            "allow_duplicate": Param("boolean"),
            "delimiter": Param("string"),
        },
        _check_import,
        _run_import,
    ),
    "preset_load": JobKind(
        "preset_load",
        {
            "name": Param("string", required=True),
            "industry": Param("string"),
            "demo": Param("integer", maximum=MAX_DEMO),
            "seed": Param("integer", maximum=2**31 - 1),
            "allow_data_loss": Param("boolean"),
        },
        _check_preset_load,
        _run_preset_load,
    ),
    "duplicates_scan": JobKind(
        "duplicates_scan",
        {"entity": Param("string", required=True), "rule": Param("string")},
        _check_duplicates_scan,
        _run_duplicates_scan,
    ),
}
