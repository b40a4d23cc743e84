"""Logging of the long-running processes: time, level and source on each line, secrets never.

Records carry ids, not what customers wrote (see the privacy section of the
README); this module makes sure a secret such as the bot token, which libraries
may put in their own messages and tracebacks, is masked in whatever is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# PTB's retry loop logs a full traceback for each network error (polling, start-up);
# the one line says it, and start-up errors are reported by us in one line anyway.
_RETRY_LOOP = "Network Retry Loop"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks every secret in the text, traceback included."""

    def __init__(self, secrets: Iterable[str], fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.getMessage().startswith(_RETRY_LOOP):
            record = logging.makeLogRecord(record.__dict__)
            record.exc_info, record.exc_text = None, None
        formatted = super().format(record)
        for secret in self.secrets:
            formatted = formatted.replace(secret, "[hidden]")
        return formatted


def configure(secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    """One handler on stderr for the whole process (replacing any earlier one)."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request to Telegram: too much at INFO, and it holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
