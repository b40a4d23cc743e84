"""The desk's stats page: every figure, chart table and CSV equal to what
`supportbot stats --json` prints for the same period."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from conftest import Chat, Clock
from supportbot.config import Settings
from supportbot.desk.accounts import Accounts
from supportbot.desk.gaps import KEEP_SECONDS, FaqGaps
from supportbot.desk.web import desk_app
from supportbot.engine import Engine
from supportbot.faq_tools import check_drafts, find_gaps
from supportbot.store import UnansweredQuestion
from test_desk_web import PASSWORD, client, hidden_fields, sign_in  # noqa: F401
from test_stats_periods import NOVEMBER, command_stats, seed

PERIOD = "since=2026-11-01&until=2026-12-01&by=day"


def test_every_figure_of_the_stats_page_equals_stats_json_for_the_same_period(
    client: TestClient,  # noqa: F811
    engine: Engine,
    settings: Settings,
    clock: Clock,
    new_chat: Callable[..., Chat],
    env: dict[str, str],
) -> None:
    seed(engine, clock, new_chat)
    clock.now = datetime.now(UTC)  # as the command's clock: the same decided deadlines
    command = command_stats(settings, env, *NOVEMBER)

    sign_in(client)
    page = client.get(f"/desk/stats?{PERIOD}")
    assert page.status_code == 200 and "<svg" in page.text and "<script>" not in page.text
    shown = dict(re.findall(r'<dd id="fig-([\w-]+)">([^<]*)</dd>', page.text))
    for name, value in shown.items():
        part, _, key = name.partition("-")
        expected = command[part][key] if key else command[part]
        assert value == ("-" if expected is None else str(expected)), name

    series = read_csv(client.get(f"/desk/stats/series.csv?{PERIOD}").text)
    assert series == [
        [
            b["start"],
            str(b["opened"]),
            str(b["closed"]),
            str(b["answered_without_ticket"]),
            str(b["deflection"]),
            ""
            if b["first_response_median_hours"] is None
            else str(b["first_response_median_hours"]),
            "" if b["first_response_p90_hours"] is None else str(b["first_response_p90_hours"]),
        ]
        for b in command["series"]
    ]
    ratings = read_csv(client.get(f"/desk/stats/ratings.csv?{PERIOD}").text)
    assert ratings == [[k, str(v)] for k, v in command["rating_distribution"].items()]
    drop = read_csv(client.get(f"/desk/stats/drop_off.csv?{PERIOD}").text)
    assert drop == [
        [flow, step, str(runs)]
        for flow, steps in command["flow_drop_off"].items()
        for step, runs in steps.items()
    ]


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]  # without the headings


def test_the_stats_and_their_downloads_need_a_signed_in_agent(
    client: TestClient,  # noqa: F811
) -> None:
    assert client.get("/desk/stats", follow_redirects=False).status_code == 303
    assert client.get("/desk/stats/series.csv").status_code == 403


def test_faq_gaps_show_on_the_stats_page_and_an_admin_writes_a_group_s_draft(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    content_dir = tmp_path / "content"  # drafts are written here, never in the repository
    own = settings.model_copy(update={"content_dir": content_dir})
    accounts = Accounts(engine.sessions, engine.tickets.clock)
    accounts.add("boss", PASSWORD, admin=True)
    accounts.add("lea", PASSWORD)
    with engine.sessions.begin() as db:
        for text in ("peut-on payer en bitcoin ?", "paiement en bitcoin possible ?"):
            db.add(UnansweredQuestion(text=text, language="fr", at=engine.clock()))
    desk = TestClient(Starlette(routes=[Mount("/desk", desk_app(engine, own))]))

    sign_in(desk, "lea")
    page = desk.get("/desk/stats").text
    assert "peut-on payer en bitcoin ?" in page and "Réservé aux administrateurs" in page
    assert 'action="/desk/stats/gaps/draft"' not in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "group": "1", "first": "peut-on payer en bitcoin ?"}
    assert desk.post("/desk/stats/gaps/draft", data=form).status_code == 403
    assert not list((content_dir / "faq" / "drafts").glob("*.yaml"))

    sign_in(desk, "boss")
    page = desk.get("/desk/stats").text
    fields = hidden_fields(page, "/desk/stats/gaps/draft")
    assert fields["group"] == "1"
    moved = desk.post("/desk/stats/gaps/draft", data={**fields, "first": "autre chose"})
    assert moved.status_code == 409 and "Les groupes ont changé" in moved.text
    done = desk.post("/desk/stats/gaps/draft", data=fields)
    assert done.status_code == 200 and "Brouillon écrit : faq/drafts/" in done.text
    drafts = list((content_dir / "faq" / "drafts").glob("*.yaml"))
    assert len(drafts) == 1 and "bitcoin" in drafts[0].read_text("utf-8")
    again = desk.post("/desk/stats/gaps/draft", data=fields)  # the same group twice
    assert again.status_code == 400 and "already exists" in again.text
    assert check_drafts(content_dir, engine.content) == []  # valid, as `faq draft` writes it


def test_faq_gaps_are_grouped_again_only_when_the_questions_change(
    engine: Engine, settings: Settings
) -> None:
    """The stats page keeps the groups while no question came in (nor was deleted), and
    always shows what `faq gaps` finds."""
    now = [0.0]
    gaps = FaqGaps(engine.content, settings.content_dir, clock=lambda: now[0])

    def ask(text: str) -> None:
        with engine.sessions.begin() as db:
            db.add(UnansweredQuestion(text=text, language="fr", at=engine.clock()))

    def found_by_the_command() -> list[dict[str, object]]:
        with engine.sessions() as db:
            return [g.as_dict() for g in find_gaps(db, gaps.ranker(), engine.content)]

    ask("peut-on payer en bitcoin ?")
    first = gaps.groups(engine.sessions, None)
    assert gaps.groups(engine.sessions, None) is first  # kept: nothing changed
    ask("paiement en bitcoin possible ?")
    second = gaps.groups(engine.sessions, None)
    assert second is not first and [g.as_dict() for g in second] == found_by_the_command()
    assert second[0].as_dict()["size"] == 2
    with engine.sessions.begin() as db:
        db.execute(delete(UnansweredQuestion).where(UnansweredQuestion.text.like("peut-on%")))
    third = gaps.groups(engine.sessions, None)
    assert [g.as_dict() for g in third] == found_by_the_command()
    now[0] += KEEP_SECONDS + 1
    assert gaps.groups(engine.sessions, None) is not third  # kept a short while only
