"""Bad automation documents are refused when definitions load, each problem with its file,
pointer and code; good ones round-trip through the stored form."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionError
from engine.metadata import definitions_from_json, definitions_to_json, load_definitions
from tests.automations import bundle


def problems_of(tmp_path: Path, *automations: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    with pytest.raises(DefinitionError) as refused:
        load_definitions(bundle.write(tmp_path, list(automations)))
    return [(p.code, p.file and Path(p.file).name, p.pointer) for p in refused.value.problems]


def renewal(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(bundle.RENEWAL)
    doc.update(changes)
    return doc


def with_trigger(**trigger: Any) -> dict[str, Any]:
    return renewal(trigger=trigger)


def with_actions(*actions: Any, entity: str = "agreement") -> dict[str, Any]:
    return renewal(actions=list(actions), entity=entity, when={"==": [1, 1]})


FILE = "auto_renewal_reminder.json"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(renewal(entity="agreemnt"), ("unknown_entity", FILE, "/entity"), id="unknown-entity"),
        pytest.param(
            with_trigger(event="date", field="title", offset="-P60D"),
            ("invalid_trigger", FILE, "/trigger/field"),
            id="date-trigger-on-a-text-field",
        ),
        pytest.param(
            with_trigger(event="date", offset="-P60D"), ("invalid_trigger", FILE, "/trigger"), id="date-without-field"
        ),
        pytest.param(
            with_trigger(event="created", fields=["title"]),
            ("invalid_trigger", FILE, "/trigger/fields"),
            id="fields-on-a-created-trigger",
        ),
        pytest.param(
            with_trigger(event="date", field="end_dat", offset="-P60D"),
            ("unknown_field", FILE, "/trigger/field"),
            id="unknown-date-field",
        ),
        pytest.param(
            with_trigger(event="updated", fields=["titel"]),
            ("unknown_field", FILE, "/trigger/fields/0"),
            id="unknown-watched-field",
        ),
        pytest.param(
            with_trigger(event="transitioned", transitions=["expier"]),
            ("unknown_transition", FILE, "/trigger/transitions/0"),
            id="unknown-transition-in-trigger",
        ),
        pytest.param(
            with_trigger(event="date", field="end_date", offset="-60D"),
            ("invalid_offset", FILE, "/trigger/offset"),
            id="offset-without-P",
        ),
        pytest.param(
            with_trigger(event="date", field="end_date", offset="P2M"),
            ("invalid_offset", FILE, "/trigger/offset"),
            id="offset-in-months",
        ),
        pytest.param(
            with_trigger(event="date", field="end_date", offset="P1D", catch_up="PT4H"),
            ("invalid_offset", FILE, "/trigger/catch_up"),
            id="catch-up-in-hours",
        ),
        pytest.param(
            with_trigger(event="schedule", cron="0 8 * *"), ("invalid_cron", FILE, "/trigger/cron"), id="four-fields"
        ),
        pytest.param(
            with_trigger(event="schedule", cron="61 * * * *"),
            ("invalid_cron", FILE, "/trigger/cron"),
            id="minute-61",
        ),
        pytest.param(
            with_trigger(event="schedule"), ("invalid_cron", FILE, "/trigger/event"), id="schedule-without-cron"
        ),
        pytest.param(
            renewal(when={"==": [{"var": "inputs.reason"}, "x"]}),
            ("unknown_variable", FILE, "/when"),
            id="rule-reads-inputs",
        ),
        pytest.param(
            renewal(when={"==": [{"var": "before.stauts"}, "x"]}),
            ("unknown_field", FILE, "/when"),
            id="rule-reads-unknown-before-field",
        ),
        pytest.param(
            with_actions({"set": {"status": "expired"}}),
            ("state_field_action", FILE, "/actions/0/set/status"),
            id="set-writes-the-state-field",
        ),
        pytest.param(
            with_actions({"create": {"entity": "tsk", "values": {}}}),
            ("unknown_entity", FILE, "/actions/0/create/entity"),
            id="create-of-an-unknown-entity",
        ),
        pytest.param(
            with_actions({"update": {"target": "title", "values": {"name": "x"}}}),
            ("not_reference", FILE, "/actions/0/update/target"),
            id="update-through-a-text-field",
        ),
        pytest.param(
            with_actions({"update": {"children": {"entity": "task", "reference": "title"}, "values": {"done": True}}}),
            ("not_reference", FILE, "/actions/0/update/children/reference"),
            id="children-through-a-text-field",
        ),
        pytest.param(
            with_actions(
                {"update": {"children": {"entity": "agreement", "reference": "account"}, "values": {"title": "x"}}}
            ),
            ("not_reference", FILE, "/actions/0/update/children/reference"),
            id="children-whose-reference-points-elsewhere",
        ),
        pytest.param(
            with_actions({"update": {"target": "account", "values": {"nam": "x"}}}),
            ("unknown_field", FILE, "/actions/0/update/values/nam"),
            id="update-of-an-unknown-field-of-the-target",
        ),
        pytest.param(
            with_actions(
                {
                    "update": {
                        "children": {"entity": "task", "reference": "agreement"},
                        "where": {"var": "child.dne"},
                        "values": {"done": True},
                    }
                }
            ),
            ("unknown_field", FILE, "/actions/0/update/where"),
            id="where-reads-an-unknown-child-field",
        ),
        pytest.param(
            with_actions({"transition": {"name": "renew"}}),
            ("unknown_transition", FILE, "/actions/0/transition/name"),
            id="unknown-transition-action",
        ),
        pytest.param(
            with_actions(
                {"create": {"entity": "task", "values": {"title": "a"}, "as": "t"}},
                {"create": {"entity": "task", "values": {"title": "b"}, "as": "t"}},
            ),
            ("duplicate_created", FILE, "/actions/1/create/as"),
            id="two-creates-named-alike",
        ),
        pytest.param(
            with_actions({"create": {"entity": "task", "values": {"title": {"var": "created.nope.id"}}}}),
            ("unknown_variable", FILE, "/actions/0/create/values/title"),
            id="reads-a-created-record-never-named",
        ),
    ],
)
def test_bad_automations_are_refused_with_pointer_and_code(
    tmp_path: Path, document: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert expected in problems_of(tmp_path, document)


def test_two_automations_of_one_name_are_refused(tmp_path: Path) -> None:
    path = bundle.write(tmp_path, [bundle.RENEWAL])
    (path / "renewal_copy.json").write_text(json.dumps(bundle.RENEWAL), encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        load_definitions(path)
    assert [(p.code, Path(p.file or "").name, p.pointer) for p in refused.value.problems] == [
        ("duplicate_automation", "renewal_copy.json", "/name")
    ]


def test_every_problem_of_a_document_is_reported_at_once(tmp_path: Path) -> None:
    document = renewal(
        trigger={"event": "date", "field": "title", "offset": "-60D"},
        actions=[{"set": {"status": "expired"}}, {"transition": {"name": "renew"}}],
    )
    codes = [code for code, _file, _pointer in problems_of(tmp_path, document)]
    assert sorted(codes) == ["invalid_offset", "invalid_trigger", "state_field_action", "unknown_transition"]


def test_a_workflow_transition_action_naming_a_missing_transition_is_refused(tmp_path: Path) -> None:
    path = bundle.write(tmp_path, [])
    flow = copy.deepcopy(bundle.WORKFLOW)
    flow["transitions"]["expire"]["actions"] = [{"transition": {"name": "close", "target": "account"}}]
    (path / "agreement_life.json").write_text(json.dumps(flow), encoding="utf-8")
    with pytest.raises(DefinitionError) as refused:
        load_definitions(path)
    found = [(p.code, p.pointer) for p in refused.value.problems]
    assert ("unknown_transition", "/transitions/expire/actions/0/transition/name") in found


def test_automations_round_trip_through_the_stored_form(tmp_path: Path) -> None:
    loaded = load_definitions(bundle.write(tmp_path))
    stored = json.loads(json.dumps(definitions_to_json(loaded)))
    again = definitions_from_json(stored)
    assert again.automations == loaded.automations
    renewal_def = again.automations["renewal_reminder"]
    assert renewal_def.trigger.offset == -timedelta(days=60)
    assert renewal_def.label.zh == "续约提醒"
    assert again.automations["birthday_care"].trigger.yearly is True
    assert stored["automations"]["renewal_reminder"]["trigger"] == {
        "event": "date",
        "field": "end_date",
        "offset": "-P60D",
    }


def test_a_webhook_action_naming_a_missing_subscription_is_refused_at_apply(tmp_path: Path) -> None:
    from engine.runtime import CrmEngine

    doc = with_actions({"webhook": {"subscription": "erp"}})
    definitions = load_definitions(bundle.write(tmp_path, [doc]))  # loading alone cannot know
    with CrmEngine(f"sqlite:///{tmp_path / 'crm.db'}") as crm, pytest.raises(DefinitionError) as refused:
        crm.apply(definitions)
    assert [(p.code, p.file and Path(p.file).name, p.pointer) for p in refused.value.problems] == [
        ("unknown_subscription", FILE, "/actions/0/webhook/subscription")
    ]
