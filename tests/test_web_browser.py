"""The web chat in a real browser: Debian's chromium driven by Playwright, against a real
uvicorn server on a free port. A missing browser fails these tests, never skips them
(`make test` installs it where it can)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from conftest import ROOT
from supportbot.channels.web.app import build_web_app
from supportbot.channels.web.signed import sign_identity
from supportbot.config import Settings
from supportbot.engine import Engine
from supportbot.visitors import WebVisitor
from web_server import serving

CHROMIUM = Path(os.environ.get("SUPPORTBOT_CHROMIUM", "/usr/bin/chromium"))
# As root, in a sandboxed machine whose network is closed: no sandbox, no background calls.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"no browser at {CHROMIUM}: run `make test` (it installs chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def site(engine: Engine, settings: Settings) -> Iterator[str]:
    with serving(build_web_app(engine, settings)) as base:
        yield base


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda err: errors.append(str(err)))
    opened.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    opened.goto(site)
    yield opened
    context.close()
    assert errors == []  # no script error, nothing the page's policy blocked


def open_chat(page: Page) -> None:
    page.get_by_role("button", name="Ouvrir le chat du Support").click()
    expect(page.get_by_role("textbox", name="Votre message")).to_be_focused()


def write(page: Page, text: str, box_name: str = "Votre message") -> None:
    box = page.get_by_role("textbox", name=box_name)
    box.fill(text)
    box.press("Enter")


def conversation(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("log")


def test_a_question_is_answered(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve dans Mon compte")
    expect(conversation(page).get_by_role("button", name="Menu")).to_be_visible()


def test_a_flow_with_a_photo_to_a_ticket_then_an_agent_replies_live(
    page: Page, settings: Settings
) -> None:
    open_chat(page)
    log = conversation(page)
    for line, asked in (
        ("Mon colis est arrivé cassé", "numéro de commande"),
        ("123456789", "Quand avez-vous passé"),
        ("hier", "numéro de suivi"),
        ("passer", "Décrivez le problème"),
        ("La figurine est arrivée cassée en deux.", "Envoyez des photos"),
    ):
        write(page, line)
        expect(log).to_contain_text(asked)
    attach = page.get_by_role("button", name="Joindre un fichier")
    expect(attach).to_be_visible()
    page.locator(".sb-root input[type=file]").set_input_files(
        files=[{"name": "casse.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    expect(log).to_contain_text("Fichier reçu (1/10)")
    log.get_by_role("button", name="Terminé").last.click()
    expect(log).to_contain_text("À quelle adresse e-mail")  # a visitor may close the tab
    write(page, "lea@exemple.fr")
    expect(log).to_contain_text("Récapitulatif de votre demande")
    expect(log).to_contain_text("lea@exemple.fr")
    log.get_by_role("button", name="Confirmer et envoyer").last.click()
    expect(log).to_contain_text("Votre demande est enregistrée sous la référence")
    reference = re.search(r"SAV-[0-9A-Z-]+", log.inner_text())
    assert reference is not None

    agent_reply(settings, reference.group(0), "Bonjour, pouvez-vous préciser la taille ?")
    expect(log).to_contain_text("pouvez-vous préciser la taille", timeout=15_000)
    agent = log.locator(".sb-agent")  # the agent's message stands apart, labelled
    expect(agent).to_have_count(1)
    expect(agent).to_contain_text("Conseiller")
    expect(agent).to_contain_text("pouvez-vous préciser la taille")
    expect(log.locator(".sb-bot:not(.sb-agent)").first).not_to_contain_text("Conseiller")
    times = log.locator(".sb-me .sb-time, .sb-bot .sb-time")
    expect(times).to_have_count(log.locator(".sb-me, .sb-bot").count())
    expect(times.first).to_have_text(re.compile(r"^\d{2}:\d{2}$"))


def agent_reply(settings: Settings, reference: str, text: str) -> None:
    """An agent answers with the real command, from another process."""
    env = dict(os.environ)
    env.update(
        SUPPORTBOT_DATABASE_URL=settings.database_url,
        SUPPORTBOT_CONTENT_DIR=str(ROOT),
        SUPPORTBOT_FILES_DIR=str(settings.files_dir),
    )
    command = [sys.executable, "-m", "supportbot.cli", "agent", "reply", reference, text]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_reloading_shows_the_conversation_again(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    page.reload()
    open_chat(page)
    expect(conversation(page)).to_contain_text("où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    expect(conversation(page).locator(".sb-me")).to_have_count(1)


def test_a_script_in_a_message_shows_as_text(page: Page) -> None:
    open_chat(page)
    attack = "<img src=x onerror=\"document.title='pwned'\"><b>gras</b>"
    write(page, attack)
    expect(conversation(page).locator(".sb-me")).to_have_text(re.compile(re.escape(attack)))
    expect(conversation(page).locator(".sb-bot")).not_to_have_count(0)
    assert conversation(page).locator("img, b").count() == 0
    assert page.title() != "pwned"


def test_offline_mid_send_then_back_loses_and_doubles_nothing(page: Page) -> None:
    open_chat(page)
    log = conversation(page)
    write(page, "où est ma facture ?")
    expect(log).to_contain_text("Votre facture se trouve")
    page.context.set_offline(True)
    write(page, "comment retourner un article ?")
    expect(page.get_by_role("status")).to_contain_text("Hors ligne")
    page.context.set_offline(False)
    expect(log.locator(".sb-bot")).to_have_count(2)
    write(page, "merci")  # a later message answered: the earlier ones are settled
    expect(log.locator(".sb-me")).to_have_count(3)
    expect(log.locator(".sb-pending")).to_have_count(0)
    expect(log.locator(".sb-bot").last).not_to_contain_text("Votre facture")
    page.reload()  # what the server kept, not just what the page showed
    open_chat(page)
    mine = conversation(page).locator(".sb-me")
    expect(mine).to_have_count(3)
    expect(mine.nth(1)).to_contain_text("comment retourner un article ?")


def test_the_chat_switches_to_english(page: Page) -> None:
    open_chat(page)
    page.get_by_role("button", name="Switch the chat to English").click()
    expect(page.get_by_role("textbox", name="Your message")).to_be_visible()
    expect(page.get_by_role("button", name="Attach a file")).to_be_visible()
    write(page, "where is my invoice?", "Your message")
    expect(conversation(page)).to_contain_text("invoice")


def test_my_data_downloads_and_forget_erases_from_the_menu(page: Page) -> None:
    open_chat(page)
    log = conversation(page)
    write(page, "où est ma facture ?")
    expect(log).to_contain_text("Votre facture se trouve")

    page.get_by_role("button", name="Plus d'options").click()
    page.get_by_role("button", name="Télécharger mes données").click()
    link = log.get_by_role("link", name=re.compile("^Télécharger "))
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text("utf-8")
    assert "où est ma facture" in exported

    page.get_by_role("button", name="Plus d'options").click()
    page.get_by_role("button", name="Effacer mes données").click()
    log.get_by_role("button", name="Oui, tout effacer").click()
    expect(log).to_contain_text("effacé")
    expect(log).not_to_contain_text("Votre facture se trouve")
    page.reload()
    open_chat(page)
    expect(log).to_contain_text("effacé")  # the erasure's notice is all that is left
    expect(log.locator(".sb-me")).to_have_count(0)


def test_no_serious_accessibility_violation(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    results = Axe().run(page).response
    assert results["testEngine"]["name"] == "axe-core"
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_on_a_phone_the_last_message_and_the_box_stay_in_sight(browser: Browser, site: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="fr-FR"
    )
    phone = context.new_page()
    phone.goto(site)
    open_chat(phone)
    for question in ("où est ma facture ?", "comment retourner un article ?"):
        write(phone, question)
    log = conversation(phone)
    expect(log.locator(".sb-bot")).not_to_have_count(0)
    expect(log).to_contain_text("retour")
    expect(log.locator(".sb-msg").last).to_be_in_viewport()
    expect(phone.get_by_role("textbox", name="Votre message")).to_be_in_viewport(ratio=1)
    box = log.bounding_box()
    assert box is not None and box["width"] <= 390
    context.close()


def test_a_page_of_a_foreign_origin_cannot_use_the_chat(
    browser: Browser, site: str, engine: Engine
) -> None:
    async def foreign_page(request: Request) -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><html lang="fr"><body><p>Ailleurs</p>'
            f'<script src="{site}/widget/widget.js" defer></script></body></html>'
        )

    with serving(Starlette(routes=[Route("/", foreign_page)])) as elsewhere:
        context = browser.new_context(locale="fr-FR")
        foreign = context.new_page()
        foreign.goto(elsewhere)
        open_chat(foreign)
        write(foreign, "où est ma facture ?")
        expect(foreign.get_by_role("status")).to_contain_text("injoignable")
        expect(conversation(foreign).locator(".sb-pending")).to_have_count(1)
        context.close()
    with engine.sessions() as db:
        assert db.scalar(select(func.count()).select_from(WebVisitor)) == 0


def test_a_signed_in_customer_finds_the_conversation_on_another_device(
    browser: Browser, engine: Engine, settings: Settings
) -> None:
    """A marketplace page (another origin, listed) embeds the widget with a signed identity."""
    secret = "shared-with-the-marketplace"
    html: dict[str, str] = {}

    async def marketplace(request: Request) -> HTMLResponse:
        return HTMLResponse(html["page"])

    with serving(Starlette(routes=[Route("/", marketplace)])) as shop:
        allowed = {"web_allowed_origins": [shop], "web_identity_secret": secret}
        with serving(build_web_app(engine, settings.model_copy(update=allowed))) as site:
            identity = sign_identity(secret, "customer-7", int(engine.clock().timestamp()) + 3600)
            html["page"] = (
                '<!doctype html><html lang="fr"><body><p>Mon compte</p>'
                f'<script src="{site}/widget/widget.js" data-identity="{identity}" defer>'
                "</script></body></html>"
            )
            phone = browser.new_context(locale="fr-FR").new_page()
            phone.goto(shop)
            open_chat(phone)
            write(phone, "où est ma facture ?")
            expect(conversation(phone)).to_contain_text("Votre facture se trouve")

            laptop = browser.new_context(locale="fr-FR").new_page()
            laptop.goto(shop)
            open_chat(laptop)
            expect(conversation(laptop)).to_contain_text("où est ma facture ?")
            expect(conversation(laptop)).to_contain_text("Votre facture se trouve")
            phone.context.close()
            laptop.context.close()


def test_a_card_number_shows_masked_and_stays_masked_after_reload(page: Page) -> None:
    open_chat(page)
    write(page, "ma carte 4970 1012 3456 7890 a été débitée deux fois")
    log = conversation(page)
    expect(log.locator(".sb-bot")).not_to_have_count(0)
    expect(log.locator(".sb-me")).to_contain_text("7890")  # the bubble shows what was kept
    expect(log.locator(".sb-me")).not_to_contain_text("4970 1012")
    page.reload()
    open_chat(page)
    expect(log.locator(".sb-me")).to_have_count(1)
    expect(log.locator(".sb-me")).to_contain_text("7890")
    expect(log.locator(".sb-me")).not_to_contain_text("4970 1012")


def test_a_reply_with_the_chat_closed_shows_an_unread_count(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    page.get_by_role("button", name="Fermer le chat").click()
    title = page.title()
    other = page.context.new_page()  # the same visitor in a second tab
    other.goto(page.url)
    open_chat(other)
    write(other, "comment retourner un article ?")
    launcher = page.get_by_role("button", name="Ouvrir le chat du Support (1 nouveau message)")
    expect(launcher).to_be_visible(timeout=15_000)
    expect(page).to_have_title(f"(1) {title}")
    launcher.click()
    expect(page).to_have_title(title)
    page.get_by_role("button", name="Fermer le chat").click()
    expect(page.get_by_role("button", name="Ouvrir le chat du Support", exact=True)).to_be_visible()


def test_buttons_of_an_earlier_message_can_no_longer_be_pressed(page: Page) -> None:
    open_chat(page)
    log = conversation(page)
    write(page, "où est ma facture ?")
    expect(log.get_by_role("button", name="Menu")).to_be_enabled()
    write(page, "comment retourner un article ?")
    expect(log.locator(".sb-bot")).to_have_count(2)
    menus = log.get_by_role("button", name="Menu")
    expect(menus.first).to_be_disabled()
    expect(menus.last).to_be_enabled()
    menus.last.click()  # pressed once: its choices are settled
    expect(menus.nth(1)).to_be_disabled()
    expect(log.locator(".sb-bot")).to_have_count(3)


def test_what_the_visitor_writes_in_a_second_tab_shows_in_the_first(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    other = page.context.new_page()  # the same visitor in a second tab
    other.goto(page.url)
    open_chat(other)
    write(other, "comment retourner un article ?")
    mine = conversation(page).locator(".sb-me")
    expect(mine).to_have_count(2, timeout=15_000)
    expect(mine.last).to_contain_text("comment retourner un article ?")
    expect(conversation(page).locator(".sb-msg").last).not_to_have_class(re.compile("sb-me"))


def test_limits_are_said_never_silent(browser: Browser, engine: Engine, settings: Settings) -> None:
    strict = settings.model_copy(update={"web_messages_per_minute": 1})
    with serving(build_web_app(engine, strict)) as site:
        page = browser.new_context(locale="fr-FR").new_page()
        page.goto(site)
        open_chat(page)
        box = page.get_by_role("textbox", name="Votre message")
        box.fill("x" * 4100)  # pasted: kept whole, and said too long rather than cut
        expect(page.locator(".sb-count")).to_contain_text("4 000 au plus")
        box.press("Enter")
        expect(box).to_have_value("x" * 4100)
        expect(conversation(page).locator(".sb-me")).to_have_count(0)
        write(page, "où est ma facture ?")
        expect(conversation(page)).to_contain_text("Votre facture se trouve")
        write(page, "merci")  # over the limit of one a minute: not sent, and said so
        log = conversation(page)
        expect(log).to_contain_text("patientez une minute")
        expect(log.locator(".sb-me").last).to_contain_text("Non envoyé.")
        expect(log.locator(".sb-me").last.get_by_role("button", name="Réessayer")).to_be_visible()
        page.context.close()


def test_the_widget_follows_the_language_the_customer_writes_in(page: Page) -> None:
    open_chat(page)
    write(page, "where is my invoice? I cannot find it")
    expect(page.get_by_role("textbox", name="Your message")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="Attach a file")).to_be_visible()
    title = page.locator(".sb-title")
    expect(title).to_have_text("3DWorksPrints Support")
    assert title.evaluate("t => t.scrollWidth <= t.clientWidth && t.scrollHeight <= t.clientHeight")


def test_no_one_seems_to_type_while_offline(page: Page) -> None:
    open_chat(page)
    write(page, "où est ma facture ?")
    expect(conversation(page)).to_contain_text("Votre facture se trouve")
    page.context.set_offline(True)
    write(page, "comment retourner un article ?")
    expect(page.get_by_role("status")).to_contain_text("Hors ligne")
    expect(page.locator(".sb-typing")).to_be_hidden()
    page.context.set_offline(False)
    expect(conversation(page).locator(".sb-bot")).to_have_count(2)
