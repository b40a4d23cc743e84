"""What a button says when it is pressed: one typed value, encoded once.

A button's payload travels as text (Telegram's callback data, the web widget, the
outbox's rows), ``kind`` then its arguments joined by ":" ("flow:order-problem",
"rate:SAV-2612-AB12C:4"). Everything that makes or reads one goes through
:class:`Payload`: the engine, the flows and the cases never split strings themselves.
Channels pass payloads through unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    FAQ = "faq"  # an FAQ entry: (id,)
    FLOW = "flow"  # start a request: (flow id,)
    THEME = "theme"  # the entries of a theme: (theme,)
    MENU = "menu"
    REQUESTS = "requests"  # which request to open
    NOMATCH = "nomatch"  # none of the "did you mean" offers
    FEEDBACK = "fb"  # 👍/👎 under an answer: ("up" | "down", FAQ id)
    RATE = "rate"  # a closed request's rating: (reference, score)
    SOLUTION = "solution"  # a proposed solution: ("yes" | "no", reference)
    LANG = "lang"  # the chat's language: ("fr" | "en",)
    FORGET = "forget"  # /forget confirmed or not: ("yes" | "no",)
    # inside a request
    CHOICE = "choice"  # an answer among choices, or yes/no: (value,)
    EDIT = "edit"  # change one answer at the summary: (step id,)
    SWITCH = "switch"  # leave this request for another: (flow id,)
    RESUME = "resume"  # carry on with the request under way
    KEEP = "keep"
    WHICH_TO_FIX = "which_to_fix"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    BACK = "back"
    SKIP = "skip"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Payload:
    kind: Kind
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ":".join((self.kind.value, *self.args))

    @property
    def arg(self) -> str:
        """The first argument, or "" when there is none."""
        return self.args[0] if self.args else ""

    @classmethod
    def parse(cls, raw: str | None) -> Payload | None:
        """The payload a button sent, or None for no payload or one no button makes."""
        if not raw:
            return None
        kind, *args = raw.split(":")
        try:
            return cls(Kind(kind), tuple(args))
        except ValueError:
            return None

    def is_(self, kind: Kind, *args: str) -> bool:
        return self.kind is kind and self.args[: len(args)] == args


def make(kind: Kind, *args: object) -> str:
    """The text of a payload: ``make(Kind.RATE, "SAV-2612-AB12C", 4)``."""
    return str(Payload(kind, tuple(str(a) for a in args)))
