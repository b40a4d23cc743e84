"""Agent accounts: names, argon2 password hashes, signed-in sessions and failed sign-ins.

A session is a random token the browser keeps in a cookie; only its SHA-256 is
stored, with the CSRF token of the forms it may post. Changing a password or
removing an account ends that agent's sessions. Failed sign-ins are stored (not
kept in memory) so that every worker applies the same limit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ForeignKey, String, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from supportbot.store import Base, UTCDateTime

NAME = re.compile(r"^[\w.-]{1,40}$")
MIN_PASSWORD = 10
SESSION_LIFETIME = timedelta(hours=12)
# Sign-in failures counted over this window: per name (guessing one agent's password)
# and per address (trying many names).
FAILURE_WINDOW = timedelta(minutes=15)
FAILURES_PER_NAME = 5
FAILURES_PER_ADDRESS = 20


class AgentAccount(Base):
    __tablename__ = "agent_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agent_accounts.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignInFailure(Base):
    __tablename__ = "agent_signin_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AccountError(ValueError):
    """A refused account change, with a message an operator can act on."""


@dataclass(frozen=True)
class Agent:
    """A signed-in agent, or an account as listed."""

    name: str
    admin: bool
    csrf: str = ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(12)


@dataclass
class Accounts:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    _decoy_hash: str = field(default="", init=False)

    # -- accounts ----------------------------------------------------------------

    def add(self, name: str, password: str, admin: bool = False) -> Agent:
        if not NAME.match(name):
            raise AccountError(
                f"invalid name {name!r}: 1 to 40 letters, digits, '.', '-' or '_', no space"
            )
        self._check_strength(password)
        with self.sessions.begin() as db:
            if self._account(db, name) is not None:
                raise AccountError(f"an agent named {name!r} already exists")
            db.add(
                AgentAccount(
                    name=name,
                    password_hash=self.hasher.hash(password),
                    admin=admin,
                    created_at=self.clock(),
                )
            )
        return Agent(name, admin)

    def set_password(self, name: str, password: str) -> None:
        """A new password; the agent's open sessions end."""
        self._check_strength(password)
        with self.sessions.begin() as db:
            account = self._existing(db, name)
            account.password_hash = self.hasher.hash(password)
            db.execute(delete(AgentSession).where(AgentSession.agent_id == account.id))

    def remove(self, name: str) -> None:
        with self.sessions.begin() as db:
            account = self._existing(db, name)
            db.execute(delete(AgentSession).where(AgentSession.agent_id == account.id))
            db.delete(account)

    def all(self) -> list[Agent]:
        with self.sessions() as db:
            rows = db.scalars(select(AgentAccount).order_by(AgentAccount.name)).all()
            return [Agent(a.name, a.admin) for a in rows]

    def ensure_first_agent(self, name: str = "admin") -> tuple[str, str] | None:
        """With no account at all, one admin with a random password: its name and that
        one-time password (to print where the desk starts); None when agents exist."""
        with self.sessions() as db:
            if db.scalar(select(func.count()).select_from(AgentAccount)):
                return None
        password = new_password()
        self.add(name, password, admin=True)
        return name, password

    @staticmethod
    def _check_strength(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")

    @staticmethod
    def _account(db: Session, name: str) -> AgentAccount | None:
        return db.scalar(select(AgentAccount).where(AgentAccount.name == name))

    def _existing(self, db: Session, name: str) -> AgentAccount:
        account = self._account(db, name)
        if account is None:
            raise AccountError(f"no agent named {name!r}")
        return account

    # -- signing in ----------------------------------------------------------------

    def throttled(self, name: str, address: str) -> bool:
        """Too many recent failures for this name or from this address."""
        since = self.clock() - FAILURE_WINDOW
        with self.sessions() as db:
            recent = select(func.count()).where(SignInFailure.at >= since)
            by_name = db.scalar(recent.where(SignInFailure.name == name[:40])) or 0
            by_address = db.scalar(recent.where(SignInFailure.address == address[:64])) or 0
        return by_name >= FAILURES_PER_NAME or by_address >= FAILURES_PER_ADDRESS

    def sign_in(self, name: str, password: str, address: str) -> tuple[Agent, str] | None:
        """The agent and a new session token, or None (the failure is recorded)."""
        now = self.clock()
        with self.sessions.begin() as db:
            account = self._account(db, name)
            if account is None:
                self._verify(AgentAccount(password_hash=self._decoy()), password)  # same time
            if account is None or not self._verify(account, password):
                db.add(SignInFailure(name=name[:40], address=address[:64], at=now))
                return None
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.add(
                AgentSession(
                    token_hash=_digest(token),
                    agent_id=account.id,
                    csrf=csrf,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
            stale = or_(SignInFailure.name == name, SignInFailure.at < now - FAILURE_WINDOW)
            db.execute(delete(SignInFailure).where(stale))
            db.execute(delete(AgentSession).where(AgentSession.expires_at < now))
            return Agent(account.name, account.admin, csrf), token

    def _decoy(self) -> str:
        """A hash to check an unknown name's password against: a sign-in takes as long
        whether the name exists or not."""
        if not self._decoy_hash:
            self._decoy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        return self._decoy_hash

    def _verify(self, account: AgentAccount, password: str) -> bool:
        try:
            self.hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if self.hasher.check_needs_rehash(account.password_hash):
            account.password_hash = self.hasher.hash(password)
        return True

    def signed_in(self, token: str | None) -> Agent | None:
        """The agent a session token belongs to, while it has not expired."""
        if not token:
            return None
        with self.sessions() as db:
            row = db.execute(
                select(AgentAccount.name, AgentAccount.admin, AgentSession.csrf)
                .join(AgentSession, AgentSession.agent_id == AgentAccount.id)
                .where(
                    AgentSession.token_hash == _digest(token),
                    AgentSession.expires_at > self.clock(),
                )
            ).first()
        return None if row is None else Agent(row.name, row.admin, row.csrf)

    def sign_out(self, token: str | None) -> None:
        if not token:
            return
        with self.sessions.begin() as db:
            db.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(token)))
