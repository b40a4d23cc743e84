"""The agent desk in the browser, through HTTP: sign-in, the inbox, the ticket and its actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from conftest import Chat, Clock, handoff
from supportbot.config import Settings
from supportbot.desk.accounts import FAILURES_PER_NAME, Accounts
from supportbot.desk.history import StoredEvent, event_line
from supportbot.desk.web import desk_app
from supportbot.engine import Engine
from supportbot.messages import IncomingFile
from supportbot.tickets import REFERENCE, SYSTEM

PASSWORD = "correct horse battery"


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    accounts = Accounts(engine.sessions, engine.tickets.clock)
    accounts.add("lea", PASSWORD)
    accounts.add("max", PASSWORD)
    return TestClient(Starlette(routes=[Mount("/desk", desk_app(engine, settings))]))


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to ``action``."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert form is not None, f"no form posting to {action}"
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form.group()))


def sign_in(client: TestClient, name: str = "lea", password: str = PASSWORD) -> int:
    page = client.get("/desk/signin")
    fields = hidden_fields(page.text, "/desk/signin")
    answer = client.post(
        "/desk/signin",
        data={**fields, "name": name, "password": password},
        follow_redirects=False,
    )
    return answer.status_code


@pytest.fixture
def ref(chat: Chat) -> str:
    return handoff(chat, "Je n'arrive pas à changer l'adresse de livraison")


def post(client: TestClient, ref: str, action: str, text: str = "", **extra: str) -> object:
    page = client.get(f"/desk/tickets/{ref}")
    fields = hidden_fields(page.text, f"/desk/tickets/{ref}/{action}")
    return client.post(
        f"/desk/tickets/{ref}/{action}",
        data={**fields, "text": text, **extra},
        follow_redirects=False,
    )


def events(client: TestClient, ref: str, kind: str) -> list[str]:
    page = client.get(f"/desk/tickets/{ref}").text
    return re.findall(rf'<li class="event \w+">\s*<p class="meta">.*?· ({kind})', page)


def test_every_desk_route_needs_a_signed_in_agent(client: TestClient, ref: str) -> None:
    for path in ("/desk/", f"/desk/tickets/{ref}", f"/desk/tickets/{ref}/template?name=x"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/desk/signin?next=")
    assert client.get(f"/desk/tickets/{ref}/files/0").status_code == 403
    answer = client.post(f"/desk/tickets/{ref}/reply", data={"text": "hello", "csrf": "x"})
    assert answer.status_code == 403

    assert sign_in(client, password="wrong password") == 401
    assert sign_in(client) == 303
    page = client.get(f"/desk/tickets/{ref}")
    assert page.status_code == 200 and ref in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    cookie = client.cookies.jar
    session = next(c for c in cookie if c.name == "supportbot_desk")
    assert session.has_nonstandard_attr("HttpOnly") and session.path == "/desk/"


def test_sign_in_goes_back_where_it_was_asked_and_sign_out_ends_it(
    client: TestClient, ref: str
) -> None:
    first = client.get(f"/desk/tickets/{ref}")  # redirected to the form, then back
    fields = hidden_fields(first.text, "/desk/signin")
    assert fields["next"] == f"/desk/tickets/{ref}"
    typo = client.post("/desk/signin", data={**fields, "name": "lea", "password": "typo"})
    assert typo.status_code == 401 and "Nom ou mot de passe incorrect" in typo.text
    assert hidden_fields(typo.text, "/desk/signin")["next"] == f"/desk/tickets/{ref}"
    answer = client.post("/desk/signin", data={**fields, "name": "lea", "password": PASSWORD})
    assert answer.url.path == f"/desk/tickets/{ref}"

    fields = hidden_fields(answer.text, "/desk/signout")
    assert client.post("/desk/signout", data=fields, follow_redirects=False).status_code == 303
    assert client.get("/desk/", follow_redirects=False).status_code == 303


def test_forms_without_their_csrf_token_are_refused(client: TestClient, ref: str) -> None:
    page = client.get("/desk/signin")
    refused = client.post("/desk/signin", data={"name": "lea", "password": PASSWORD})
    assert refused.status_code == 403 and page.status_code == 200
    assert sign_in(client) == 303
    fields = hidden_fields(client.get(f"/desk/tickets/{ref}").text, f"/desk/tickets/{ref}/reply")
    forged = {**fields, "csrf": "forged", "text": "Bonjour"}
    assert client.post(f"/desk/tickets/{ref}/reply", data=forged).status_code == 403
    missing = {k: v for k, v in fields.items() if k != "csrf"} | {"text": "Bonjour"}
    assert client.post(f"/desk/tickets/{ref}/reply", data=missing).status_code == 403
    assert events(client, ref, "lea \\(agent\\)") == []


def test_sign_in_is_limited_after_repeated_failures(client: TestClient) -> None:
    for _ in range(FAILURES_PER_NAME):
        assert sign_in(client, password="a wrong guess") == 401
    assert sign_in(client) == 429  # even the right password, for a while
    assert sign_in(client, "max") == 303  # another name from the same address still can


def test_a_reply_is_sent_once_under_the_agents_name_when_the_form_is_sent_twice(
    client: TestClient, chat: Chat, ref: str
) -> None:
    sign_in(client)
    page = client.get(f"/desk/tickets/{ref}")
    fields = hidden_fields(page.text, f"/desk/tickets/{ref}/reply")
    form = {**fields, "text": "Bonjour, je regarde votre commande."}
    first = client.post(f"/desk/tickets/{ref}/reply", data=form, follow_redirects=False)
    again = client.post(f"/desk/tickets/{ref}/reply", data=form, follow_redirects=False)
    assert first.headers["location"].endswith("?done=1")
    assert again.headers["location"].endswith("?done=2")  # already done, nothing redone
    assert "Déjà fait" in client.get(again.headers["location"]).text
    assert len(events(client, ref, "lea \\(agent\\)")) == 1
    sent = [r.text for r in chat.engine.outbox.take("test", chat.user)]
    assert [t for t in sent if "je regarde votre commande" in t] == [
        f"[{ref}] Bonjour, je regarde votre commande."
    ]  # the customer gets it once

    take = hidden_fields(client.get(f"/desk/tickets/{ref}").text, f"/desk/tickets/{ref}/take")
    for _ in range(2):
        client.post(f"/desk/tickets/{ref}/take", data=take)
    page = client.get(f"/desk/tickets/{ref}").text
    assert page.count("Note interne de lea") == 1 and "<dd>lea</dd>" in page


def test_an_action_on_a_ticket_that_changed_since_the_page_was_opened_is_refused(
    client: TestClient, chat: Chat, ref: str
) -> None:
    sign_in(client)
    opened = client.get(f"/desk/tickets/{ref}").text
    fields = hidden_fields(opened, f"/desk/tickets/{ref}/propose")
    colleague = TestClient(client.app)
    sign_in(colleague, "max")
    assert post(colleague, ref, "ask", "Quelle est la nouvelle adresse ?").status_code == 303
    answer = client.post(
        f"/desk/tickets/{ref}/propose", data={**fields, "text": "Je change l'adresse pour vous."}
    )
    assert answer.status_code == 409
    assert "a changé depuis" in answer.text
    assert "Je change l&#39;adresse pour vous.</textarea>" in answer.text  # the draft kept
    assert "solution_proposed" not in answer.text and "Informations demandées" in answer.text
    # the page now shown is current: the same action from it goes through
    assert post(client, ref, "propose", "Je change l'adresse pour vous.").status_code == 303


def test_every_console_action_from_the_page(client: TestClient, chat: Chat, ref: str) -> None:
    sign_in(client)
    assert post(client, ref, "note", "Client fidèle").status_code == 303
    assert post(client, ref, "ask", "Quelle adresse ?").status_code == 303
    assert any("Quelle adresse" in r.text for r in chat.engine.outbox.take("test", chat.user))
    chat.say("12 rue des Lilas, Lyon")
    assert post(client, ref, "propose", "Adresse changée.").status_code == 303
    assert post(client, ref, "reply", "").status_code == 400  # a reply needs words
    assert post(client, ref, "close").status_code == 303
    page = client.get(f"/desk/tickets/{ref}").text
    assert "<dd>Clôturée</dd>" in page or "Clôturée" in page
    for text in ("Client fidèle", "Quelle adresse ?", "12 rue des Lilas", "Adresse changée."):
        assert text in page
    refused = post(client, ref, "ask", "Encore une question ?")
    assert refused.status_code == 400 and "Refusé" in refused.text  # closed: not allowed


def test_a_template_is_previewed_in_the_customers_language_then_sent(
    client: TestClient, new_chat: Callable[..., Chat]
) -> None:
    customer = new_chat("emma", "en")
    ref = handoff(customer, "I cannot change my delivery address")
    sign_in(client)
    preview = client.get(f"/desk/tickets/{ref}/template?name=taken-in-charge")
    body = re.search(r'<textarea id="template-text"[^>]*>(.*?)</textarea>', preview.text, re.S)
    assert body is not None  # in English, the customer's language, filled for this ticket
    assert body.group(1).startswith("Hello emma,\nI am lea, from 3DWorksPrints Support")
    assert ref in body.group(1)
    fields = hidden_fields(preview.text, f"/desk/tickets/{ref}/template")
    sent = client.post(
        f"/desk/tickets/{ref}/template",
        data={**fields, "text": "Hello emma, about " + ref},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    sent = [r.text for r in customer.engine.outbox.take("test", customer.user)]
    assert any("Hello emma, about" in text for text in sent)


def test_attachments_are_shown_to_signed_in_agents_only(
    client: TestClient, chat: Chat, photo: IncomingFile
) -> None:
    ref = damaged_parcel(chat, photo)
    assert client.get(f"/desk/tickets/{ref}/files/0").status_code == 403
    sign_in(client)
    page = client.get(f"/desk/tickets/{ref}").text
    assert f'<img src="/desk/tickets/{ref}/files/0"' in page
    image = client.get(f"/desk/tickets/{ref}/files/0")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content.startswith(b"\xff\xd8")
    assert client.get(f"/desk/tickets/{ref}/files/7").status_code == 404


def test_the_inbox_puts_overdue_tickets_first_and_filters(
    client: TestClient, engine: Engine, new_chat: Callable[..., Chat], clock: Clock
) -> None:
    early = handoff(new_chat("ana"), "Mon compte est bloqué")
    clock.now += timedelta(days=1)
    late = handoff(new_chat("bob"), "Ma commande 987654321 est en retard")
    clock.now += timedelta(days=1)
    newest = handoff(new_chat("cyd"), "Je veux parler à quelqu'un")
    sign_in(client)
    assert post(client, late, "take").status_code == 303
    assert post(client, newest, "ask", "Précisez ?").status_code == 303
    clock.now += timedelta(days=5)  # every due time is past; the one waiting is not overdue
    sign_in(client)  # the session of five days ago has expired

    def listed(query: str = "") -> list[str]:
        return re.findall(
            r'<tr class="[^"]*" data-ref="([^"]+)">', client.get(f"/desk/{query}").text
        )

    assert listed() == [early, late, newest]
    overdue_rows = re.findall(r'<tr class="overdue" data-ref="([^"]+)">', client.get("/desk/").text)
    assert overdue_rows == [early, late]
    assert listed("?mine=1") == [late]
    assert listed("?unassigned=1") == [early, newest]
    assert listed("?status=info_requested") == [newest]
    assert listed(f"?q={late.lower()}") == [late]
    assert listed("?q=987654321") == [late]
    assert listed("?flow=nothing-like-it") == [early, late, newest]  # an unknown flow: ignored
    assert listed("?status=closed") == []


def test_pages_are_french_first_english_on_demand_and_run_no_inline_code(
    client: TestClient, ref: str
) -> None:
    signin = client.get("/desk/signin").text
    assert '<label for="name">Nom d&#39;agent</label>' in signin
    assert '<label for="password">Mot de passe</label>' in signin
    sign_in(client)
    pages = [client.get(path).text for path in ("/desk/", f"/desk/tickets/{ref}", "/desk/stats")]
    assert "Boîte de réception" in pages[0]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
        assert not re.search(r"<style|\sstyle=|\son\w+=", html)  # no inline style or handler
    english = client.get("/desk/lang/en?next=/desk/")
    assert english.url.path == "/desk/" and "<h1>Inbox</h1>" in english.text
    assert client.get("/desk/lang/en?next=https://evil.example/").url.path == "/desk/"
    assert client.get("/desk/static/desk.css").headers["content-security-policy"]


def damaged_parcel(chat: Chat, photo: IncomingFile) -> str:
    """The customer reports a parcel that arrived broken, with a photo; its reference."""
    for line in ("Mon colis est arrivé cassé", "n° 123 456 789", "hier", "passer"):
        chat.say(line)
    chat.say("La figurine est arrivée cassée en deux.")
    chat.say(files=(photo,))
    chat.say("terminé")
    chat.say("passer")  # the optional contact e-mail
    found = REFERENCE.search(chat.press("confirm"))
    assert found is not None
    return found.group()


def card(html: str) -> dict[str, str]:
    """The ticket page's card and answers, label -> value, as an agent reads them."""
    return dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)", html))


def test_the_card_shows_each_answer_under_its_question_with_a_readable_value(
    client: TestClient, chat: Chat, photo: IncomingFile
) -> None:
    ref = damaged_parcel(chat, photo)
    sign_in(client)
    page = client.get(f"/desk/tickets/{ref}").text
    shown = card(page)
    assert shown["Numéro de commande"] == "123456789"
    assert shown["Type de problème"] == "Article abîmé"  # the choice's label, not "damaged"
    assert shown["Date de commande"] == "23/11/2026"  # "hier", on the 24th
    assert shown["Description"] == "La figurine est arrivée cassée en deux."
    assert shown["Catégorie"] == "Commande" and shown["Priorité"] == "Normale"
    assert shown["Langue du client"] == "Français"
    for raw in ("order_number", "problem_kind", "damaged", "2026-11-23", "order_date"):
        assert raw not in page, raw

    client.cookies.set("supportbot_desk_lang", "en")
    shown = card(client.get(f"/desk/tickets/{ref}").text)
    assert shown["Kind of problem"] == "Damaged item"
    assert shown["Order date"] == "23 Nov 2026"
    assert shown["Order number"] == "123456789" and shown["Customer&#39;s language"] == "French"


def test_a_web_visitor_is_shown_by_channel_and_a_short_id_never_the_stored_hash(
    client: TestClient, engine: Engine
) -> None:
    visitor = "3f2a1b9c" + "d" * 24  # a web visitor's chat id: no name given
    ref = handoff(
        Chat(engine, visitor, channel="web", named=False),
        "Je n'arrive pas à changer l'adresse de livraison",
    )
    sign_in(client)
    inbox, page = client.get("/desk/").text, client.get(f"/desk/tickets/{ref}").text
    assert "<td>Chat du site · Visiteur 3f2a1b9c</td>" in inbox
    shown = card(page)
    assert shown["Client"] == "Visiteur 3f2a1b9c" and shown["Canal"] == "Chat du site"
    assert visitor not in inbox and visitor not in page


def history(html: str) -> list[tuple[str, str]]:
    """The conversation and history's lines: (who did what, the text under it)."""
    return [
        (label, unescape(text))
        for label, text in re.findall(
            r'<p class="meta"><time[^>]*>[^<]*</time> · ([^<]*)</p>\s*'
            r'(?:<p class="text">([^<]*)</p>)?',
            html,
        )
    ]


def test_history_lines_name_who_did_what_in_the_desk_s_language(
    client: TestClient, chat: Chat, photo: IncomingFile
) -> None:
    ref = damaged_parcel(chat, photo)
    assert damaged_parcel(chat, photo) == ref  # the same order again: added to the ticket
    sign_in(client)
    assert post(client, ref, "take").status_code == 303
    assert post(client, ref, "ask", "Quelle est la taille de la figurine ?").status_code == 303
    chat.say("Elle mesure 12 cm")  # the customer's answer puts the ticket back to Support
    page = client.get(f"/desk/tickets/{ref}").text
    lines = history(page)
    assert ("Note interne de lea", "Demande prise en charge.") in lines
    assert (
        "Statut changé par lea",
        "Reçue → Informations demandées · Quelle est la taille de la figurine ?",
    ) in lines
    assert ("Statut changé par le client", "Informations demandées → Reçue") in lines
    added = next(text for label, text in lines if label == "Demande ajoutée")
    assert "Type de problème : Article abîmé" in added
    assert "Date de commande : 23/11/2026" in added
    said = str(lines)
    for raw in ("customer", "taken", "info_requested", "problem_kind", "damaged", "?"):
        assert raw not in said.replace(" ?", ""), raw  # (a French question ends " ?")

    client.cookies.set("supportbot_desk_lang", "en")
    lines = history(client.get(f"/desk/tickets/{ref}").text)
    assert ("Internal note by lea", "Ticket taken.") in lines
    assert ("Status changed by the customer", "Information requested → Received") in lines
    assert post(client, ref, "close").status_code == 303
    refused = post(client, ref, "ask", "Encore une question ?")
    assert refused.status_code == 400
    assert (
        "Refused: this action is not possible at the ticket&#39;s current status." in refused.text
    )


def test_a_colleague_taking_over_and_the_bot_s_jobs_read_in_words() -> None:
    at = datetime(2026, 11, 24, 10, tzinfo=UTC)
    over = StoredEvent(at, "note", "max", "taken over from lea", {"take": "over", "from": "lea"})
    assert event_line(over, None, "fr").text == "Demande reprise à lea."
    closed = StoredEvent(at, "status", SYSTEM, "", {"from": "solution_proposed", "to": "closed"})
    line = event_line(closed, None, "fr")
    assert (line.label, line.text) == ("Statut changé par le bot", "Solution proposée → Clôturée")
    job = event_line(StoredEvent(at, "job", SYSTEM, "auto_close", {}), None, "en")
    assert job.text == "Closed automatically: the proposed solution was not answered"
