"""Runtime settings: one object, read once from SUPPORTBOT_* variables and .env."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    order_number_pattern: str = r"\d{6,12}"
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    sla_hours: float = 48.0
    match_threshold: float | None = None
    retention_days: int = Field(default=365, gt=0)

    @property
    def faq_dir(self) -> Path:
        return self.content_dir / "faq"

    @property
    def flows_dir(self) -> Path:
        return self.content_dir / "flows"
