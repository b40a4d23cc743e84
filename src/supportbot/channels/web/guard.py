"""The web channel's edges: which origins may call it, how often, and the headers every
answer carries."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# The widget runs under the strictest policy: its script and stylesheet come from here.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass
class Origins:
    """supportbot's own origin, and the sites an operator listed."""

    allowed: frozenset[str]

    @classmethod
    def of(cls, listed: Iterable[str]) -> Origins:
        return cls(frozenset(o.rstrip("/").lower() for o in listed))

    def permits(self, origin: str | None, own: str) -> bool:
        """A request with no Origin comes from no browser page: a token is still needed."""
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        return origin == own.lower() or origin in self.allowed


@dataclass
class RateLimit:
    """At most ``per_minute`` events per key over any sliding minute."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str) -> bool:
        now = self.clock()
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        if len(self._seen) > 50_000:  # forget idle keys rather than grow forever
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < 60}
        return True
