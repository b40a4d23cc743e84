"""The FAQ gaps on `/desk/stats`: the groups `supportbot faq gaps` prints, and the draft
entry `supportbot faq draft N` writes, with the same code (`supportbot.faq_tools`).

A group is named by its number *and* its most frequent question: numbers shift when new
questions come in, so a button pressed on an older page never drafts another group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session, sessionmaker

from supportbot.content import Content
from supportbot.store import AnswerFeedback, UnansweredQuestion

if TYPE_CHECKING:
    from supportbot.faq_tools import Gap, Ranker


class GapsChanged(ValueError):
    """The group asked for is no longer the one the page showed."""


class DraftRefused(ValueError):
    """The draft could not be written (it exists already, say): the message says why."""


# The groups of a period are kept this long while the questions they come from are
# unchanged: the stats page shows them without grouping every question again per view.
KEEP_SECONDS = 300.0
KEEP_PERIODS = 16  # periods kept at once (each page's "since")


def _questions_mark(db: Session) -> tuple[Any, ...]:
    """What changes whenever the questions `faq gaps` groups change: rows are only added
    (a higher id) or deleted by the retention (a lower count, a higher lowest id)."""
    marks: list[Any] = []
    for table, wanted in (
        (UnansweredQuestion, true()),
        (AnswerFeedback, AnswerFeedback.helpful.is_(False)),
    ):
        row = db.execute(
            select(func.count(), func.min(table.id), func.max(table.id)).where(wanted)
        ).one()
        marks.extend(row)
    return tuple(marks)


@dataclass(frozen=True)
class _Kept:
    mark: tuple[Any, ...]
    at: float
    gaps: list[Gap]


@dataclass
class FaqGaps:
    content: Content
    root: Path  # where faq/drafts/ is written (the content folder)
    clock: Callable[[], float] = time.monotonic
    _ranker: Ranker | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _kept: dict[datetime | None, _Kept] = field(default_factory=dict)

    def ranker(self) -> Ranker:
        """The matcher `faq gaps` uses (built once, at the first use: numpy and scipy)."""
        with self._lock:
            if self._ranker is None:
                from supportbot.matching import Matcher

                self._ranker = Matcher.from_pairs(
                    self.content.pairs(), synonyms=self.content.synonyms
                )
            return self._ranker

    def groups(self, sessions: sessionmaker[Session], since: datetime | None) -> list[Gap]:
        """The groups `faq gaps` finds since ``since``: grouped again only when the
        questions changed, or once ``KEEP_SECONDS`` passed."""
        from supportbot.faq_tools import find_gaps

        ranker = self.ranker()
        with sessions() as db:
            mark, now = _questions_mark(db), self.clock()
            kept = self._kept.get(since)
            if kept is not None and kept.mark == mark and now - kept.at < KEEP_SECONDS:
                return kept.gaps
            gaps = find_gaps(db, ranker, self.content, since)
        with self._lock:
            if len(self._kept) >= KEEP_PERIODS and since not in self._kept:
                self._kept.pop(min(self._kept, key=lambda k: self._kept[k].at))
            self._kept[since] = _Kept(mark, now, gaps)
        return gaps

    def groups_shown(
        self, sessions: sessionmaker[Session], since: datetime | None
    ) -> list[dict[str, Any]]:
        """Each group as `faq gaps --json` prints it, with the question that names it."""
        return [
            {**gap.as_dict(), "first": gap.distinct()[0]} for gap in self.groups(sessions, since)
        ]

    def draft(
        self, sessions: sessionmaker[Session], since: datetime | None, number: int, first: str
    ) -> Path:
        """Write the draft entry of group ``number`` (faq/drafts/ID.yaml, never served);
        GapsChanged if that group is no longer the one named by ``first``, DraftRefused
        if the draft cannot be written (it exists already, say)."""
        from supportbot.faq_tools import (
            FaqToolError,
            pick_gap,
            render_draft,
            suggest_id,
            write_draft,
        )

        gaps = self.groups(sessions, since)
        if not 1 <= number <= len(gaps) or gaps[number - 1].distinct()[0] != first:
            raise GapsChanged(number)
        gap = pick_gap(gaps, number)
        entry_id = suggest_id(gap, self.content)
        try:
            return write_draft(self.root, entry_id, render_draft(gap, self.content, entry_id))
        except FaqToolError as err:
            raise DraftRefused(str(err)) from err
