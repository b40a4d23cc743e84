"""The agent desk in a real browser (Debian's chromium through Playwright), on the same
server as the web chat, as `supportbot serve` runs them. A missing browser fails these
tests, never skips them. Every wait is on an event or a selector, never a sleep."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conftest import Chat, Clock, handoff
from supportbot.config import Settings
from supportbot.desk.accounts import Accounts
from supportbot.engine import Engine
from supportbot.messages import IncomingFile
from supportbot.server import build_server
from supportbot.tickets import REFERENCE
from test_desk_web import PASSWORD
from test_stats_periods import NOVEMBER, command_stats, seed
from test_web_browser import browser, conversation, open_chat, write  # noqa: F401
from web_server import serving


@pytest.fixture
def site(engine: Engine, settings: Settings) -> Iterator[str]:
    accounts = Accounts(engine.sessions, engine.tickets.clock)
    accounts.add("lea", PASSWORD)
    accounts.add("max", PASSWORD)
    with serving(build_server(engine, settings)) as base:
        yield base


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:  # noqa: F811
    """New browser profiles (one per agent or customer); each page must end without a
    script error or anything the pages' policy blocked."""
    opened: list[BrowserContext] = []
    errors: list[str] = []

    def make() -> BrowserContext:
        context = browser.new_context(locale="fr-FR")
        context.on("weberror", lambda err: errors.append(str(err.error)))
        context.on(
            "console",
            lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()
    assert errors == []


def ready(page: Page) -> None:
    """The desk's script runs on this page (its shortcuts listen)."""
    expect(page.locator("body[data-ready]")).to_be_attached()


def agent_page(contexts: Callable[[], BrowserContext], site: str, name: str = "lea") -> Page:
    """A signed-in agent on the inbox, signed in through the labelled form."""
    page = contexts().new_page()
    page.goto(f"{site}/desk/")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.get_by_label("Nom d'agent").fill(name)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Boîte de réception")).to_be_visible()
    ready(page)
    return page


def open_ticket(page: Page, site: str, ref: str) -> None:
    """The ticket page, with its live stream connected (the presence line is answered)."""
    page.goto(f"{site}/desk/tickets/{ref}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
    ready(page)


def serious_violations(page: Page) -> list[object]:
    results = Axe().run(page).response
    assert results["testEngine"]["name"] == "axe-core"
    return [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_widget_ticket_appears_live_in_the_inbox_and_the_reply_reaches_the_widget(
    contexts: Callable[[], BrowserContext], site: str
) -> None:
    desk = agent_page(contexts, site)
    expect(desk.get_by_text("Aucune demande.")).to_be_visible()

    customer = contexts().new_page()
    customer.goto(site)
    open_chat(customer)
    log = conversation(customer)
    write(customer, "je veux parler à un humain")
    expect(log).to_contain_text("quel est votre besoin")
    write(customer, "Ma commande 123456789 est bloquée depuis 10 jours")
    log.get_by_role("button", name="Confirmer et envoyer").last.click()
    expect(log).to_contain_text("Votre demande est enregistrée sous la référence")
    found = REFERENCE.search(log.inner_text())
    assert found is not None
    ref = found.group()

    # No reload: the stream brings the news, the list follows, the notice is announced.
    notice = desk.get_by_role("status").filter(has_text="Nouvelle demande")
    expect(notice).to_contain_text(f"Nouvelle demande {ref}")
    expect(desk.locator("#live-notice")).to_have_attribute("aria-live", "polite")
    row = desk.locator(f"tr[data-ref='{ref}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("nouveau")

    desk.get_by_role("link", name=ref).click()
    desk.get_by_role("textbox", name="Répondre").fill("Bonjour, je regarde votre commande.")
    desk.get_by_role("button", name="Répondre").click()
    expect(desk.get_by_role("status").filter(has_text="C'est fait.")).to_be_visible()
    expect(log).to_contain_text("Bonjour, je regarde votre commande.")
    expect(log.locator(".sb-agent")).to_contain_text("Conseiller")

    # The customer answers in the widget: the open ticket page shows it without a reload.
    write(customer, "Merci, j'attends votre retour avec la photo du colis")
    events = desk.locator("#events")
    expect(events).to_contain_text("j'attends votre retour avec la photo du colis")
    expect(desk.get_by_role("alert")).to_contain_text("a changé depuis l'ouverture")


def test_two_agents_on_one_ticket_see_each_other(
    contexts: Callable[[], BrowserContext], site: str, chat: Chat
) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    lea, max_ = agent_page(contexts, site, "lea"), agent_page(contexts, site, "max")
    open_ticket(lea, site, ref)
    open_ticket(max_, site, ref)
    expect(lea.locator("#presence")).to_have_text("max consulte cette demande")
    expect(max_.locator("#presence")).to_have_text("lea consulte cette demande")
    max_.get_by_role("textbox", name="Répondre").press_sequentially("Bonjour")
    expect(lea.locator("#presence")).to_have_text("max est en train d'écrire")
    max_.goto(f"{site}/desk/")  # max leaves the ticket
    expect(lea.locator("#presence")).to_have_text("")


def test_a_stale_action_is_refused_and_the_draft_survives(
    contexts: Callable[[], BrowserContext], site: str, chat: Chat
) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    lea = agent_page(contexts, site)
    open_ticket(lea, site, ref)
    reply = lea.get_by_role("textbox", name="Répondre")
    reply.fill("Pouvez-vous me donner la nouvelle adresse ?")
    lea.reload()  # the draft is kept across reloads
    ready(lea)
    expect(reply).to_have_value("Pouvez-vous me donner la nouvelle adresse ?")

    chat.say("Finalement c'est au 12 rue des Lilas")  # while lea's page is open
    expect(lea.locator("#events")).to_contain_text("12 rue des Lilas")
    lea.get_by_role("button", name="Répondre").click()
    expect(lea.get_by_role("alert").first).to_contain_text(
        "La demande a changé depuis l'ouverture de la page"
    )
    expect(lea.get_by_text("rien n'a été envoyé", exact=False)).to_be_visible()
    expect(reply).to_have_value("Pouvez-vous me donner la nouvelle adresse ?")
    waiting = chat.engine.outbox.take("test", chat.user)
    assert not [r for r in waiting if "nouvelle adresse" in r.text]

    lea.get_by_role("button", name="Répondre").click()  # the page is up to date now
    expect(lea.get_by_role("status").filter(has_text="C'est fait.")).to_be_visible()
    ready(lea)
    expect(reply).to_have_value("")  # sent: the draft is gone
    lea.reload()
    ready(lea)
    expect(reply).to_have_value("")


def test_keyboard_next_take_and_reply_from_the_inbox(
    contexts: Callable[[], BrowserContext], site: str, new_chat: Callable[..., Chat]
) -> None:
    first = handoff(new_chat("ana"), "Mon compte est bloqué")
    second = handoff(new_chat("bob"), "Je n'arrive pas à changer l'adresse de livraison")
    lea = agent_page(contexts, site)
    lea.keyboard.press("j")
    expect(lea.get_by_role("link", name=first)).to_be_focused()
    lea.keyboard.press("j")
    expect(lea.get_by_role("link", name=second)).to_be_focused()
    lea.keyboard.press("t")
    expect(lea.get_by_role("status").filter(has_text="C'est fait.")).to_be_visible()
    expect(lea.locator(f"tr[data-ref='{second}']")).to_contain_text("lea")
    ready(lea)
    lea.keyboard.press("j")
    expect(lea.get_by_role("link", name=first)).to_be_focused()
    lea.keyboard.press("r")
    expect(lea.get_by_role("heading", level=1)).to_contain_text(first)
    expect(lea.get_by_role("textbox", name="Répondre")).to_be_focused()


def test_the_stats_page_shows_the_figures_of_stats_json(
    contexts: Callable[[], BrowserContext],
    site: str,
    engine: Engine,
    settings: Settings,
    clock: Clock,
    new_chat: Callable[..., Chat],
    env: dict[str, str],
) -> None:
    seed(engine, clock, new_chat)
    clock.now = datetime.now(UTC)  # as the command's clock
    command = command_stats(settings, env, *NOVEMBER)
    lea = agent_page(contexts, site)
    lea.goto(f"{site}/desk/stats?since=2026-11-01&until=2026-12-01&by=day")
    figures = lea.locator("dd[id^='fig-']")
    expect(figures.first).to_be_visible()
    assert figures.count() >= 8
    for i in range(figures.count()):
        name = (figures.nth(i).get_attribute("id") or "").removeprefix("fig-")
        part, _, key = name.partition("-")
        expected = command[part][key] if key else command[part]
        assert figures.nth(i).inner_text() == ("-" if expected is None else str(expected)), name
    opened = lea.locator("#table-series tbody tr")
    expect(opened).to_have_count(len(command["series"]))
    assert serious_violations(lea) == []


def test_a_signed_out_session_reaches_neither_the_desk_nor_an_attachment(
    contexts: Callable[[], BrowserContext], site: str, chat: Chat, photo: IncomingFile
) -> None:
    chat.say("Mon colis est arrivé cassé")
    for line in ("n° 123 456 789", "hier", "passer", "La figurine est arrivée cassée."):
        chat.say(line)
    chat.say(files=(photo,))
    chat.say("terminé")
    chat.say("passer")
    found = REFERENCE.search(chat.press("confirm"))
    assert found is not None
    file_url = f"{site}/desk/tickets/{found.group()}/files/0"

    lea = agent_page(contexts, site)
    assert lea.request.get(file_url).status == 200
    lea.get_by_role("button", name="Se déconnecter").click()
    expect(lea.get_by_role("heading", name="Connexion")).to_be_visible()
    assert lea.request.get(file_url).status == 403
    lea.goto(f"{site}/desk/")
    expect(lea).to_have_url(re.compile(r"/desk/signin\?next="))
    assert lea.request.get(f"{site}/desk/events").status == 403

    customer = contexts().new_page()  # a customer's session in the widget: no way in
    customer.goto(site)
    open_chat(customer)
    write(customer, "où est ma facture ?")
    expect(conversation(customer)).to_contain_text("Votre facture")
    assert customer.request.get(file_url).status == 403
    customer.goto(f"{site}/desk/")
    expect(customer.get_by_role("heading", name="Connexion")).to_be_visible()


def test_no_serious_accessibility_violation_on_the_inbox_and_a_ticket(
    contexts: Callable[[], BrowserContext], site: str, chat: Chat
) -> None:
    ref = handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    lea = agent_page(contexts, site)
    expect(lea.get_by_role("link", name=ref)).to_be_visible()
    assert serious_violations(lea) == []
    open_ticket(lea, site, ref)
    assert serious_violations(lea) == []


def test_news_outside_the_inbox_s_filters_is_counted_not_announced(
    contexts: Callable[[], BrowserContext], site: str, chat: Chat
) -> None:
    lea = agent_page(contexts, site)
    lea.goto(f"{site}/desk/?status=closed")
    ready(lea)
    expect(lea.locator("#live")).to_have_attribute("data-stream", re.compile("status=closed"))
    handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")
    expect(lea.locator("#live-outside")).to_have_text("1 nouveauté hors de votre filtre")
    expect(lea.locator("#live-notice")).to_have_text("")
    expect(lea.get_by_text("Aucune demande.")).to_be_visible()
    assert serious_violations(lea) == []
