"""Email of notifications through an SMTP server (Python's own :mod:`smtplib`: no library is
needed for plain submission).

``CRM_SMTP_URL`` says where: ``smtp://host:port`` (plain), ``smtps://host:port`` (TLS from the
first byte), with optional ``user:password@`` to log in; ``CRM_SMTP_FROM`` the sender
(``crm@localhost`` by default). Without ``CRM_SMTP_URL`` nothing is mailed.

Mail leaves only after the change that notified has committed, and a failure (server down,
address refused) is logged, never raised: the notification in the app is what stays.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from engine.errors import UsageError

log = logging.getLogger("engine.notifications")

DEFAULT_FROM = "crm@localhost"
#: How long one SMTP conversation may take before it counts as failed.
SMTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes: host, port, TLS from the start or not, the login and the sender."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = DEFAULT_FROM

    @classmethod
    def parse(cls, url: str, sender: str | None = None) -> SmtpSettings:
        """The settings ``smtp://[user:password@]host[:port]`` or ``smtps://…`` means.

        :raises UsageError: for another scheme or no host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise UsageError(
                f"CRM_SMTP_URL {parts.scheme or url!r} is not an SMTP URL; write smtp://host:port, "
                "smtps://host:port, or with a login smtp://user:password@host:port"
            )
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=sender or DEFAULT_FROM,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings of ``CRM_SMTP_URL`` and ``CRM_SMTP_FROM``; ``None`` when no URL is set."""
        env = os.environ if environ is None else environ
        url = env.get("CRM_SMTP_URL", "").strip()
        return cls.parse(url, env.get("CRM_SMTP_FROM") or None) if url else None


@dataclass(frozen=True)
class OutgoingMail:
    """One email to write: to whom, the subject and the text."""

    to: str
    subject: str
    body: str


class Mailer:
    """Sends mail through one SMTP server."""

    def __init__(self, settings: SmtpSettings, *, timeout: float = SMTP_TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout

    def deliver(self, mails: Sequence[OutgoingMail]) -> int:
        """Send ``mails`` in one SMTP session; how many the server took. Failures are logged:
        a notification stays in the app whatever the mail server says."""
        if not mails:
            return 0
        settings = self.settings
        sent = 0
        try:
            client_class = smtplib.SMTP_SSL if settings.tls else smtplib.SMTP
            with client_class(settings.host, settings.port, timeout=self.timeout) as client:
                if settings.username is not None:
                    client.login(settings.username, settings.password or "")
                for mail in mails:
                    try:
                        client.send_message(self._message(mail))
                        sent += 1
                    except smtplib.SMTPException as error:
                        log.warning("notification mail to %s refused: %s", mail.to, error)
        except (OSError, smtplib.SMTPException) as error:
            log.warning(
                "notification mail not sent (%d of %d left): SMTP server %s:%s: %s",
                len(mails) - sent,
                len(mails),
                settings.host,
                settings.port,
                error,
            )
        return sent

    def _message(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        return message
