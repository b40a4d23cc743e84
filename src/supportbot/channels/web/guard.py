"""The web channel's edges: which origins may call it, how often, and the headers every
answer carries."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The widget runs under the strictest policy: its script and stylesheet come from here.
SECURITY_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeaders:
    """Adds the security headers to every response, streamed ones included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


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
