"""Agent accounts of the desk: the `supportbot agents` commands, sessions and the sign-in limit."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from conftest import Clock
from supportbot.app import build_store
from supportbot.cli import app
from supportbot.config import Settings
from supportbot.desk.accounts import FAILURES_PER_NAME, SESSION_LIFETIME, Accounts
from supportbot.desk.accounts_cli import first_run_notice
from supportbot.engine import Engine

runner = CliRunner()


def agents(env: dict[str, str], *args: str, stdin: str = "", code: int = 0) -> str:
    result = runner.invoke(app, ["agents", *args], input=stdin, env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_add_list_passwd_remove_through_the_command(env: dict[str, str]) -> None:
    added = agents(env, "add", "lea", "--admin", "--password-stdin", stdin="correct horse\n")
    assert added.strip() == "agent lea added (admin)"
    agents(env, "add", "max", stdin="battery staple\nbattery staple\n")  # asked twice
    assert agents(env, "list").splitlines() == ["lea  admin", "max"]

    out = agents(env, "add", "lea", "--password-stdin", stdin="another one!\n", code=1)
    assert "already exists" in out
    assert "at least" in agents(env, "passwd", "max", "--password-stdin", stdin="short\n", code=1)
    agents(env, "passwd", "max", "--password-stdin", stdin="a longer secret\n")
    agents(env, "add", "bob", stdin="first try!!\nsecond try!\n", code=1)  # the two differ

    accounts = Accounts(build_store_for(env), Clock())
    assert accounts.sign_in("max", "a longer secret", "1.2.3.4") is not None
    assert accounts.sign_in("max", "battery staple", "1.2.3.4") is None

    agents(env, "remove", "max")
    assert agents(env, "list").splitlines() == ["lea  admin"]
    assert "no agent named" in agents(env, "remove", "max", code=1)


def build_store_for(env: dict[str, str]) -> sessionmaker[Session]:
    url = env["SUPPORTBOT_DATABASE_URL"]
    return build_store(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]


def test_list_without_a_database_says_so(env: dict[str, str]) -> None:
    assert "no database" in agents(env, "list", code=1)


def test_a_session_ends_with_sign_out_expiry_and_a_new_password(engine: Engine) -> None:
    clock = Clock()
    accounts = Accounts(engine.sessions, clock)
    accounts.add("lea", "correct horse")
    signed = accounts.sign_in("lea", "correct horse", "1.2.3.4")
    assert signed is not None
    agent, token = signed
    assert accounts.signed_in(token) == agent and agent.csrf
    accounts.sign_out(token)
    assert accounts.signed_in(token) is None

    _, token = accounts.sign_in("lea", "correct horse", "1.2.3.4") or ("", "")
    clock.now += SESSION_LIFETIME + timedelta(seconds=1)
    assert accounts.signed_in(token) is None

    _, token = accounts.sign_in("lea", "correct horse", "1.2.3.4") or ("", "")
    accounts.set_password("lea", "battery staple")
    assert accounts.signed_in(token) is None


def test_failed_sign_ins_are_limited_per_name_for_a_while(engine: Engine) -> None:
    clock = Clock()
    accounts = Accounts(engine.sessions, clock)
    accounts.add("lea", "correct horse")
    for _ in range(FAILURES_PER_NAME):
        assert not accounts.throttled("lea", "5.6.7.8")
        assert accounts.sign_in("lea", "wrong guess", "5.6.7.8") is None
    assert accounts.throttled("lea", "9.9.9.9")  # the name, from any address
    assert not accounts.throttled("max", "9.9.9.9")
    clock.now += timedelta(minutes=16)
    assert not accounts.throttled("lea", "5.6.7.8")


def test_the_first_agent_is_created_once_with_a_password_that_works(engine: Engine) -> None:
    accounts = Accounts(engine.sessions, Clock())
    notice = first_run_notice(accounts, "http://127.0.0.1:8000/desk/")
    assert notice is not None and "http://127.0.0.1:8000/desk/" in notice
    found = re.search(r"first agent: (\S+), one-time password: (\S+)", notice)
    assert found is not None
    name, password = found.groups()
    assert accounts.sign_in(name, password, "127.0.0.1") is not None
    assert accounts.ensure_first_agent() is None
    assert first_run_notice(accounts, "http://127.0.0.1:8000/desk/") is None
    assert [a.name for a in accounts.all()] == [name]
