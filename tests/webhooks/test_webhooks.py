"""Webhooks on SQLite and PostgreSQL, against a real HTTP receiver on 127.0.0.1: what is sent
and signed, what is filtered, retried, dead-lettered, replayed and disabled, and in what order."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.automations import tick
from engine.errors import DefinitionError, PermissionDeniedError
from engine.metadata import load_definitions
from engine.runtime import CrmEngine
from engine.storage import webhook_deliveries
from engine.users import SYSTEM_USER
from engine.webhooks import ALLOW_PRIVATE_ENV, MAX_ATTEMPTS, TIMEOUT_ENV, WebhookUrlError
from tests.automations import bundle
from tests.support import SYSTEM, CliResult
from tests.webhooks.receiver import Receiver, serve

SECRET = "whsec-3f9a1c77d2e84b0c"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@pytest.fixture
def crm(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CrmEngine]:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    engine = CrmEngine(database_url)
    engine.apply(load_definitions(bundle.write(tmp_path, [])))
    yield engine
    engine.close()


def subscribe(crm: CrmEngine, receiver: Receiver, name: str = "erp", **options: Any) -> None:
    crm.webhooks.create(name, url=receiver.url, secret=SECRET, user=SYSTEM_USER, **options)


def account(crm: CrmEngine, name: str) -> dict[str, Any]:
    return crm.records.create("account", {"name": name}, actor=SYSTEM)


def deliveries(crm: CrmEngine) -> list[dict[str, Any]]:
    with crm.db.read() as conn:
        query = sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_committed_create_is_posted_with_the_payload_and_a_signature_that_verifies(
    crm: CrmEngine, receiver: Receiver
) -> None:
    subscribe(crm, receiver)
    made = account(crm, "西安华信环保科技有限公司")
    assert receiver.requests == []  # nothing is sent inside the write
    assert crm.webhooks.work() == 1

    (request,) = receiver.requests
    body = request.json()
    assert sorted(body) == sorted(
        ["id", "type", "entity", "record", "changes", "actor", "occurred_at", "definitions_version"]
    )
    assert (body["type"], body["entity"], body["record"]["id"], body["record"]["name"]) == (
        "record.created",
        "account",
        made["id"],
        "西安华信环保科技有限公司",
    )
    assert (body["actor"], body["definitions_version"]) == ("system:test", crm.version)
    assert request.headers["X-CRM-Event-Id"] == str(body["id"])
    timestamp = request.headers["X-CRM-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-CRM-Signature"], f"sha256={expected}")
    assert abs(int(timestamp) - datetime.now(UTC).timestamp()) < 60
    (row,) = deliveries(crm)
    assert (row["status"], row["attempts"], row["last_status"]) == ("delivered", 1, 200)
    assert crm.webhooks.work() == 0  # delivered once


def test_events_before_the_subscription_are_not_sent_and_updates_carry_their_changes(
    crm: CrmEngine, receiver: Receiver
) -> None:
    made = account(crm, "Before")
    subscribe(crm, receiver)
    crm.records.update("account", made["id"], {"name": "After"}, actor=SYSTEM)
    crm.webhooks.work()
    (body,) = receiver.bodies()
    assert body["type"] == "record.updated"
    assert body["changes"] == {"name": {"old": "Before", "new": "After"}}


def test_a_subscription_gets_only_its_entity_and_event_types(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver, entity="account", events=["updated", "deleted"])
    made = account(crm, "Kept")
    crm.records.create("member", {"name": "Not an account"}, actor=SYSTEM)
    crm.records.update("account", made["id"], {"name": "Renamed"}, actor=SYSTEM)
    crm.records.delete("account", made["id"], actor=SYSTEM)
    crm.webhooks.work()
    crm.webhooks.work()
    assert [(b["type"], b["entity"]) for b in receiver.bodies()] == [
        ("record.updated", "account"),
        ("record.deleted", "account"),
    ]
    assert receiver.bodies()[1]["record"]["name"] == "Renamed"  # the record as it was


def test_a_write_that_rolls_back_sends_nothing(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver)
    with pytest.raises(RuntimeError), crm.db.write() as conn:
        crm.records.create("account", {"name": "Rolled back"}, actor=SYSTEM, conn=conn)
        raise RuntimeError("the change fails after the insert")
    assert crm.webhooks.work() == 0
    assert receiver.requests == [] and deliveries(crm) == []


def test_a_failing_receiver_is_retried_later_then_dead_and_a_replay_delivers(
    crm: CrmEngine, receiver: Receiver
) -> None:
    subscribe(crm, receiver)
    account(crm, "Retried")
    receiver.statuses = [500] * MAX_ATTEMPTS
    assert crm.webhooks.work() == 1
    (row,) = deliveries(crm)
    assert (row["status"], row["attempts"], row["last_status"]) == ("pending", 1, 500)
    assert row["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=25)  # backoff
    assert crm.webhooks.work() == 0  # not due yet
    first_wait = row["next_attempt_at"]

    crm.webhooks.work(now=later(2))
    (row,) = deliveries(crm)
    assert row["attempts"] == 2
    assert row["next_attempt_at"] - later(2) > (first_wait - datetime.now(UTC)) * 1.5  # it doubles

    moment = later(2)
    while deliveries(crm)[0]["status"] == "pending":
        moment += timedelta(days=1)
        assert crm.webhooks.work(now=moment) == 1
    (row,) = deliveries(crm)
    assert (row["status"], row["attempts"]) == ("dead", MAX_ATTEMPTS)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert [d.id for d in crm.webhooks.deliveries("erp", user=SYSTEM_USER, failed_only=True)] == [row["id"]]

    assert crm.webhooks.replay("erp", user=SYSTEM_USER, failed=True) == 1
    assert crm.webhooks.work() == 1
    (row,) = deliveries(crm)
    assert (row["status"], row["attempts"], row["last_status"]) == ("delivered", 1, 200)
    assert len({r.headers["X-CRM-Event-Id"] for r in receiver.requests}) == 1  # one idempotency key
    assert crm.webhooks.deliveries("erp", user=SYSTEM_USER, failed_only=True) == []


def test_replay_since_an_event_sends_every_matching_event_again(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver, entity="account")
    first = account(crm, "One")
    account(crm, "Two")
    crm.webhooks.work()
    ids = [b["id"] for b in receiver.bodies()]
    assert crm.webhooks.replay("erp", user=SYSTEM_USER, since_event_id=ids[0] - 1) == 2
    crm.webhooks.work()
    assert [b["id"] for b in receiver.bodies()] == ids + ids
    assert receiver.bodies()[2]["record"]["id"] == first["id"]
    assert crm.webhooks.replay("erp", user=SYSTEM_USER, since_event_id=ids[1]) == 0


def test_410_gone_disables_the_subscription_with_a_reason(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver)
    account(crm, "Gone")
    account(crm, "Waits")
    receiver.statuses = [410]
    crm.webhooks.work()
    (found,) = crm.webhooks.list(user=SYSTEM_USER)
    assert not found.enabled and "410" in (found.disabled_reason or "")
    assert [d["status"] for d in deliveries(crm)] == ["dead", "pending"]
    assert crm.webhooks.work(now=later(60)) == 0  # nothing goes to a disabled subscription
    crm.webhooks.enable("erp", user=SYSTEM_USER)
    assert crm.webhooks.work() == 1
    assert [d["status"] for d in deliveries(crm)] == ["dead", "delivered"]


def test_a_receiver_that_does_not_answer_in_time_counts_as_a_failure(
    crm: CrmEngine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "0.3")
    subscribe(crm, receiver)
    account(crm, "Slow")
    receiver.delay = 1.5
    crm.webhooks.work()
    (row,) = deliveries(crm)
    assert (row["status"], row["last_status"]) == ("pending", None)
    assert "0.3 s" in row["last_error"]


def test_a_record_s_later_event_waits_until_its_earlier_one_is_delivered(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver)
    made = account(crm, "v1")
    crm.records.update("account", made["id"], {"name": "v2"}, actor=SYSTEM)
    other = account(crm, "Other")
    receiver.statuses = [503]
    crm.webhooks.work()
    # the first event failed: the update of the same record waits, the other record goes on
    assert [(b["type"], b["record"]["id"]) for b in receiver.bodies()] == [
        ("record.created", made["id"]),
        ("record.created", other["id"]),
    ]
    assert crm.webhooks.work(now=later(1)) == 2  # the retry, then the update behind it
    assert [(b["type"], b["record"]["name"]) for b in receiver.bodies()[2:]] == [
        ("record.created", "v1"),
        ("record.updated", "v2"),
    ]


def test_private_addresses_are_refused_unless_allowed(
    database_url: str, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_ENV, raising=False)
    with CrmEngine(database_url) as crm:
        for url in (receiver.url, "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]:8080/"):
            with pytest.raises(WebhookUrlError) as refused:
                crm.webhooks.create("erp", url=url, secret=SECRET, user=SYSTEM_USER)
            assert refused.value.problems[0].field == "url"
            assert ALLOW_PRIVATE_ENV in refused.value.message
        with pytest.raises(WebhookUrlError):
            crm.webhooks.create("erp", url="ftp://example.com/x", secret=SECRET, user=SYSTEM_USER)
        assert crm.webhooks.list(user=SYSTEM_USER) == []
        # allowed when created, refused at send time once the rule applies again (rebinding)
        monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
        crm.webhooks.create("erp", url=receiver.url, secret=SECRET, user=SYSTEM_USER)
        monkeypatch.delenv(ALLOW_PRIVATE_ENV)
        with crm.db.write() as conn:
            conn.execute(sa.text("SELECT 1"))
        crm.apply(load_definitions(bundle.write(Path(str(crm.db.engine.url.database or "x")).parent / "b", [])))
        account(crm, "Not sent")
        crm.webhooks.work()
        assert receiver.requests == []
        (row,) = deliveries(crm)
        assert "loopback" in row["last_error"]


def test_only_administrators_manage_webhooks(crm: CrmEngine, receiver: Receiver) -> None:
    crm.users.create("lin")
    lin = crm.users.acting("lin")
    with pytest.raises(PermissionDeniedError):
        crm.webhooks.create("erp", url=receiver.url, secret=SECRET, user=lin)
    with pytest.raises(PermissionDeniedError):
        crm.webhooks.list(user=lin)


def test_the_secret_is_never_listed_nor_logged(
    crm: CrmEngine,
    receiver: Receiver,
    database_url: str,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    created = run_cli(
        "webhook", "create", "erp", "--url", receiver.url, "--events", "created,updated", "--secret-stdin"
    )
    assert created.exit_code == 0, created.stderr
    account(crm, "Logged?")
    receiver.statuses = [500]
    assert run_cli("webhook", "deliver").exit_code == 0
    listed = run_cli("webhook", "list")
    as_json = run_cli("webhook", "list", "--json")
    failed = run_cli("webhook", "deliveries", "erp", "--failed", "--json")
    assert listed.exit_code == as_json.exit_code == failed.exit_code == 0
    assert "erp" in listed.stdout and as_json.json()["items"][0]["events"] == ["created", "updated"]
    assert [d["last_status"] for d in failed.json()["items"]] == [500]
    (found,) = crm.webhooks.list(user=SYSTEM_USER)
    for text in (
        created.stdout,
        created.stderr,
        listed.stdout,
        as_json.stdout,
        failed.stdout,
        repr(found),
        caplog.text,
    ):
        assert SECRET not in text
    assert "erp" in caplog.text  # the failure was logged, without the secret
    missing = run_cli("webhook", "create", "crm2", "--url", receiver.url)
    assert missing.exit_code == 2 and "--secret-stdin" in missing.stderr


def test_cli_replay_and_unknown_names(
    crm: CrmEngine,
    receiver: Receiver,
    database_url: str,
    run_cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", database_url)
    subscribe(crm, receiver)
    account(crm, "Replayed")
    crm.webhooks.work()
    event_id = receiver.bodies()[0]["id"]
    replayed = run_cli("webhook", "replay", "erp", "--since", str(event_id - 1))
    assert replayed.exit_code == 0 and "1 delivery(ies) queued again, 1 sent" in replayed.stdout
    assert len(receiver.requests) == 2
    unknown = run_cli("webhook", "deliveries", "epr")
    assert unknown.exit_code == 4 and "erp" in unknown.stderr and "Traceback" not in unknown.stderr
    assert run_cli("webhook", "disable", "erp").exit_code == 0
    assert run_cli("webhook", "list", "--json").json()["items"][0]["enabled"] is False
    assert run_cli("webhook", "enable", "erp").exit_code == 0
    assert run_cli("webhook", "delete", "erp").exit_code == 0
    assert run_cli("webhook", "list").stdout.strip() == "no webhook subscriptions"


# -- automations --------------------------------------------------------------------------------

SEND_AGREEMENTS = bundle.automation(
    "send_agreements",
    "agreement",
    {"event": "created"},
    [{"webhook": {"subscription": "erp"}}],
    when={"==": [{"var": "record.status"}, "active"]},
)


def test_an_automation_s_webhook_action_queues_the_triggering_change(
    database_url: str, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with CrmEngine(database_url) as crm:
        crm.apply(load_definitions(bundle.write(tmp_path, [])))
        subscribe(crm, receiver, entity="member")  # its own events: none of the agreements
        crm.apply(load_definitions(bundle.write(tmp_path, [SEND_AGREEMENTS])))
        made = crm.records.create("agreement", {"title": "Maintenance 2027"}, actor=SYSTEM)
        with pytest.raises(RuntimeError), crm.db.write() as conn:
            crm.records.create("agreement", {"title": "Rolled back"}, actor=SYSTEM, conn=conn)
            raise RuntimeError("rolled back")
        report = tick(crm)
        assert report.webhooks == 1
        (request,) = receiver.requests
        body = request.json()
        assert (body["type"], body["entity"], body["record"]["id"]) == ("record.created", "agreement", made["id"])
        assert request.headers["X-CRM-Event-Id"] == body["id"]


def test_an_automation_naming_a_missing_subscription_is_refused_at_apply(
    database_url: str, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")
    with CrmEngine(database_url) as crm:
        with pytest.raises(DefinitionError) as refused:
            crm.apply(load_definitions(bundle.write(tmp_path, [SEND_AGREEMENTS])))
        (problem,) = refused.value.problems
        assert (problem.code, Path(problem.file or "").name, problem.pointer) == (
            "unknown_subscription",
            "auto_send_agreements.json",
            "/actions/0/webhook/subscription",
        )
        assert not crm.has_definitions
        subscribe(crm, receiver)
        crm.apply(load_definitions(bundle.write(tmp_path, [SEND_AGREEMENTS])))
        with pytest.raises(Exception, match="send_agreements"):
            crm.webhooks.delete("erp", user=SYSTEM_USER)


def test_webhook_payload_json_is_compact_utf8(crm: CrmEngine, receiver: Receiver) -> None:
    subscribe(crm, receiver)
    account(crm, "上海")
    crm.webhooks.work()
    assert "上海".encode() in receiver.requests[0].body
    assert json.loads(receiver.requests[0].body)["record"]["name"] == "上海"


def test_two_workers_at_once_send_each_event_once_and_in_order_per_record(
    crm: CrmEngine, receiver: Receiver, database_url: str
) -> None:
    subscribe(crm, receiver)
    made = [account(crm, f"Account {i}") for i in range(6)]
    for round_ in range(3):
        for record in made:
            crm.records.update("account", record["id"], {"name": f"{record['id']} v{round_}"}, actor=SYSTEM)
    workers = [CrmEngine(database_url) for _ in range(2)]
    try:

        def run(engine: CrmEngine) -> None:
            while engine.webhooks.work():
                pass

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in workers:
            worker.close()
    crm.webhooks.work()
    ids = [b["id"] for b in receiver.bodies()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 6 * 4
    for record in made:
        mine = [b["id"] for b in receiver.bodies() if b["record"]["id"] == record["id"]]
        assert mine == sorted(mine)


def test_the_workers_periodic_work_delivers(crm: CrmEngine, receiver: Receiver) -> None:
    from engine.jobs import PERIODIC_WORK, run_due

    subscribe(crm, receiver)
    account(crm, "Sent by a worker")
    report = run_due(crm, worker="w1", work=[w for w in PERIODIC_WORK if w.name == "webhook_delivery"])
    assert report.ran == {"webhook_delivery": 1}
    assert [b["type"] for b in receiver.bodies()] == ["record.created"]
