"""What `supportbot serve` serves: the web chat at ``/`` and the agent desk at ``/desk``.

Both run over the same engine and store in one process; each part sets its own
security headers. The web chat's lifespan (the outbox watcher that wakes the open
streams) is the server's. A request goes through one application's stack, not two:
the desk's paths are mounted as ``Mount("/desk", desk)`` mounts them, every other path
goes straight to the web chat (the path that carries the load).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from supportbot.channels.web.app import build_web_app
from supportbot.config import Settings
from supportbot.desk.web import desk_app
from supportbot.engine import Engine


class Server:
    """The desk under ``/desk/``, everything else (the lifespan included) to the web chat."""

    def __init__(self, web: ASGIApp, desk: ASGIApp) -> None:
        self.web = web
        self.desk = Mount("/desk", desk)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            match, child = self.desk.matches(scope)
            if match is Match.FULL:  # as a router does: the desk sees root_path /desk
                scope.update(child)
                await self.desk.handle(scope, receive, send)
                return
        await self.web(scope, receive, send)


def build_server(engine: Engine, settings: Settings) -> Server:
    return Server(build_web_app(engine, settings), desk_app(engine, settings))


@dataclass(frozen=True, slots=True)
class Parts:
    """What uvicorn runs on: its event loop and its HTTP parser."""

    loop: str
    http: str


def uvicorn_parts() -> Parts:
    """uvloop and httptools where they load (``uvicorn[standard]``, a dependency), else
    asyncio and h11, which uvicorn always has: serving works either way, faster with them."""
    return Parts(
        "uvloop" if _loads("uvloop") else "asyncio",
        "httptools" if _loads("httptools") else "h11",
    )


def _loads(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
