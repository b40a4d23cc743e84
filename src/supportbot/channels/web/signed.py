"""Signed identities: a marketplace vouches for its logged-in customer, so that they
find the same conversation on any device.

The marketplace's server computes ``CUSTOMER.EXPIRES.SIGNATURE`` where EXPIRES is a
Unix time and SIGNATURE the hex HMAC-SHA256, under the secret it shares with
supportbot, of ``CUSTOMER.EXPIRES``; the page passes it to the widget
(``data-identity``). The chat opened for it is derived from the customer id, never
the id itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

_CUSTOMER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def sign_identity(secret: str, customer: str, expires: int) -> str:
    """What the marketplace's server computes (given here for its developers and tests)."""
    signed = f"{customer}.{expires}"
    mac = hmac.new(secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256)
    return f"{signed}.{mac.hexdigest()}"


def identified_chat(identity: str, secret: str, now: datetime) -> str | None:
    """The chat of a validly signed, unexpired identity; None otherwise."""
    customer, _, rest = identity.partition(".")
    expires, _, signature = rest.partition(".")
    if not _CUSTOMER.match(customer) or not expires.isdigit() or len(expires) > 12:
        return None
    expected = sign_identity(secret, customer, int(expires)).rpartition(".")[2]
    if not hmac.compare_digest(expected, signature) or int(expires) < now.timestamp():
        return None
    chat = hmac.new(secret.encode("utf-8"), f"chat:{customer}".encode(), hashlib.sha256)
    return "c" + chat.hexdigest()[:31]
