"""Where a webhook may be sent: http(s) URLs whose host resolves to public addresses only.

A URL is checked when a subscription is created and again before every send, against the
addresses its host resolves to *then* (DNS rebinding: a name that resolved to a public address
at creation may later resolve to ``127.0.0.1`` or a cloud metadata address). The sender then
connects to the address it checked, not to a second lookup's answer.

Private, loopback, link-local, multicast, reserved and unspecified addresses (IPv4 and IPv6,
IPv4-mapped IPv6 included) are refused unless ``CRM_WEBHOOK_ALLOW_PRIVATE=1`` is set, as
for a receiver on the same machine or network.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.errors import CrmError, Problem

#: Set to ``1`` to allow receivers on private, loopback and link-local addresses.
ALLOW_PRIVATE_ENV = "CRM_WEBHOOK_ALLOW_PRIVATE"


class WebhookUrlError(CrmError):
    """A subscription's URL is not an http(s) URL, does not resolve, or reaches an address
    webhooks may not be sent to."""

    code = "invalid_webhook_url"
    exit_code = 2
    http_status = 422

    def __init__(self, message: str) -> None:
        super().__init__(message, [Problem("invalid_webhook_url", message, field="url")])


@dataclass(frozen=True)
class Target:
    """A URL taken apart, with the address to connect to."""

    scheme: str
    host: str
    port: int
    #: path and query, as sent in the request line
    path: str
    address: str


def private_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "") == "1"


def check_url(url: str) -> str:
    """``url`` when it is an http(s) URL with a host (not yet resolved); :class:`WebhookUrlError`
    otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError(f"a webhook URL starts with https:// (or http://), got {url!r}")
    if not parts.hostname:
        raise WebhookUrlError(f"the webhook URL {url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("a webhook URL may not carry a user name or password; the signature authenticates")
    if port == 0:
        raise WebhookUrlError(f"the webhook URL {url!r} has port 0")
    return url


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` may not receive webhooks, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("an unspecified", address.is_unspecified),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
    ):
        if flag:
            return kind
    return None


def resolve(url: str) -> Target:
    """Resolve ``url``'s host and check every address it has; the first address to connect to.

    :raises WebhookUrlError: the URL is malformed, the host does not resolve, or it resolves
        to an address webhooks may not reach (unless ``CRM_WEBHOOK_ALLOW_PRIVATE=1``).
    """
    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlError(f"the host {host!r} of the webhook URL does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise WebhookUrlError(f"the host {host!r} of the webhook URL does not resolve")
    if not private_allowed():
        for text in addresses:
            why = _refusal(ipaddress.ip_address(text.split("%")[0]))
            if why is not None:
                raise WebhookUrlError(
                    f"the host {host!r} resolves to {text}, {why} address: webhooks are only sent to public "
                    f"addresses (set {ALLOW_PRIVATE_ENV}=1 to allow receivers on this machine or network)"
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])
