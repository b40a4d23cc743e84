"""The web chat's HTTP API, through HTTP: tokens, idempotent sends, resumable delivery,
origins, limits and what the page sends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from supportbot.channels.web.acks import Acknowledgements
from supportbot.channels.web.app import build_web_app
from supportbot.channels.web.feed import WATCH_SECONDS
from supportbot.channels.web.identity import token_hash
from supportbot.channels.web.signed import sign_identity
from supportbot.config import Settings
from supportbot.engine import Engine
from supportbot.store import OutboxMessage
from supportbot.visitors import VisitorMessage, WebVisitor
from web_server import serving

FOREIGN = "https://evil.example"
PARTNER = "https://shop.example"


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"web_allowed_origins": [PARTNER], "web_messages_per_minute": 5}
    )


@pytest.fixture
def client(engine: Engine, web_settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_web_app(engine, web_settings)) as test_client:
        yield test_client


def visitor(client: TestClient | httpx.Client) -> dict[str, str]:
    response = client.post("/api/visitor")
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['token']}"}


def say(client: TestClient | httpx.Client, auth: dict[str, str], text: str, cid: str) -> None:
    sent = client.post("/api/messages", headers=auth, json={"client_id": cid, "text": text})
    assert sent.status_code == 200, sent.text


def history(client: TestClient | httpx.Client, auth: dict[str, str]) -> list[dict[str, object]]:
    response = client.get("/api/history", headers=auth)
    assert response.status_code == 200
    messages: list[dict[str, object]] = response.json()["messages"]
    return messages


def bots(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """The bot's messages (the visitor's own lines come with them, without an id)."""
    return [m for m in messages if m["from"] != "me"]


def test_the_page_embeds_the_widget_with_one_tag_under_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.text.count("<script") == 1 and '<script src="/widget/widget.js"' in page.text
    assert "style=" not in page.text and "<style" not in page.text
    assert "Litiges &amp; médiation" in page.text  # the support page's own text, escaped
    assert client.get("/widget/widget.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/widget/widget.css").status_code == 200


def test_nothing_is_stored_before_the_visitor_writes(client: TestClient, engine: Engine) -> None:
    client.get("/")
    client.get("/widget/widget.js")
    with engine.sessions() as db:
        assert db.query(WebVisitor).count() == 0
    assert client.get("/api/history").status_code == 401


def test_the_token_is_stored_hashed_and_a_made_up_one_is_refused(
    client: TestClient, engine: Engine
) -> None:
    auth = visitor(client)
    token = auth["Authorization"].split()[1]
    with engine.sessions() as db:
        [row] = db.query(WebVisitor).all()
    assert token not in (row.token_hash, row.chat_id) and len(token) >= 40
    forged = {"Authorization": f"Bearer {row.chat_id}"}
    refused = client.get("/api/history", headers=forged)
    assert refused.status_code == 401 and refused.json()["message"]["fr"]


def test_a_message_sent_twice_with_its_client_id_is_one_turn(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "first-message-1")
    say(client, auth, "où est ma facture ?", "first-message-1")  # a retry after a timeout
    said = history(client, auth)
    assert [m["from"] for m in said] == ["me", "bot"]
    assert "facture" in str(said[1]["text"])


def test_history_keeps_each_line_in_its_place(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "line-one-001")
    say(client, auth, "comment retourner un article ?", "line-two-002")
    said = history(client, auth)
    assert [m["from"] for m in said] == ["me", "bot", "me", "bot"]
    assert said[2]["text"] == "comment retourner un article ?"


def test_long_polling_resumes_after_the_cursor(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "poll-one-0001")
    first = bots(client.get("/api/poll", params={"after": 0}, headers=auth).json()["messages"])
    say(client, auth, "comment retourner un article ?", "poll-two-0002")
    later = client.get("/api/poll", params={"after": first[-1]["id"]}, headers=auth)
    ids = [m["id"] for m in bots(later.json()["messages"])]
    assert ids and min(ids) > first[-1]["id"]
    again = client.get("/api/poll", headers={**auth, "Last-Event-ID": str(first[-1]["id"])})
    assert [m["id"] for m in bots(again.json()["messages"])] == ids


def test_text_is_kept_as_text(client: TestClient) -> None:
    auth = visitor(client)
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    say(client, auth, attack, "xss-attempt-01")
    assert history(client, auth)[0]["text"] == attack  # as typed; the widget shows it as text


def test_a_foreign_origin_is_refused_and_a_listed_one_allowed(client: TestClient) -> None:
    refused = client.post("/api/visitor", headers={"Origin": FOREIGN})
    assert refused.status_code == 403
    assert refused.json()["message"]["en"] == "This site may not use this chat."
    auth = visitor(client)
    assert client.get("/api/history", headers={**auth, "Origin": FOREIGN}).status_code == 403
    allowed = client.get("/api/history", headers={**auth, "Origin": PARTNER})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == PARTNER
    preflight = client.options("/api/messages", headers={"Origin": PARTNER})
    assert (
        preflight.status_code == 204
        and "authorization" in preflight.headers["access-control-allow-headers"]
    )


def test_too_many_messages_get_a_message_saying_so(client: TestClient) -> None:
    auth = visitor(client)
    for n in range(5):
        say(client, auth, "merci", f"rate-limit-{n:03}")
    refused = client.post(
        "/api/messages", headers=auth, json={"client_id": "rate-limit-999", "text": "merci"}
    )
    assert refused.status_code == 429 and "patientez" in refused.json()["message"]["fr"]


def test_oversized_and_malformed_requests_are_refused(client: TestClient) -> None:
    auth = visitor(client)
    huge = client.post(
        "/api/messages", headers=auth, json={"client_id": "too-big-0001", "text": "x" * 20_000}
    )
    assert huge.status_code == 413
    assert "4\u202f000 caractères maximum" in huge.json()["message"]["fr"]
    for body in ({"client_id": "short", "text": "hi"}, {"client_id": "no-text-0001"}, [1, 2]):
        assert client.post("/api/messages", headers=auth, json=body).status_code == 400


def test_a_photo_is_judged_by_its_bytes(client: TestClient) -> None:
    auth = visitor(client)
    renamed = client.post(
        "/api/files",
        headers=auth,
        params={"client_id": "upload-exe-01", "name": "photo.png"},
        content=b"MZ\x90\x00 not a picture at all",
    )
    assert renamed.status_code == 200
    said = history(client, auth)
    assert {k: said[0][k] for k in ("from", "client_id", "text")} == {
        "from": "me",
        "client_id": "upload-exe-01",
        "text": "📎 photo.png",
    }
    assert len(said) >= 2  # the bot answered the file rather than taking it as a photo


def test_acknowledged_messages_are_marked_delivered(client: TestClient, engine: Engine) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "ack-me-00001")
    [answer] = [m for m in history(client, auth) if m["from"] == "bot"]
    acked = client.post("/api/ack", headers=auth, json={"up_to": answer["id"]})
    assert acked.json() == {"marked": 1}
    assert client.post("/api/ack", headers=auth, json={"up_to": answer["id"]}).json() == {
        "marked": 0
    }


def sse_ids(base: str, auth: dict[str, str], last_event_id: int | None, count: int) -> list[int]:
    """The ids of the first ``count`` events of a stream opened on a real server."""
    headers = dict(auth)
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    ids: list[int] = []
    with httpx.stream("GET", f"{base}/api/events", headers=headers, timeout=10) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
            if line.startswith("data: ") and json.loads(line[6:])["from"] != "me":
                assert json.loads(line[6:])["id"] == ids[-1]
            if len(ids) == count:
                break
    return ids


def test_the_stream_resumes_after_the_last_event_id(engine: Engine, web_settings: Settings) -> None:
    with serving(build_web_app(engine, web_settings)) as base, httpx.Client(base_url=base) as c:
        auth = visitor(c)
        say(c, auth, "où est ma facture ?", "stream-one-01")
        say(c, auth, "comment retourner un article ?", "stream-two-02")
        every = [int(str(m["id"])) for m in history(c, auth) if m["from"] == "bot"]
        assert sse_ids(base, auth, None, len(every)) == every
        assert sse_ids(base, auth, every[0], len(every) - 1) == every[1:]


def test_forget_erases_the_visitors_transcript_too(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "before-forget-1")
    say(client, auth, "/forget", "forget-asked-01")
    confirmed = client.post(
        "/api/messages",
        headers=auth,
        json={"client_id": "forget-yes-001", "text": "Oui", "payload": "forget:yes"},
    )
    assert confirmed.json()["erased"] is True  # the widget starts the conversation afresh
    said = history(client, auth)
    assert [m["from"] for m in said] == ["bot"] and "effacées" in str(said[0]["text"])


def test_a_signed_customer_finds_their_conversation_on_another_device(
    engine: Engine, web_settings: Settings
) -> None:
    secret = "shared-with-the-marketplace"
    settings = web_settings.model_copy(update={"web_identity_secret": secret})
    expires = int(engine.clock().timestamp()) + 3600
    identity = sign_identity(secret, "customer-42", expires)
    with TestClient(build_web_app(engine, settings)) as client:
        phone = client.post("/api/visitor", json={"identity": identity}).json()["token"]
        say(client, {"Authorization": f"Bearer {phone}"}, "où est ma facture ?", "on-phone-0001")
        laptop = client.post("/api/visitor", json={"identity": identity}).json()["token"]
        assert laptop != phone
        said = history(client, {"Authorization": f"Bearer {laptop}"})
        assert said[0]["text"] == "où est ma facture ?" and len(said) == 2

        for forged in (
            identity[:-1] + ("0" if identity[-1] != "0" else "1"),  # signature changed
            identity.replace("customer-42", "customer-43"),  # someone else's id
            sign_identity(secret, "customer-42", expires - 7200),  # expired
            sign_identity("another secret", "customer-42", expires),
        ):
            refused = client.post("/api/visitor", json={"identity": forged})
            assert refused.status_code == 403 and refused.json()["error"] == "identity"
    with TestClient(build_web_app(engine, web_settings)) as no_secret:
        assert no_secret.post("/api/visitor", json={"identity": identity}).status_code == 403


def upload(client: TestClient, auth: dict[str, str], name: str, data: bytes, cid: str) -> None:
    sent = client.post(
        "/api/files", headers=auth, params={"client_id": cid, "name": name}, content=data
    )
    assert sent.status_code == 200, sent.text


def test_a_phone_photo_in_heic_is_taken_and_a_renamed_program_is_not(
    engine: Engine, web_settings: Settings
) -> None:
    roomy = web_settings.model_copy(update={"web_messages_per_minute": 50})
    with TestClient(build_web_app(engine, roomy)) as client:
        walk_to_the_photos_and_send_two(client)


def walk_to_the_photos_and_send_two(client: TestClient) -> None:
    auth = visitor(client)
    for n, line in enumerate(
        ("Mon colis est arrivé cassé", "123456789", "hier", "passer", "La figurine est cassée.")
    ):
        say(client, auth, line, f"to-photos-{n:03}")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(2000)
    upload(client, auth, "IMG_0001.HEIC", heic, "photo-heic-01")
    assert "Fichier reçu (1/10)" in str(history(client, auth)[-1]["text"])
    upload(client, auth, "photo.jpg", b"MZ\x90\x00" + bytes(2000), "photo-exe-001")
    said = " ".join(str(m["text"]) for m in history(client, auth)[-2:])
    assert "« photo.jpg » n'est pas accepté ici" in said and "(2/10)" not in said


def test_a_file_over_the_store_limit_is_refused_with_a_message(
    engine: Engine, web_settings: Settings
) -> None:
    small = web_settings.model_copy(update={"max_attachment_bytes": 1000})
    with TestClient(build_web_app(engine, small)) as client:
        auth = visitor(client)
        refused = client.post(
            "/api/files",
            headers=auth,
            params={"client_id": "too-large-001", "name": "big.jpg"},
            content=b"\xff\xd8\xff" + bytes(5000),
        )
        said = refused.json()["message"]
        assert refused.status_code == 413 and "volumineux" in said["fr"]
        assert "0 Mo maximum" in said["fr"] and "MB maximum" in said["en"]  # the limit said
        assert history(client, auth) == []


CARD = "4970 1012 3456 7890"


def test_a_card_number_is_kept_masked_in_the_transcript(client: TestClient, engine: Engine) -> None:
    auth = visitor(client)
    sent = client.post(
        "/api/messages",
        headers=auth,
        json={"client_id": "card-typed-001", "text": f"ma carte {CARD} a été débitée"},
    )
    assert sent.status_code == 200
    assert CARD not in sent.json()["text"] and "7890" in sent.json()["text"]
    mine = [m for m in history(client, auth) if m["from"] == "me"]
    assert CARD not in str(mine[0]["text"]) and "7890" in str(mine[0]["text"])
    with engine.sessions() as db:
        assert CARD not in " ".join(db.scalars(select(VisitorMessage.text)))


def test_my_data_holds_what_the_visitor_typed_masked(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "export-line-01")
    say(client, auth, f"carte {CARD}", "export-card-02")
    sent = client.post(
        "/api/messages", headers=auth, json={"client_id": "export-ask-003", "text": "/mydata"}
    )
    [document] = sent.json()["documents"]
    exported = json.loads(base64.b64decode(document["data"]))
    typed = [line["text"] for line in exported["web_messages"]]
    assert typed[0] == "où est ma facture ?"
    assert CARD not in typed[1] and "7890" in typed[1]


def test_the_visitors_lines_come_with_the_replies_for_their_other_tabs(client: TestClient) -> None:
    auth = visitor(client)
    say(client, auth, "où est ma facture ?", "tab-one-line-01")
    first = bots(client.get("/api/poll", params={"after": 0}, headers=auth).json()["messages"])
    say(client, auth, "comment retourner un article ?", "tab-two-line-02")  # another tab
    later = client.get("/api/poll", params={"after": first[-1]["id"]}, headers=auth)
    said = later.json()["messages"]
    assert said[0]["from"] == "me" and said[0]["text"] == "comment retourner un article ?"
    assert [m["from"] for m in said[1:]] == ["bot"] * (len(said) - 1) and len(said) > 1


def chat_of(engine: Engine, auth: dict[str, str]) -> str:
    token = auth["Authorization"].removeprefix("Bearer ")
    with engine.sessions() as db:
        found = db.get(WebVisitor, token_hash(token))
        assert found is not None
        return found.chat_id


def queue_from_elsewhere(engine: Engine, chat_id: str, text: str) -> int:
    """A message queued by another process (an agent's reply from the command line)."""
    with engine.sessions.begin() as db:
        row = OutboxMessage(channel="web", chat_id=chat_id, text=text, buttons=[])
        db.add(row)
        db.flush()
        return row.id


class Listener:
    """An open stream read in a thread: the ids it showed, and the visitor's own lines."""

    def __init__(self, base: str, auth: dict[str, str]) -> None:
        self.ids: list[int] = []
        self.mine: list[str] = []
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(base, auth), daemon=True)
        self.thread.start()
        assert self.opened.wait(10)

    def _read(self, base: str, auth: dict[str, str]) -> None:
        with (
            contextlib.suppress(httpx.HTTPError),  # the server stops at the end of the test
            httpx.stream("GET", f"{base}/api/events", headers=auth, timeout=30) as stream,
        ):
            for line in stream.iter_lines():
                self.opened.set()
                if line.startswith("id: "):
                    self.ids.append(int(line[4:]))
                elif line.startswith("data: ") and json.loads(line[6:])["from"] == "me":
                    self.mine.append(json.loads(line[6:])["client_id"])

    def until(self, count: int) -> list[int]:
        deadline = time.monotonic() + 10
        while len(self.ids) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.ids


def test_an_open_stream_gets_every_message_once_in_order_wherever_it_was_queued(
    engine: Engine, web_settings: Settings
) -> None:
    with serving(build_web_app(engine, web_settings)) as base, httpx.Client(base_url=base) as c:
        auth = visitor(c)
        say(c, auth, "où est ma facture ?", "live-first-01")
        chat_id = chat_of(engine, auth)
        listener = Listener(base, auth)
        # Queued by another process: the process's watcher finds it.
        elsewhere = queue_from_elsewhere(engine, chat_id, "[SAV-2612-ABCDE] Bonjour")
        # Queued elsewhere just before the visitor writes: it comes before the replies
        # the turn publishes at once, never skipped by them.
        just_before = queue_from_elsewhere(engine, chat_id, "[SAV-2612-ABCDE] Une question")
        say(c, auth, "comment retourner un article ?", "live-second-02")
        every = [int(str(m["id"])) for m in bots(history(c, auth))]
        assert elsewhere in every and just_before in every
        assert listener.until(len(every)) == every  # all of them, each once, in order
        time.sleep(WATCH_SECONDS * 3)  # the watcher reads them again: nothing doubled
        assert listener.ids == every
        assert listener.mine.count("live-second-02") == 1


def test_acknowledgements_that_come_together_are_written_together() -> None:
    batches: list[list[tuple[str, int]]] = []

    async def write(acks: list[tuple[str, int]]) -> list[int]:
        batches.append(acks)
        await asyncio.sleep(0.01)  # the store's time: others come meanwhile
        return [up_to % 10 for _, up_to in acks]

    async def acknowledge_at_once() -> tuple[list[int], int]:
        acks = Acknowledgements(write)
        together = await asyncio.gather(*(acks.acknowledge(f"c{n}", n) for n in range(5)))
        return list(together), await acks.acknowledge("alone", 17)

    assert asyncio.run(acknowledge_at_once()) == ([0, 1, 2, 3, 4], 7)  # each its own count
    assert batches == [[(f"c{n}", n) for n in range(5)], [("alone", 17)]]
