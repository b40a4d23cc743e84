"""Who has a ticket open in the desk, and who is writing on it: "Lea is viewing / writing".

Kept in the store (one row per agent and ticket), so agents served by different workers
see each other. A ticket page says its agent is there every 10 s (its heartbeat), and
at once when they start typing; a row lapses ``VIEWING`` after it was last said, and
"writing" turns back to "viewing" ``WRITING`` after the last keystroke was reported.
Lapsed rows are ignored when read and deleted at the next write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from supportbot.store import Base, UTCDateTime

STATES = ("viewing", "writing")


class PresenceRow(Base):
    __tablename__ = "desk_presence"

    ticket: Mapped[str] = mapped_column(String(40), primary_key=True)  # its reference
    agent: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))  # "viewing" or "writing"
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass
class Presence:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    VIEWING = timedelta(seconds=30)
    WRITING = timedelta(seconds=10)

    def report(self, reference: str, agent: str, state: str) -> bool:
        """``agent`` says they are on the ticket ("viewing", "writing") or left ("gone");
        True when what others see of the ticket changed."""
        now = self.clock()
        with self.sessions.begin() as db:
            before = self._of(db, reference, now)
            db.execute(delete(PresenceRow).where(PresenceRow.expires_at <= now))
            if state in STATES:
                self._upsert(db, reference, agent, state, now + self.VIEWING)
            else:
                db.execute(
                    delete(PresenceRow).where(
                        PresenceRow.ticket == reference, PresenceRow.agent == agent
                    )
                )
            return self._of(db, reference, now) != before

    def of(self, reference: str) -> tuple[tuple[str, str], ...]:
        """(agent, "viewing" | "writing") of whoever is on the ticket, by name."""
        with self.sessions() as db:
            return self._of(db, reference, self.clock())

    def _of(self, db: Session, reference: str, now: datetime) -> tuple[tuple[str, str], ...]:
        rows = db.execute(
            select(PresenceRow.agent, PresenceRow.state, PresenceRow.expires_at)
            .where(PresenceRow.ticket == reference, PresenceRow.expires_at > now)
            .order_by(PresenceRow.agent)
        ).all()
        typed_since = now - self.WRITING + self.VIEWING  # a row said "writing" since then
        return tuple(
            (agent, "writing" if state == "writing" and expires > typed_since else "viewing")
            for agent, state, expires in rows
        )

    @staticmethod
    def _upsert(db: Session, reference: str, agent: str, state: str, expires: datetime) -> None:
        """One row per agent and ticket, even when two of its reports race."""
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(PresenceRow).values(
            ticket=reference, agent=agent, state=state, expires_at=expires
        )
        db.execute(
            statement.on_conflict_do_update(
                index_elements=["ticket", "agent"],
                set_={"state": state, "expires_at": expires},
            )
        )
