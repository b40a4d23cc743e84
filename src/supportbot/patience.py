"""Store calls from an async channel that wait out a database away for seconds.

A PostgreSQL restart, a failover or a SQLite file locked by a long writer makes
every statement fail for a few seconds. A channel that gives up at once answers
"try again" for a message it has in fact taken in, or sends a message again
because marking it delivered failed. ``patiently`` runs a store call in a worker
thread and tries again, with a growing pause, until it holds or ``patience``
runs out; only then does the error go up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from supportbot.store import StoreUnavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

PATIENCE = 30.0  # seconds: longer than a database restart or a failover
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 2.0


def store_trouble(err: BaseException) -> bool:
    """The store could not be reached (or was locked), as opposed to a bug in a statement."""
    if isinstance(err, StoreUnavailable):
        return True
    if isinstance(err, OperationalError | InterfaceError):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


async def patiently(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in a thread, tried again while the store is away."""
    return await within(PATIENCE, call, *args, **kwargs)


async def within(patience: float, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """As ``patiently``, giving up after ``patience`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    pause = FIRST_PAUSE
    while True:
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except Exception as err:
            if not store_trouble(err) or loop.time() + pause > deadline:
                raise
            log.warning(
                "store unavailable for %s (%s): trying again in %.1f s",
                getattr(call, "__name__", "a call"),
                type(err).__name__,
                pause,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
