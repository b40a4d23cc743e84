"""Runtime settings: one object, read once from SUPPORTBOT_* variables and .env."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from supportbot.calendar import BusinessCalendar
from supportbot.jobs import JobSettings


class Settings(BaseSettings):
    """Everything an operator can configure; passed down, never read globally."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///var/supportbot.db"
    content_dir: Path = Path(".")
    files_dir: Path = Path("var/files")
    timezone: str = "Europe/Paris"
    default_language: str = "fr"
    telegram_token: str | None = None
    telegram_base_url: str | None = None
    agent_chat_id: int | None = None
    agent_user_ids: list[int] = Field(default_factory=list)  # JSON, e.g. [1234, 5678]
    order_number_pattern: str = r"\d{6,12}"
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    sla_hours: float = 48.0
    match_threshold: float | None = None
    retention_days: int = Field(default=365, gt=0)
    # Business calendar: French holidays of a subdivision (e.g. "57" for Moselle),
    # and opening hours like "09:00-18:00" (empty: the whole business day counts).
    holiday_subdivision: str | None = None
    opening_hours: str = Field(default="", pattern=r"^$|^\d{2}:\d{2}-\d{2}:\d{2}$")
    reopen_days: int = Field(default=7, ge=0)
    auto_close_days: int = Field(default=7, gt=0)
    info_reminder_hours: float = Field(default=72.0, gt=0)
    interim_before_hours: float = Field(default=8.0, ge=0)
    # Web chat: the sites allowed to embed the widget (JSON list of origins, e.g.
    # ["https://www.3dworksprints.fr"]; supportbot's own origin always is), how long a
    # visitor's token lives unused, and how many messages a visitor / an address may send.
    web_allowed_origins: list[str] = Field(default_factory=list)
    web_visitor_days: int = Field(default=90, gt=0)
    web_messages_per_minute: int = Field(default=20, gt=0)
    web_address_messages_per_minute: int = Field(default=120, gt=0)
    # Shared with a marketplace that signs its logged-in customers' identities (HMAC).
    web_identity_secret: str | None = None
    # The desk's cookies only over HTTPS (set it behind an HTTPS proxy that speaks plain
    # HTTP to supportbot; a request arriving over HTTPS gets them anyway).
    desk_secure_cookie: bool = False

    def calendar(self) -> BusinessCalendar:
        """The business calendar these settings describe."""
        opening = None
        if self.opening_hours:
            start, end = (time.fromisoformat(p) for p in self.opening_hours.split("-"))
            opening = (start, end)
        return BusinessCalendar(
            timezone=self.timezone, subdivision=self.holiday_subdivision, opening=opening
        )

    def job_settings(self) -> JobSettings:
        return JobSettings(
            interim_before_hours=self.interim_before_hours,
            info_reminder_hours=self.info_reminder_hours,
            auto_close_after=timedelta(days=self.auto_close_days),
            retention_days=self.retention_days,
        )

    @property
    def faq_dir(self) -> Path:
        return self.content_dir / "faq"

    @property
    def flows_dir(self) -> Path:
        return self.content_dir / "flows"
