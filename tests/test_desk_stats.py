"""The desk's stats page: every figure, chart table and CSV equal to what
`supportbot stats --json` prints for the same period."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.testclient import TestClient

from conftest import Chat, Clock
from supportbot.config import Settings
from supportbot.engine import Engine
from test_desk_web import client, sign_in  # noqa: F401  (the desk's fixtures)
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
