"""The ticket page: its card, files, conversation and history, and every console action.

Each form carries an idempotence key made when the page was rendered (a double
click or a resent form is applied once) and the version of the ticket the agent
saw: an action on a ticket that changed since is refused, the typed text kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from supportbot.agent_console import AGENT_ERRORS, fill_template, is_overdue, send_template
from supportbot.agents import KeyInUse, TicketChanged, TicketView
from supportbot.desk.accounts import Agent
from supportbot.desk.card import customer_name, readable_answers
from supportbot.desk.guard import Gate, base, form_of
from supportbot.desk.history import EventLine, StoredEvent, event_line
from supportbot.desk.web import Site, language, new_key
from supportbot.replies import UnknownTemplate
from supportbot.tickets import CustomerErased, InvalidTransition, TicketNotFound

# Shown in the page, never a download: the formats a browser displays without running
# anything (no SVG: it may carry a script).
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
TEXT_ACTIONS = ("reply", "ask", "propose", "note")
ACTIONS = ("take", *TEXT_ACTIONS, "close")


@dataclass(frozen=True)
class TicketPage:
    view: TicketView
    flow: str
    language: str
    created_at: datetime
    channel: str
    customer: str  # the customer's name, or a short id: never the stored id
    answers: list[tuple[str, str]]  # (the question's label, the answer as a person reads it)
    history: list[EventLine]


def read_ticket(site: Site, reference: str, lang: str = "fr") -> TicketPage:
    with site.desk.sessions() as db:
        ticket = site.desk.tickets.get(db, reference)
        customer, flow = ticket.customer, site.content.flows.get(ticket.flow_id)
        history = [
            event_line(StoredEvent(e.at, e.kind, e.author, e.text, e.data), flow, lang)
            for e in ticket.events
        ]
        return TicketPage(
            TicketView.of(ticket),
            ticket.flow_id,
            ticket.language,
            ticket.created_at,
            customer.channel,
            customer_name(customer.name, customer.external_id, lang),
            readable_answers(flow, ticket.fields, lang),
            history,
        )


# The domain's refusals, each by the catalog's words (their own messages are English).
REFUSALS: dict[type[Exception], str] = {
    InvalidTransition: "refused_transition",
    CustomerErased: "refused_erased",
    UnknownTemplate: "refused_template",
    KeyInUse: "refused_key",
    TicketNotFound: "not_found",
}


async def ticket_page(
    request: Request,
    agent: Agent,
    site: Site,
    status: int = 200,
    notice: str = "",
    error: str = "",
    draft: dict[str, str] | None = None,
) -> Response:
    reference = request.path_params["ref"]
    try:
        page = await run_in_threadpool(read_ticket, site, reference, language(request))
    except TicketNotFound:
        return site.render(request, "refused.html", agent, 404, message="not_found")
    notice = notice or {"1": "done", "2": "repeated"}.get(request.query_params.get("done", ""), "")
    return site.render(
        request,
        "ticket.html",
        agent,
        status,
        page=page,
        ticket=page.view,
        overdue=is_overdue(page.view, site.desk.tickets.clock()),
        inline=INLINE_IMAGES,
        templates=list(site.book.templates.values()),
        keys={action: new_key() for action in ACTIONS},
        notice=notice,
        error=error,
        draft=draft or {},
    )


def _action(site: Site, name: str) -> Callable[..., TicketView]:
    desk = site.desk
    actions: dict[str, Callable[..., TicketView]] = {
        "take": desk.take,
        "reply": desk.reply,
        "ask": desk.ask,
        "propose": desk.propose,
        "note": desk.note,
        "close": desk.close,
    }
    return actions[name]


@dataclass(frozen=True)
class ActionForm:
    fields: dict[str, str]
    key: str  # the idempotence key made with the page
    version: int  # the ticket's version the page showed

    @property
    def text(self) -> str:
        return self.fields.get("text", "").strip()


async def action_form(request: Request, agent: Agent) -> ActionForm | None:
    """The posted action with its CSRF token, idempotence key and version checked."""
    fields = await form_of(request, agent)
    if fields is None:
        return None
    key, version = fields.get("key", ""), fields.get("version", "")
    if not key or len(key) > 100 or not version.isdigit():
        return None
    return ActionForm(fields, key, int(version))


async def act(request: Request, agent: Agent, site: Site) -> Response:
    """One action of the console, under the signed-in agent's name."""
    name = request.path_params["action"]
    form = await action_form(request, agent)
    if form is None or name not in ACTIONS:
        return site.bad_form(request, agent)
    body = form.text
    if name in TEXT_ACTIONS and not body:
        return await ticket_page(request, agent, site, 400, error="empty_text")
    reference = request.path_params["ref"]
    args: tuple[Any, ...] = (
        (reference, agent.name) if name == "take" else (reference, agent.name, body)
    )
    run = partial(_action(site, name), *args, key=form.key, version=form.version)
    back_to_inbox = form.fields.get("back") == "inbox"  # the inbox's take (key "t")
    return await _apply(request, agent, site, run, {name: body}, back_to_inbox)


async def _apply(
    request: Request,
    agent: Agent,
    site: Site,
    run: Callable[[], TicketView],
    draft: dict[str, str],
    back_to_inbox: bool = False,
) -> Response:
    try:
        view = await run_in_threadpool(run)
    except TicketChanged:
        return await ticket_page(request, agent, site, 409, error="stale", draft=draft)
    except AGENT_ERRORS as err:
        if isinstance(err, TicketNotFound):
            return site.render(request, "refused.html", agent, 404, message="not_found")
        return await ticket_page(request, agent, site, 400, error=REFUSALS[type(err)], draft=draft)
    done = "2" if view.repeated else "1"
    if back_to_inbox:
        return RedirectResponse(f"{base(request)}/?done={done}", 303)
    return RedirectResponse(f"{base(request)}/tickets/{view.reference}?done={done}", 303)


async def template_preview(request: Request, agent: Agent, site: Site) -> Response:
    """The template filled for this ticket, in the customer's language, to check and send."""
    reference, name = request.path_params["ref"], request.query_params.get("name", "")
    try:
        page = await run_in_threadpool(read_ticket, site, reference)
        template = site.book.get(name)
        body = await run_in_threadpool(
            fill_template, site.desk, site.book, reference, name, agent.name
        )
    except AGENT_ERRORS as err:
        return site.render(request, "refused.html", agent, 404, message=REFUSALS[type(err)])
    return site.render(
        request,
        "template.html",
        agent,
        page=page,
        ticket=page.view,
        chosen=template,
        body=body,
        key=new_key(),
    )


async def send_filled_template(request: Request, agent: Agent, site: Site) -> Response:
    form = await action_form(request, agent)
    if form is None:
        return site.bad_form(request, agent)
    body = form.text
    try:
        template = site.book.get(form.fields.get("name", ""))
    except AGENT_ERRORS as err:
        return await ticket_page(request, agent, site, 400, error=REFUSALS[type(err)])
    if not body:
        return await ticket_page(request, agent, site, 400, error="empty_text")
    reference = request.path_params["ref"]
    run = partial(
        send_template, site.desk, template, reference, agent.name, body, form.key, form.version
    )
    return await _apply(request, agent, site, run, {"reply": body})


async def attachment(request: Request, agent: Agent, site: Site) -> Response:
    """A ticket's file, only to a signed-in agent, only from the store's files folder."""
    reference, index = request.path_params["ref"], request.path_params["index"]
    try:
        page = await run_in_threadpool(read_ticket, site, reference)
    except TicketNotFound:
        return PlainTextResponse("not found", 404)
    if index >= len(page.view.attachments):
        return PlainTextResponse("not found", 404)
    name, mime, stored = page.view.attachments[index]
    folder = site.settings.files_dir.resolve()
    path = Path(stored).resolve() if stored else None
    if path is None or not path.is_relative_to(folder) or not path.is_file():
        return PlainTextResponse("not found", 404)
    kind = mime if mime in INLINE_IMAGES else "application/octet-stream"
    inline = kind in INLINE_IMAGES  # the type judged on intake; anything else is a download
    return FileResponse(
        path,
        media_type=kind,
        filename=name or path.name,
        content_disposition_type="inline" if inline else "attachment",
    )


def ticket_routes(site: Site, gate: Gate) -> list[Route]:
    return [
        Route("/tickets/{ref}", gate.page(partial(ticket_page, site=site)), name="ticket"),
        Route(
            "/tickets/{ref}/template",
            gate.page(partial(template_preview, site=site)),
            methods=["GET"],
        ),
        Route(
            "/tickets/{ref}/template",
            gate.private(partial(send_filled_template, site=site)),
            methods=["POST"],
        ),
        Route(
            "/tickets/{ref}/files/{index:int}",
            gate.private(partial(attachment, site=site)),
        ),
        Route(
            "/tickets/{ref}/{action}",
            gate.private(partial(act, site=site)),
            methods=["POST"],
        ),
    ]
