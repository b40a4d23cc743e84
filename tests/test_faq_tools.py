"""The FAQ that learns: gaps, drafts, new variants, and masking, on a store seeded by chats."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner, Result

import supportbot.faq_tools as faq_tools
from conftest import ROOT, Chat, Clock
from supportbot.app import build_desk
from supportbot.config import Settings
from supportbot.content import Content, ContentError, FaqFile, load_content
from supportbot.engine import Engine
from supportbot.faq_cli import add_variant, check_drafts_or_exit, draft, gaps
from supportbot.faq_tools import (
    FaqToolError,
    Gap,
    check_drafts,
    find_gaps,
    guess_language,
    render_draft,
    suggest_id,
    ticket_answer,
    write_draft,
)
from supportbot.masking import mask_personal_data
from supportbot.matching import Matcher
from supportbot.store import Ticket

RESIN = [
    "est-ce que vous imprimez des figurines en résine",
    "vous imprimez des figurines en resine ?",
    "impression de figurines en résine possible ?",
]
PROMO = ["vous avez un code promo", "un code promo svp"]
DISLIKED = "ma facture pour la commande 123456789 svp"


@pytest.fixture(scope="module")
def ranker() -> Matcher:
    return Matcher.from_pairs(load_content(ROOT).pairs())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the served content (faq/*.yaml, flows, scope, matching) to edit freely."""
    copy = tmp_path / "content"
    (copy / "faq").mkdir(parents=True)
    for path in (ROOT / "faq").glob("*.yaml"):
        shutil.copy(path, copy / "faq" / path.name)
    for folder in ("flows", "scope", "matching"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, copy / folder)
    return copy


@pytest.fixture
def seeded(engine: Engine, new_chat: Callable[..., Chat]) -> Engine:
    """Questions the bot cannot answer, and one answer a customer disliked."""
    for i, question in enumerate([*RESIN, *PROMO]):
        answer = new_chat(f"asker{i}").say(question)  # not understood, or not covered
        assert "pas sûr d'avoir compris" in answer or "sort de ce que couvre" in answer
    unhappy = new_chat("unhappy")
    assert "facture" in unhappy.say(DISLIKED).lower()
    unhappy.press("fb:down:invoice")
    unhappy.say(DISLIKED)
    unhappy.press("fb:up:invoice")  # a thumbs up is not a gap
    return engine


def gaps_of(engine: Engine, ranker: Matcher, since: datetime | None = None) -> list[Gap]:
    with engine.sessions() as db:
        return find_gaps(db, ranker, engine.content, since)


# -- masking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("écrivez à jean.dupont+sav@gmail.com", "écrivez à <email>"),
        ("commande 123456789 pas reçue", "commande <numéro> pas reçue"),
        ("order n°00123456", "order n°<numéro>"),
        ("appelez le 06 12 34 56 78", "appelez le <téléphone>"),
        ("ou le 06.12.34.56.78 / 0612345678", "ou le <téléphone> / <téléphone>"),
        ("+33 6 12 34 56 78, +33612345678", "<téléphone>, <téléphone>"),
        ("0033 (0)6 12 34 56 78", "<téléphone>"),
        ("suivi RR123456789FR et 6A12345678901", "suivi <suivi> et <suivi>"),
        ("UPS 1Z999AA10123456784", "UPS <suivi>"),
        ("IBAN FR76 3000 6000 0112 3456 7890 189", "IBAN <iban>"),
        ("carte 4970 1012 3456 7890", "carte <numéro>"),
        ("le 24/11/2026 à 10h, 1500 €, lot 12345", "le 24/11/2026 à 10h, 1500 €, lot 12345"),
        ("ticket SAV-2611-4ZVGA", "ticket SAV-2611-4ZVGA"),
    ],
)
def test_mask_personal_data(raw: str, masked: str) -> None:
    assert mask_personal_data(raw) == masked


@given(st.text(alphabet="0123456789 abcAZ@.+-()", max_size=60))
def test_masking_leaves_no_long_number_and_is_stable(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once
    assert not re.search(r"\d{6}", once)


def test_guess_language() -> None:
    assert guess_language("où est ma facture") == "fr"
    assert guess_language("where is my invoice") == "en"
    assert guess_language("résine") == "fr"
    assert guess_language("zzz", fallback="en") == "en"


# -- gaps -------------------------------------------------------------------------------


def test_gaps_group_similar_questions_biggest_first(seeded: Engine, ranker: Matcher) -> None:
    found = gaps_of(seeded, ranker)
    first, second = found[0].as_dict(), found[1].as_dict()
    assert first["group"] == 1 and first["size"] == 3 and first["unanswered"] == 3
    assert set(first["examples"]) == set(RESIN) and first["languages"] == {"fr": 3}
    assert second["size"] == 2 and set(second["examples"]) == set(PROMO)
    disliked = next(g.as_dict() for g in found if g.as_dict()["thumbs_down"])
    assert disliked["size"] == 1 and disliked["thumbs_down_on"] == {"invoice": 1}
    assert disliked["examples"] == ["ma facture pour la commande <numéro> svp"]
    assert disliked["nearest"]["id"] == "invoice"
    assert disliked["nearest"]["score"] > (first["nearest"] or {"score": 0})["score"] + 20
    assert sum(len(g.questions) for g in found) == 6  # the thumbs up is not counted


def test_gap_numbers_are_reproducible(seeded: Engine, ranker: Matcher) -> None:
    first = [g.as_dict() for g in gaps_of(seeded, ranker)]
    assert [g.as_dict() for g in gaps_of(seeded, ranker)] == first
    assert [g["group"] for g in first] == list(range(1, len(first) + 1))


def test_gaps_since(
    seeded: Engine, ranker: Matcher, clock: Clock, new_chat: Callable[..., Chat]
) -> None:
    clock.now += timedelta(days=3)
    new_chat("later").say("do you print resin figurines")
    later = gaps_of(seeded, ranker, clock.now - timedelta(hours=1))
    assert [g.as_dict()["examples"] for g in later] == [["do you print resin figurines"]]
    assert later[0].as_dict()["languages"] == {"en": 1}
    assert gaps_of(seeded, ranker, clock.now + timedelta(hours=1)) == []


# -- drafts -----------------------------------------------------------------------------


def test_draft_is_a_valid_faq_file_and_never_served(
    seeded: Engine, ranker: Matcher, root: Path
) -> None:
    gap = gaps_of(seeded, ranker)[0]
    entry_id = suggest_id(gap, seeded.content)
    assert entry_id == "imprimez-figurines-resine"
    path = write_draft(root, entry_id, render_draft(gap, seeded.content, entry_id))
    assert path == root / "faq" / "drafts" / f"{entry_id}.yaml"
    entry = FaqFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).entries[0]
    assert set(entry.questions.fr) == set(RESIN)
    assert entry.questions.en == [f"TODO: English question for {entry_id}"]
    assert entry.answer.fr == entry.answer.en == "TODO: written by a person"
    assert check_drafts(root) == []
    served = load_content(root)
    assert entry_id not in served.faq
    assert f"faq:{entry_id}" not in Matcher.from_pairs(served.pairs()).labels
    with pytest.raises(FaqToolError, match="already exists"):
        write_draft(root, entry_id, "theme: x\n")


def test_draft_leaves_out_served_phrasings_and_refuses_bad_ids(
    seeded: Engine, ranker: Matcher, clock: Clock, new_chat: Callable[..., Chat]
) -> None:
    clock.now += timedelta(days=1)
    chat = new_chat("again")
    chat.say("où est ma facture")
    chat.press("fb:down:invoice")
    gap = gaps_of(seeded, ranker, clock.now)[0]
    text = render_draft(gap, seeded.content, "facture-bis")
    assert "# Left out, already a served phrasing: où est ma facture (faq:invoice)" in text
    with pytest.raises(FaqToolError, match="not a valid id"):
        render_draft(gap, seeded.content, "Bad_Id")
    with pytest.raises(FaqToolError, match="already an FAQ id"):
        render_draft(gap, seeded.content, "invoice")


def test_draft_answer_from_a_ticket(
    seeded: Engine, ranker: Matcher, new_chat: Callable[..., Chat]
) -> None:
    customer = new_chat("claire")
    for line in ("/agent", "Je voudrais savoir si vous imprimez en résine", "confirmer"):
        customer.say(line)
    with seeded.sessions() as db:
        reference = db.scalars(select(Ticket.reference)).one()
        with pytest.raises(FaqToolError, match="no agent message"):
            ticket_answer(db, reference)
        with pytest.raises(FaqToolError, match="no ticket"):
            ticket_answer(db, "SAV-NOPE")
    desk = build_desk(seeded)
    desk.reply(reference, "lea", "Pas encore, écrivez à lea@example.com.")
    desk.reply(reference, "lea", "Bonjour Claire, oui, en résine : voyez la commande 123456789.")
    with seeded.sessions() as db:
        answer = ticket_answer(db, reference.lower())
    assert answer == ("fr", "Bonjour <nom>, oui, en résine : voyez la commande <numéro>.")
    text = render_draft(gaps_of(seeded, ranker)[0], seeded.content, "resine", answer)
    entry = FaqFile.model_validate(yaml.safe_load(text)).entries[0]
    assert entry.answer.fr == answer[1] and entry.answer.en == "TODO: translate the fr answer"


def test_check_drafts_names_each_problem(root: Path, content: Content) -> None:
    drafts = root / "faq" / "drafts"
    drafts.mkdir()
    (drafts / ".gitkeep").touch()
    assert check_drafts(root, content) == []
    (drafts / "broken.yaml").write_text(
        "theme: drafts\nentries:\n  - id: broken\n    title: {fr: a, en: b}\n"
        "    questions: {fr: [une question neuve], en: [a new question]}\n"
        "    answer: {fr: réponse}\n",
        encoding="utf-8",
    )
    (drafts / "clash.yaml").write_text(
        "theme: drafts\nentries:\n  - id: invoice\n    title: {fr: a, en: b}\n"
        "    questions: {fr: [encore une question], en: [another new question]}\n"
        "    answer: {fr: a, en: b}\n    related: [nope]\n"
        "  - id: facture-2\n    title: {fr: a, en: b}\n"
        "    questions: {fr: [où est ma facture], en: [yet another question]}\n"
        "    answer: {fr: a, en: b}\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in check_drafts(root, content)]
    assert any("drafts/broken.yaml" in p and "answer.en" in p for p in problems)
    assert any("drafts/clash.yaml" in p and "already an FAQ id" in p for p in problems)
    assert any("'nope' is not an FAQ id" in p for p in problems)
    assert any("also a phrasing of faq:invoice" in p for p in problems)
    load_content(root)  # drafts never affect the served content
    with pytest.raises(typer.Exit):
        check_drafts_or_exit(root, content)


# -- add-variant ------------------------------------------------------------------------


def test_add_variant_appends_in_place(root: Path) -> None:
    path = root / "faq" / "orders.yaml"
    before = path.read_text(encoding="utf-8").splitlines()
    added = faq_tools.add_variant(root, "invoice", "facture  introuvable, commande 123456789")
    assert (added.path, added.language) == (path, "fr")
    assert added.text == "facture introuvable, commande <numéro>"
    after = path.read_text(encoding="utf-8").splitlines()
    assert len(after) == len(before) + 1 and after[0].startswith("# Theme: orders")
    new_line = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b)
    assert after[new_line] == "        - facture introuvable, commande <numéro>"
    assert after[:new_line] + after[new_line + 1 :] == before
    entry = load_content(root).faq["invoice"]
    assert entry.questions.fr[-1] == added.text
    english = faq_tools.add_variant(root, "invoice", "where's the bill for my order")
    assert english.language == "en"
    assert load_content(root).faq["invoice"].questions.en[-1] == "where's the bill for my order"


def test_add_variant_refuses_duplicates_and_unknown_ids(root: Path) -> None:
    files = {p: p.read_bytes() for p in (root / "faq").glob("*.yaml")}
    with pytest.raises(FaqToolError, match="already a phrasing of faq:invoice"):
        faq_tools.add_variant(root, "order-status", "OÙ est ma FACTURE ?")
    with pytest.raises(FaqToolError, match=r"unknown FAQ id 'invoic' \(did you mean invoice"):
        faq_tools.add_variant(root, "invoic", "une question neuve")
    with pytest.raises(FaqToolError, match="no words"):
        faq_tools.add_variant(root, "invoice", " ?! ")
    served = Matcher.from_pairs(load_content(root).pairs())
    with pytest.raises(FaqToolError, match="answered by faq:order-status today"):
        faq_tools.add_variant(root, "invoice", "ou est ma commande", matcher=served)
    assert {p: p.read_bytes() for p in files} == files
    forced = faq_tools.add_variant(
        root, "invoice", "ou est ma commande", matcher=served, force=True
    )
    assert forced.entry_id == "invoice"  # the operator insisted


def test_add_variant_keeps_flow_lists_and_crlf(root: Path) -> None:
    path = root / "faq" / "extra.yaml"
    source = (
        "# kept\r\ntheme: extra\r\nentries:\r\n  - id: extra\r\n    title: {fr: a, en: b}\r\n"
        "    questions:\r\n      fr: [question un, 'question deux']  # kept too\r\n"
        "      en:\r\n      - first question\r\n      - |\r\n        second question\r\n"
        "    answer: {fr: a, en: b}\r\n"
    )
    path.write_bytes(source.encode())
    faq_tools.add_variant(root, "extra", "question trois, avec virgule", lang="fr")
    faq_tools.add_variant(root, "extra", "third question: yes", lang="en")
    text = path.read_bytes().decode()
    assert "fr: [question un, 'question deux', \"question trois, avec virgule\"]  # kept" in text
    assert text.endswith("      - 'third question: yes'\r\n    answer: {fr: a, en: b}\r\n")
    assert text.startswith("# kept\r\n")
    entry = load_content(root).faq["extra"]
    assert entry.questions.fr[-1] == "question trois, avec virgule"
    assert entry.questions.en == ["first question", "second question\n", "third question: yes"]


def test_add_variant_rolls_back_when_the_content_breaks(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = root / "faq" / "orders.yaml"
    original = path.read_bytes()
    calls: list[Path] = []

    def failing_second_load(where: Path) -> Content:
        calls.append(where)
        if len(calls) > 1:
            raise ContentError([])
        return load_content(where)

    monkeypatch.setattr(faq_tools, "load_content", failing_second_load)
    with pytest.raises(FaqToolError, match="left unchanged"):
        faq_tools.add_variant(root, "invoice", "une facture toute neuve")
    assert path.read_bytes() == original


# -- the commands -----------------------------------------------------------------------


def invoke(settings: Settings, root: Path, *args: str) -> Result:
    app = typer.Typer()
    app.command("gaps")(gaps)
    app.command("draft")(draft)
    app.command("add-variant")(add_variant)
    env = {"SUPPORTBOT_DATABASE_URL": settings.database_url, "SUPPORTBOT_CONTENT_DIR": str(root)}
    return CliRunner().invoke(app, list(args), env=env)


def test_commands(seeded: Engine, settings: Settings, root: Path) -> None:
    data = json.loads(invoke(settings, root, "gaps", "--json").stdout)
    assert data["since"] is None and data["groups"][0]["size"] == 3
    assert "123456789" not in json.dumps(data)
    text = invoke(settings, root, "gaps").stdout
    assert text.startswith("6 question(s) in 3 group(s)") and "#1  3 question(s)" in text
    assert "<numéro>" in text and "123456789" not in text
    assert "no unanswered" in invoke(settings, root, "gaps", "--since", "2030-01-01").stdout
    assert invoke(settings, root, "gaps", "--since", "soon").exit_code == 2

    written = invoke(settings, root, "draft", "1", "--id", "resine")
    assert written.exit_code == 0, written.stderr
    assert (root / "faq" / "drafts" / "resine.yaml").is_file() and check_drafts(root) == []
    again = invoke(settings, root, "draft", "1", "--id", "resine")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert invoke(settings, root, "draft", "1", "--id", "resine", "--force").exit_code == 0
    missing = invoke(settings, root, "draft", "9")
    assert missing.exit_code == 1 and "no group 9" in missing.stderr

    added = invoke(settings, root, "add-variant", "invoice", "facture svp 0612345678")
    assert added.exit_code == 0 and "<téléphone>" in added.stdout
    duplicate = invoke(settings, root, "add-variant", "invoice", "facture svp 0612345678")
    assert duplicate.exit_code == 1 and "already a phrasing of faq:invoice" in duplicate.stderr
    assert invoke(settings, root, "add-variant", "invoice", "x", "--lang", "de").exit_code == 2


def test_since_is_read_in_the_configured_timezone(
    seeded: Engine, settings: Settings, root: Path
) -> None:
    # The questions were asked at 10:00 UTC, i.e. 11:00 in Paris.
    asked = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert seeded.clock() == asked
    after = invoke(settings, root, "gaps", "--since", "2026-11-24T11:30", "--json")
    assert json.loads(after.stdout)["groups"] == []
    before = invoke(settings, root, "gaps", "--since", "2026-11-24T10:30", "--json")
    assert len(json.loads(before.stdout)["groups"]) == 3
