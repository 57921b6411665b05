"""In-app notifications and their emails: who a ``notify`` action tells, what they read, and
what they have read."""

from __future__ import annotations

from ._mail import Mailer, OutgoingMail, SmtpSettings
from ._service import MAX_PAGE, Notification, NotificationService

__all__ = ["MAX_PAGE", "Mailer", "Notification", "NotificationService", "OutgoingMail", "SmtpSettings"]
