"""`/desk/stats`: the figures of `supportbot stats --json` for a period, as SVG charts with
their tables, and each table as CSV.

The page reads ``Stats.as_dict()``, the very dictionary the command prints, so a
figure on the page is the command's figure for the same period.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

import typer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from supportbot.desk.accounts import Agent
from supportbot.desk.charts import Chart, bar_chart
from supportbot.desk.gaps import DraftRefused, GapsChanged
from supportbot.desk.guard import Gate, base, form_of
from supportbot.desk.texts import say
from supportbot.desk.web import Site, language
from supportbot.faq_cli import iso_moment
from supportbot.stats import Period, compute_stats

TABLES = ("series", "ratings", "drop_off", "gaps")


def _moment(value: str, site: Site) -> datetime | None:
    try:
        return iso_moment(value, site.settings) if value else None
    except typer.BadParameter:
        return None


def figures(site: Site, since: datetime | None, until: datetime | None, by: Period) -> Any:
    """What `supportbot stats --json --since … --until … --by …` prints, as a dictionary."""
    tickets = site.desk.tickets
    with site.desk.sessions() as db:
        stats = compute_stats(
            db,
            tickets.clock(),
            since,
            until,
            calendar=tickets.calendar,
            by=by,
            target_hours=tickets.sla_hours,
        )
    return stats.as_dict()


def tables(data: dict[str, Any], lang: str) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the page: headings and rows, the same numbers as the charts."""

    def t(key: str) -> str:
        return say(lang, key)

    series = data["series"]
    drop = [
        [flow, step, runs]
        for flow, steps in data["flow_drop_off"].items()
        for step, runs in steps.items()
    ]
    return {
        "series": (
            [
                t("start"),
                t("opened"),
                t("closed"),
                t("answered"),
                t("deflection"),
                t("median"),
                t("p90"),
            ],
            [
                [
                    b["start"],
                    b["opened"],
                    b["closed"],
                    b["answered_without_ticket"],
                    b["deflection"],
                    b["first_response_median_hours"],
                    b["first_response_p90_hours"],
                ]
                for b in series
            ],
        ),
        "ratings": (
            [t("rating"), t("count")],
            [[score, count] for score, count in data["rating_distribution"].items()],
        ),
        "drop_off": ([t("flow"), t("step"), t("runs")], drop),
        "gaps": (
            [t("count"), t("example")],
            [[g["count"], g["example"]] for g in data["top_unanswered"]],
        ),
    }


def charts(data: dict[str, Any], lang: str) -> list[Chart]:
    def t(key: str, **values: Any) -> str:
        return say(lang, key, **values)

    series = data["series"]
    days = [b["start"] for b in series]
    target = data["first_response"]["target_hours"]
    found = [
        bar_chart(
            "opened-closed",
            t("opened_closed"),
            days,
            [
                (t("opened"), [b["opened"] for b in series]),
                (t("closed"), [b["closed"] for b in series]),
            ],
        ),
        bar_chart(
            "deflection",
            t("deflection") + " (%)",
            days,
            [(t("deflection"), [round(b["deflection"] * 100, 2) for b in series])],
        ),
        bar_chart(
            "first-response",
            t("first_response"),
            days,
            [
                (t("median"), [b["first_response_median_hours"] for b in series]),
                (t("p90"), [b["first_response_p90_hours"] for b in series]),
            ],
            target,
            t("within_sla", hours=target),
        ),
        bar_chart(
            "ratings",
            t("ratings"),
            [f"{score} ★" for score in data["rating_distribution"]],
            [(t("count"), list(data["rating_distribution"].values()))],
        ),
    ]
    for flow, steps in data["flow_drop_off"].items():
        found.append(
            bar_chart(
                f"drop-off-{flow}",
                f"{t('drop_off')} · {flow}",
                list(steps),
                [(t("runs"), list(steps.values()))],
            )
        )
    return found


def _period(request: Request) -> tuple[str, str, Period]:
    params = request.query_params
    by = Period.WEEK if params.get("by") == "week" else Period.DAY
    return params.get("since", "")[:40], params.get("until", "")[:40], by


async def _figures_asked(request: Request, site: Site) -> Any:
    since, until, by = _period(request)
    return await run_in_threadpool(figures, site, _moment(since, site), _moment(until, site), by)


async def stats_page(
    request: Request, agent: Agent, site: Site, status: int = 200, gap_error: str = ""
) -> Response:
    since, until, by = _period(request)
    data = await _figures_asked(request, site)
    groups = await run_in_threadpool(
        site.gaps.groups_shown, site.desk.sessions, _moment(since, site)
    )
    lang = language(request)
    drafted = request.query_params.get("drafted", "")
    return site.render(
        request,
        "stats.html",
        agent,
        status,
        data=data,
        charts=charts(data, lang),
        tables=tables(data, lang),
        since=since,
        until=until,
        by=by.value,
        query=_period_query(since, until, by),
        groups=groups,
        drafted=drafted if DRAFTED.fullmatch(drafted) else "",
        gap_error=gap_error,
    )


DRAFTED = re.compile(r"faq/drafts/[a-z0-9][a-z0-9-]*\.yaml")


def _period_query(since: str, until: str, by: Period) -> str:
    return urlencode({"since": since, "until": until, "by": by.value})


async def draft_gap(request: Request, agent: Agent, site: Site) -> Response:
    """An admin's button: the draft FAQ entry of one group (`supportbot faq draft N`)."""
    fields = await form_of(request, agent)
    if fields is None:
        return site.bad_form(request, agent)
    if not agent.admin:
        return site.render(request, "refused.html", agent, 403, message="admin_only")
    since, number, first = (
        fields.get("since", "")[:40],
        fields.get("group", ""),
        fields.get("first", ""),
    )
    if not number.isdigit():
        return site.bad_form(request, agent)
    try:
        path = await run_in_threadpool(
            site.gaps.draft, site.desk.sessions, _moment(since, site), int(number), first
        )
    except GapsChanged:
        return await stats_page(request, agent, site, 409, say(language(request), "gaps_changed"))
    except DraftRefused as err:
        return await stats_page(request, agent, site, 400, str(err))
    drafted = path.relative_to(site.gaps.root).as_posix()
    query = urlencode({"since": since, "drafted": drafted})
    return RedirectResponse(f"{base(request)}/stats?{query}#gaps", 303)


async def stats_csv(request: Request, agent: Agent, site: Site) -> Response:
    name = request.path_params["table"]
    if name not in TABLES:
        return PlainTextResponse("not found", 404)
    data = await _figures_asked(request, site)
    headings, rows = tables(data, language(request))[name]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="supportbot-{name}.csv"'},
    )


def stats_routes(site: Site, gate: Gate) -> list[Route]:
    return [
        Route("/stats", gate.page(partial(stats_page, site=site))),
        Route("/stats/gaps/draft", gate.private(partial(draft_gap, site=site)), methods=["POST"]),
        Route("/stats/{table}.csv", gate.private(partial(stats_csv, site=site))),
    ]
