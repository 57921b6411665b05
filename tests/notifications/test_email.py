"""Notification email through a real SMTP server (aiosmtpd, started by the test): sent after the
commit to the recipients with an address, and never in the way of the notification itself."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.errors import UsageError
from engine.notifications import SmtpSettings
from engine.runtime import CrmEngine
from engine.users import SYSTEM_USER
from tests.notifications import bundle
from tests.support import SYSTEM


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[list[str], EmailMessage]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return sorted(self.received, key=lambda r: r[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_recipients_with_an_address_get_an_email_after_the_commit(
    smtp: tuple[Inbox, int], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("CRM_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("CRM_SMTP_FROM", "crm@huaxin.example")
    with bundle.make(database_url, tmp_path) as crm:
        record = crm.records.create("deal", {"title": "华信 ERP", "owner": "wang.fang"}, actor=SYSTEM)
        crm.workflows.run("deal", record["id"], "approve", user=SYSTEM_USER)

        # wang.fang (owner), zhao.lei (finance), li.na (named); chen.jie has no address
        received = inbox.wait_for(3)
        assert [to for to, _m in received] == [
            ["li.na@example.com"],
            ["wang.fang@example.com"],
            ["zhao.lei@example.com"],
        ]
        for to, message in received:
            assert message["To"] == to[0]
            assert message["From"] == "crm@huaxin.example"
            assert message["Subject"] == "Deal approved: 华信 ERP"
            body = message.get_content()
            assert "Please book the deal." in body
            assert f"deal {record['id']}" in body
        assert crm.notifications.unread_count("chen.jie") == 1  # in the app all the same


def test_a_rolled_back_change_sends_no_email(
    smtp: tuple[Inbox, int], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    monkeypatch.setenv("CRM_SMTP_URL", f"smtp://127.0.0.1:{port}")
    with bundle.make(database_url, tmp_path) as crm:
        with pytest.raises(RuntimeError), crm.db.write() as tx:
            crm.records.create("deal", {"title": "Huge", "amount": 9_000_000}, actor=SYSTEM, conn=tx)
            raise RuntimeError("the caller gives up")
        crm.records.create("deal", {"title": "Huge too", "amount": 9_000_000}, actor=SYSTEM)
        received = inbox.wait_for(2)
        assert [m["Subject"] for _to, m in received] == ["Big deal: Huge too", "Big deal: Huge too"]
        assert crm.notifications.unread_count("li.na") == 1


def test_when_the_smtp_server_is_down_the_notification_is_still_stored(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CRM_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    with bundle.make(database_url, tmp_path) as crm:
        record = crm.records.create("deal", {"title": "Quiet", "owner": "wang.fang"}, actor=SYSTEM)
        moved = crm.workflows.run("deal", record["id"], "approve", user=SYSTEM_USER)
        assert moved["status"] == "approved"
        assert [n.title for n in crm.notifications.list("wang.fang")] == ["Deal approved: Quiet"]
    assert "notification mail not sent" in caplog.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com:2525", SmtpSettings("mail.example.com", 2525)),
        ("smtps://bot%40x:s%3Acret@mail.example.com", SmtpSettings("mail.example.com", 465, True, "bot@x", "s:cret")),
        ("smtp://mail.example.com", SmtpSettings("mail.example.com", 25)),
    ],
)
def test_smtp_urls(url: str, expected: SmtpSettings) -> None:
    assert SmtpSettings.parse(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com"])
def test_a_bad_smtp_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError):
        SmtpSettings.parse(url)


def test_no_smtp_url_no_mail(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_SMTP_URL", raising=False)
    with CrmEngine(database_url) as crm:
        assert crm.notifications.mailer is None
