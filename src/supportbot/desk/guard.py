"""The desk's edges: security headers on every answer, the signed-in agent, CSRF checks.

Pages, forms and files of the desk are only for a signed-in agent: a page asked
for without a session goes to the sign-in form, anything else is refused (403).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from supportbot.desk.accounts import Accounts, Agent

SESSION_COOKIE = "supportbot_desk"
SIGNIN_COOKIE = "supportbot_desk_signin"  # the sign-in form's CSRF token (no session yet)
LANG_COOKIE = "supportbot_desk_lang"

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",  # tickets and customers' data: never kept by a cache
}


def base(request: Request) -> str:
    """Where the desk is mounted (``/desk``), for links and the cookies' path."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def local_target(target: str, request: Request) -> str:
    """A desk path to go back to after signing in; anything else is the inbox."""
    root = base(request)
    if target.startswith(f"{root}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{root}/"


def same_token(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(expected) and secrets.compare_digest(given, expected)


def set_cookie(response: Response, request: Request, name: str, value: str, secure: bool) -> None:
    response.set_cookie(
        name,
        value,
        path=f"{base(request)}/",
        httponly=True,
        samesite="lax",
        secure=secure or request.url.scheme == "https",
    )


Handler = Callable[[Request, Agent], Awaitable[Response]]


@dataclass
class Gate:
    """Lets a request through with the agent it signed in as, or turns it away."""

    accounts: Accounts

    async def agent(self, request: Request) -> Agent | None:
        token = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(self.accounts.signed_in, token)

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page: without a session, the sign-in form (then back here)."""

        async def endpoint(request: Request) -> Response:
            agent = await self.agent(request)
            if agent is None:
                target = quote(
                    request.url.path + (f"?{request.url.query}" * bool(request.url.query))
                )
                return RedirectResponse(f"{base(request)}/signin?next={target}", 303)
            return await handler(request, agent)

        return endpoint

    def private(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A file or a form: without a session, refused."""

        async def endpoint(request: Request) -> Response:
            agent = await self.agent(request)
            if agent is None:
                return PlainTextResponse("Connexion requise / Sign-in required", 403)
            return await handler(request, agent)

        return endpoint


async def form_of(request: Request, agent: Agent) -> dict[str, str] | None:
    """The posted form's fields, or None when its CSRF token is not the session's."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return fields if same_token(fields.get("csrf"), agent.csrf) else None
