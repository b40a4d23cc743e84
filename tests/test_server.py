"""`supportbot serve`'s application: the web chat and the agent desk in one server."""

from __future__ import annotations

import sys

import pytest
from starlette.testclient import TestClient

from supportbot.config import Settings
from supportbot.desk.accounts import Accounts
from supportbot.engine import Engine
from supportbot.server import Parts, build_server, uvicorn_parts


def test_the_chat_page_and_the_desk_are_served_together(engine: Engine, settings: Settings) -> None:
    with TestClient(build_server(engine, settings)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "widget.js" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        desk = client.get("/desk/", follow_redirects=False)
        assert desk.status_code == 303 and "/desk/signin" in desk.headers["location"]
        signin = client.get(desk.headers["location"])
        assert signin.status_code == 200 and "csrf" in signin.text.lower()
        assert "default-src 'self'" in signin.headers["content-security-policy"]


def test_the_first_start_creates_one_agent_whose_password_signs_in(
    engine: Engine, settings: Settings
) -> None:
    accounts = Accounts(engine.sessions, engine.clock)
    created = accounts.ensure_first_agent()
    assert created is not None and accounts.ensure_first_agent() is None  # once
    name, password = created
    with TestClient(build_server(engine, settings), base_url="http://127.0.0.1") as client:
        form = client.get("/desk/signin")
        token = form.text.split('name="csrf" value="')[1].split('"')[0]
        signed = client.post(
            "/desk/signin",
            data={"name": name, "password": password, "csrf": token},
            follow_redirects=True,
        )
        assert signed.status_code == 200 and "/desk/signin" not in str(signed.url)


def test_each_path_goes_to_its_app_with_that_apps_headers(
    engine: Engine, settings: Settings
) -> None:
    with TestClient(build_server(engine, settings)) as client:
        desk = client.get("/desk/signin")
        assert desk.status_code == 200 and desk.headers["cache-control"] == "no-store"
        widget = client.get("/widget/widget.js")
        assert widget.status_code == 200 and "cache-control" not in widget.headers
        assert "default-src 'self'" in widget.headers["content-security-policy"]
        # Only /desk/... is the desk's (as a mount at /desk): the rest is the web chat's.
        for path in ("/desk", "/desktop", "/nope"):
            missing = client.get(path, follow_redirects=False)
            assert missing.status_code == 404 and "cache-control" not in missing.headers
        assert client.options("/api/messages").status_code == 204


def test_uvicorn_runs_on_uvloop_and_httptools_where_they_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert uvicorn_parts() == Parts("uvloop", "httptools")  # installed with uvicorn[standard]
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as where they would be missing
    monkeypatch.setitem(sys.modules, "httptools", None)
    assert uvicorn_parts() == Parts("asyncio", "h11")
