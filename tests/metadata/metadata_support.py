"""Helpers shared by the definition-language tests: fixture paths and document builders.

A plain module, not conftest.py, so that test modules can import it by name; the name is
prefixed because test directories without ``__init__.py`` share one module namespace.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from engine.errors import Problem
from engine.metadata import PROBLEM_CODES

DATA = Path(__file__).parent / "data"
#: The fixture presets; tests pass them as ``preset_dirs``.
PRESETS = DATA / "presets"
#: Fixture bundles: diamonds, cycles, clashes...
BUNDLES = DATA / "bundles"

#: ``write("sales/bundle.json", content)`` → the path written (see the ``write`` fixture).
Writer = Callable[[str, Any], Path]


def write_file(root: Path, relative: str, content: Any) -> Path:
    """Write ``content`` (bytes, str, or a JSON value) to ``root/relative``."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def entity(fields: Any = None, **extra: Any) -> dict[str, Any]:
    """A valid entity document ``deal`` (with a ``title`` field unless ``fields`` is given)."""
    document: dict[str, Any] = {
        "schema_version": 1,
        "kind": "entity",
        "name": "deal",
        "fields": {"title": {"type": "string"}} if fields is None else fields,
    }
    document.update(extra)
    return document


def one_field(**spec: Any) -> dict[str, Any]:
    """An entity document whose only field ``f`` is ``spec``."""
    return entity({"f": spec})


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    """``document`` without ``key``."""
    return {k: v for k, v in document.items() if k != key}


def manifest(name: str, *extends: str) -> dict[str, Any]:
    """A bundle.json document."""
    return {"schema_version": 1, "kind": "bundle", "name": name, "extends": list(extends)}


# workflows --------------------------------------------------------------------------------
#
# The fixtures are in data/workflows: an ``order`` entity with two enum fields, a ``task``
# entity, the example workflow of docs/workflows.md, a second workflow on ``payment``, a
# workflow of tasks, and ``order_score``, the scoring that rescore actions name.

WORKFLOWS = DATA / "workflows"


def fixture(name: str) -> dict[str, Any]:
    """The JSON document ``data/workflows/<name>.json``."""
    value: dict[str, Any] = json.loads((WORKFLOWS / f"{name}.json").read_text(encoding="utf-8"))
    return value


ORDER = fixture("order")
TASK = fixture("task")
EXAMPLE = fixture("order_approval")
PAYMENT = fixture("order_payment")
TASK_FLOW = fixture("task_flow")
ORDER_SCORE = fixture("order_score")

#: The value of an edit that removes the key (see :func:`edited`).
DELETE: Any = object()
#: Pointers the workflow tables use often.
APPROVE = "/transitions/approve"
ACTION = "/transitions/approve/actions/0"
WHEN = "/transitions/approve/when"
SUBMITTED = "/states/submitted"
REASON = "/transitions/reject/inputs/reason"


def edited(base: dict[str, Any], *edits: tuple[str, Any]) -> dict[str, Any]:
    """``base`` with each ``(pointer, value)`` applied (:data:`DELETE` removes the key).

    Steps into lists by index; the pointers are written unescaped.
    """
    document = copy.deepcopy(base)
    for where, value in edits:
        *parents, last = where.strip("/").split("/")
        target: Any = document
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        index: Any = int(last) if isinstance(target, list) else last
        if value is DELETE:
            del target[index]
        else:
            target[index] = value
    return document


def wf(*edits: tuple[str, Any], base: dict[str, Any] = EXAMPLE) -> dict[str, Any]:
    """The example workflow (or ``base``) with ``edits`` applied."""
    return edited(base, *edits)


def actions(*items: Any) -> tuple[str, Any]:
    """The edit giving ``approve`` these actions."""
    return (f"{APPROVE}/actions", list(items))


def guard(rule: Any) -> tuple[str, Any]:
    """The edit giving ``approve`` this guard."""
    return (WHEN, rule)


def app(write: Writer, *documents: tuple[str, Any]) -> Path:
    """A bundle ``app``: the order and task entities, ``order_score``, and ``documents``
    (file, content)."""
    write("app/order.json", ORDER)
    write("app/task.json", TASK)
    write("app/order_score.json", ORDER_SCORE)
    for file, document in documents:
        write(f"app/{file}", document)
    return write("app/bundle.json", manifest("app")).parent


def located(problems: Sequence[Problem]) -> list[tuple[str | None, str, str | None]]:
    """(file, code, pointer) of each problem."""
    return [(p.file, p.code, p.pointer) for p in problems]


def overlay(**body: Any) -> dict[str, Any]:
    """A workflow overlay of ``order_approval``."""
    return {"schema_version": 1, "kind": "workflow_overlay", "workflow": "order_approval", **body}


def choices_overlay(*values: str) -> dict[str, Any]:
    """An entity overlay adding ``values`` to the choices of the order's ``status``."""
    change = {"status": {"add_choices": list(values)}}
    document = {"schema_version": 1, "kind": "entity_overlay", "entity": "order"}
    return {**document, "change_fields": change}


def layered(write: Writer, *documents: tuple[str, Any]) -> Path:
    """``core`` (the entities and the example workflow) and ``app`` extending it, with
    ``documents`` written as ``(bundle/file, content)``."""
    write("core/bundle.json", manifest("core"))
    write("core/order.json", ORDER)
    write("core/task.json", TASK)
    write("core/workflow.json", EXAMPLE)
    for file, document in documents:
        write(file, document)
    return write("app/bundle.json", manifest("app", "../core")).parent


# random documents -------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def json_values(words: Sequence[str]) -> st.SearchStrategy[Any]:
    """Small JSON values, strings often taken from ``words``."""
    keys = st.sampled_from(words) | st.text(max_size=8)
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from(words)
        | st.text(max_size=12),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=10,
    )


def _paths(value: Any, path: tuple[Any, ...] = (), *, leaves: bool) -> list[tuple[Any, ...]]:
    """The paths of the containers (or of the leaves) of ``value``."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [path] if leaves else []
    found = [] if leaves else [path]
    for key, item in items:
        found.extend(_paths(item, (*path, key), leaves=leaves))
    return found


def mutated(document: Any, words: Sequence[str]) -> st.SearchStrategy[Any]:
    """``document`` with one to three random changes at random places."""
    keys = st.sampled_from(words) | st.text(max_size=8)
    values = json_values(words)

    @st.composite
    def strategy(draw: st.DrawFn) -> Any:
        changed = copy.deepcopy(document)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            target = changed
            for step in draw(st.sampled_from(_paths(changed, leaves=False))):
                target = target[step]
            if isinstance(target, dict):
                key = draw(st.sampled_from(list(target)) | keys) if target else draw(keys)
                if key in target and draw(st.booleans()):
                    del target[key]
                else:
                    target[key] = draw(values)
            elif target and draw(st.booleans()):
                target[draw(st.integers(min_value=0, max_value=len(target) - 1))] = draw(values)
            else:
                target.append(draw(values))
        return changed

    return strategy()


def reworded(document: Any, words: Sequence[str]) -> st.SearchStrategy[Any]:
    """``document`` with one to three values replaced by ``words``: still well formed, so
    the semantic checks see it (a state that is not one, a field...)."""

    @st.composite
    def strategy(draw: st.DrawFn) -> Any:
        changed = copy.deepcopy(document)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            *parents, last = draw(st.sampled_from([p for p in _paths(changed, leaves=True) if p]))
            target = changed
            for step in parents:
                target = target[step]
            target[last] = draw(st.sampled_from(words) | st.booleans())
        return changed

    return strategy()


def check_problems(problems: Sequence[Problem]) -> None:
    """Each problem is a registered code with a message and a file."""
    for p in problems:
        assert isinstance(p, Problem)
        assert p.code in PROBLEM_CODES
        assert p.message and p.file
