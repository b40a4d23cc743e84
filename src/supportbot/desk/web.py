"""The agent desk as a Starlette application, to mount at ``/desk`` of `supportbot serve`.

Server-rendered pages (Jinja2), one stylesheet and one script served here, no
inline script or style: every answer carries ``Content-Security-Policy:
default-src 'self'``. The engine is synchronous: every store call runs in the
thread pool.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from supportbot.agents import AgentDesk
from supportbot.app import build_desk
from supportbot.config import Settings
from supportbot.content import Content
from supportbot.desk.accounts import Accounts, Agent
from supportbot.desk.gaps import FaqGaps
from supportbot.desk.guard import (
    HEADERS,
    LANG_COOKIE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Gate,
    base,
    form_of,
    local_target,
    same_token,
    set_cookie,
)
from supportbot.desk.inbox import STATUS_CHOICES, filter_query, inbox, inbox_filter
from supportbot.desk.live import Feed, latest_event_id
from supportbot.desk.texts import catalog_word, say
from supportbot.replies import ReplyBook, load_replies
from supportbot.security_headers import SecurityHeaders

if TYPE_CHECKING:
    from supportbot.engine import Engine

HERE = Path(str(resources.files("supportbot.desk")))
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def new_key() -> str:
    """An idempotence key for a form, made when its page is rendered."""
    return "desk-" + secrets.token_urlsafe(18)


def language(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "fr"


@dataclass
class Site:
    """What every page of the desk shares: the services and how a page is rendered."""

    desk: AgentDesk
    accounts: Accounts
    book: ReplyBook
    settings: Settings
    content: Content  # the flows' questions label the tickets' answers
    flows: dict[str, tuple[str, str]]  # flow id -> (French title, English title)
    feed: Feed  # wakes the live streams of the open pages
    gaps: FaqGaps  # the FAQ gaps on the stats page, and their drafts

    def render(
        self,
        request: Request,
        template: str,
        agent: Agent | None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        lang = language(request)
        values = {
            "t": partial(say, lang),
            "lang": lang,
            "agent": agent,
            "csrf": agent.csrf if agent else "",
            "root": base(request),
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "tz": self.desk.tickets.calendar.tz,
            "flow_title": lambda flow: self.flows.get(flow, (flow, flow))[lang == "en"],
            "word": partial(catalog_word, lang),  # a stored value by its catalog's word
            **context,
        }
        return TEMPLATES.TemplateResponse(request, template, values, status_code=status)

    def bad_form(self, request: Request, agent: Agent | None) -> Response:
        return self.render(request, "refused.html", agent, 403, message="bad_form")


# -- sign-in ----------------------------------------------------------------------


async def signin_form(
    request: Request, site: Site, error: str = "", status: int = 200, target: str = ""
) -> Response:
    """The sign-in form; ``target`` (else ``?next=``) is where a success goes."""
    token = request.cookies.get(SIGNIN_COOKIE) or ""
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    target = local_target(target or request.query_params.get("next", ""), request)
    response = site.render(
        request, "signin.html", None, status, signin_csrf=token, error=error, next=target
    )
    set_cookie(response, request, SIGNIN_COOKIE, token, site.settings.desk_secure_cookie)
    return response


async def signin(request: Request, site: Site) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not same_token(fields.get("csrf"), request.cookies.get(SIGNIN_COOKIE) or ""):
        return site.bad_form(request, None)
    name, password = fields.get("name", "").strip(), fields.get("password", "")
    address = request.client.host if request.client else "?"
    target = fields.get("next", "")
    if await run_in_threadpool(site.accounts.throttled, name, address):
        return await signin_form(request, site, "throttled", 429, target)
    signed = await run_in_threadpool(site.accounts.sign_in, name, password, address)
    if signed is None:
        return await signin_form(request, site, "bad_credentials", 401, target)
    _, token = signed
    response = RedirectResponse(local_target(target, request), 303)
    set_cookie(response, request, SESSION_COOKIE, token, site.settings.desk_secure_cookie)
    response.delete_cookie(SIGNIN_COOKIE, path=f"{base(request)}/")
    return response


async def signout(request: Request, agent: Agent, site: Site) -> Response:
    if await form_of(request, agent) is None:
        return site.bad_form(request, agent)
    await run_in_threadpool(site.accounts.sign_out, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{base(request)}/signin", 303)
    response.delete_cookie(SESSION_COOKIE, path=f"{base(request)}/")
    return response


async def switch_language(request: Request) -> Response:
    lang = "en" if request.path_params["lang"] == "en" else "fr"
    response = RedirectResponse(local_target(request.query_params.get("next", ""), request), 303)
    response.set_cookie(LANG_COOKIE, lang, path=f"{base(request)}/", samesite="lax")
    return response


# -- inbox -------------------------------------------------------------------------


async def inbox_page(request: Request, agent: Agent, site: Site) -> Response:
    params = request.query_params
    wanted = inbox_filter(params, site.flows)
    # The stream's cursor is read before the rows: nothing written between is missed.
    cursor = await run_in_threadpool(latest_event_id, site.desk.sessions)
    rows = await run_in_threadpool(inbox, site.desk, agent.name, wanted)
    return site.render(
        request,
        "inbox.html",
        agent,
        rows=rows,
        wanted=wanted,
        statuses=STATUS_CHOICES,
        flows=sorted(site.flows),
        cursor=cursor,
        filter_query=filter_query(wanted),
        keys={row.view.reference: new_key() for row in rows},
        notice={"1": "done", "2": "repeated"}.get(params.get("done", ""), ""),
    )


# -- the application ---------------------------------------------------------------


def desk_app(
    engine: Engine,
    settings: Settings,
    accounts: Accounts | None = None,
    book: ReplyBook | None = None,
) -> Starlette:
    """The desk over the engine's store and ticket service; mount it at ``/desk``."""
    from supportbot.desk.live_pages import live_routes
    from supportbot.desk.stats_pages import stats_routes
    from supportbot.desk.ticket_pages import ticket_routes

    desk = build_desk(engine)
    site = Site(
        desk=desk,
        accounts=accounts or Accounts(desk.sessions, desk.tickets.clock),
        book=book or load_replies(settings.content_dir / "replies"),
        settings=settings,
        content=engine.content,
        flows={f.id: (f.title.fr, f.title.en) for f in engine.content.flows.values()},
        feed=Feed(desk.sessions, desk.tickets.clock),
        gaps=FaqGaps(engine.content, settings.content_dir),
    )
    gate = Gate(site.accounts)

    async def show_signin(request: Request) -> Response:
        return await signin_form(request, site)

    async def do_signin(request: Request) -> Response:
        return await signin(request, site)

    routes = [
        Route("/", gate.page(partial(inbox_page, site=site)), name="inbox"),
        Route("/signin", show_signin, methods=["GET"]),
        Route("/signin", do_signin, methods=["POST"]),
        Route("/signout", gate.private(partial(signout, site=site)), methods=["POST"]),
        Route("/lang/{lang}", switch_language),
        *live_routes(site, gate),  # before the tickets' /tickets/{ref}/{action}
        *ticket_routes(site, gate),
        *stats_routes(site, gate),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(SecurityHeaders, headers=HEADERS.items())]
    )
