"""What `supportbot serve` serves: the web chat at ``/`` and the agent desk at ``/desk``.

Both run over the same engine and store in one process; each part sets its own
security headers. The web chat's lifespan (the outbox watcher that wakes the open
streams) is the server's."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Mount

from supportbot.channels.web.app import build_web_app
from supportbot.config import Settings
from supportbot.desk.web import desk_app
from supportbot.engine import Engine


def build_server(engine: Engine, settings: Settings) -> Starlette:
    web = build_web_app(engine, settings)
    desk = desk_app(engine, settings)
    return Starlette(
        routes=[Mount("/desk", desk), Mount("/", web)],
        lifespan=web.router.lifespan_context,
    )


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
