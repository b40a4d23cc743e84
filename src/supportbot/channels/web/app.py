"""`supportbot serve`: the demo support page, the widget's two files and the chat API.

The page is 3DWorksPrints' support page with the widget added by one script tag, as a
marketplace embeds it. Every answer carries a strict Content-Security-Policy; the
API answers only supportbot's own origin and the origins an operator allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from supportbot.channels.contract import ChatCore, EngineCore
from supportbot.channels.web.api import Refused, WebApi, refusal
from supportbot.channels.web.guard import SECURITY_HEADERS, Origins, RateLimit
from supportbot.channels.web.identity import Visitors
from supportbot.config import Settings
from supportbot.security_headers import SecurityHeaders
from supportbot.wakeups import wakeups_for

if TYPE_CHECKING:
    from supportbot.engine import Engine

HERE = Path(str(resources.files("supportbot.channels.web")))
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
PREFLIGHT_HEADERS = "authorization, content-type, last-event-id"
STORE_THREADS = 8  # threads for store work where the database has several writers


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of the support page: a heading or a paragraph."""

    kind: str
    text: str


def support_page() -> tuple[str, list[Block]]:
    """The support page's text, cut into headings and paragraphs: its title, its blocks."""
    lines = [
        line.strip()
        for line in (HERE / "templates" / "support-page.txt").read_text("utf-8").splitlines()
        if line.strip()
    ]
    title, blocks = lines[2], []
    for line in lines[4:]:
        heading = len(line) < 70 and not line.endswith(".") and " : " not in line
        blocks.append(
            Block("h2" if heading and not line.endswith("?") else "h3" if heading else "p", line)
        )
    return title, blocks


def _endpoint(
    handler: Callable[[Request], Awaitable[Response]], api: WebApi
) -> Callable[[Request], Awaitable[Response]]:
    """Refusals become their JSON answer; allowed foreign origins get their CORS headers."""

    async def run(request: Request) -> Response:
        try:
            response = await handler(request)
        except Refused as refused:
            response = refusal(refused.reason, **refused.values)
        origin = request.headers.get("origin")
        if origin and origin.rstrip("/").lower() in api.origins.allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return run


def create_app(
    core: ChatCore, visitors: Visitors, settings: Settings, single_writer: bool = False
) -> Starlette:
    api = WebApi(
        core=core,
        visitors=visitors,
        origins=Origins.of(settings.web_allowed_origins),
        per_visitor=RateLimit(settings.web_messages_per_minute),
        per_address=RateLimit(settings.web_address_messages_per_minute),
        incoming_dir=settings.files_dir / "incoming-web",
        max_file_bytes=settings.max_attachment_bytes,
        identity_secret=settings.web_identity_secret,
        executor=ThreadPoolExecutor(1 if single_writer else STORE_THREADS, "web-store"),
        late_commits=not single_writer,
        wakeups=wakeups_for(visitors.sessions),
    )

    async def page(request: Request) -> Response:
        title, blocks = support_page()
        return TEMPLATES.TemplateResponse(
            request, "support.html", {"title": title, "blocks": blocks}
        )

    async def preflight(request: Request) -> Response:
        api.check_origin(request)
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": PREFLIGHT_HEADERS,
                "Access-Control-Max-Age": "600",
            },
        )

    def api_route(
        path: str, handler: Callable[[Request], Awaitable[Response]], method: str
    ) -> Route:
        return Route(path, _endpoint(handler, api), methods=[method])

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/favicon.ico", lambda request: Response(status_code=204), methods=["GET"]),
        api_route("/api/visitor", api.new_visitor, "POST"),
        api_route("/api/history", api.history, "GET"),
        api_route("/api/messages", api.send, "POST"),
        api_route("/api/files", api.upload, "POST"),
        api_route("/api/ack", api.acknowledge, "POST"),
        api_route("/api/poll", api.poll, "GET"),
        api_route("/api/events", api.events, "GET"),
        Route("/api/{rest:path}", _endpoint(preflight, api), methods=["OPTIONS"]),
        Mount("/widget", StaticFiles(directory=str(HERE / "static")), name="widget"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(api.feed.watch())
        yield
        watcher.cancel()
        api.executor.shutdown(wait=False)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, headers=SECURITY_HEADERS.items())],
        lifespan=lifespan,
    )
    app.state.api = api
    return app


def build_web_app(engine: Engine, settings: Settings) -> Starlette:
    """The web app over an engine: the channel sees it only through the contract."""
    core = EngineCore.of(engine)
    visitors = Visitors(engine.sessions, engine.clock, timedelta(days=settings.web_visitor_days))
    sqlite = engine.sessions.kw["bind"].dialect.name == "sqlite"
    return create_app(core, visitors, settings, single_writer=sqlite)
