"""Migrations run up and down cleanly, and the models never drift from them."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

# Tables of the metadata beyond the store's: Telegram's, the desk's, the web visitors'.
import supportbot.channels.telegram.store
import supportbot.desk.accounts
import supportbot.visitors  # noqa: F401
from conftest import database_url
from supportbot.migrate import downgrade, upgrade
from supportbot.store import Base, make_engine


def test_up_down_up(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))
    upgrade(engine)
    assert {"tickets", "outbox", "flow_events", "telegram_updates"} <= set(
        inspect(engine).get_table_names()
    )
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert "tickets" in inspect(engine).get_table_names()
    engine.dispose()


def test_models_match_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(database_url(tmp_path))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff
    engine.dispose()
