"""Reply templates: the shipped ones load and render in both languages; broken files say where."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT
from supportbot.content import ContentError
from supportbot.replies import ReplyBook, TemplateValues, UnknownTemplate, load_replies

PARIS = ZoneInfo("Europe/Paris")
VALUES = TemplateValues(
    customer_name="Alice",
    ticket_ref="SAV-2611-ABCDE",
    order_number="123456789",
    due=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS),
    agent_name="Léa",
)


@pytest.fixture(scope="module")
def book() -> ReplyBook:
    return load_replies(ROOT / "replies")


def problems(tmp_path: Path, *files: tuple[str, str]) -> list[str]:
    for name, body in files:
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_replies(tmp_path)
    return [str(p) for p in caught.value.problems]


GOOD = """\
name: {name}
title: {{fr: Titre, en: Title}}
text: {{fr: "Bonjour {{customer_name}}", en: "Hello {{customer_name}}"}}
"""


def test_the_support_page_answers_are_shipped(book: ReplyBook) -> None:
    assert {
        "documents-missing",
        "seller-first",
        "mediation",
        "refund-after-validation",
        "closing-summary",
    } <= set(book.templates)


def test_mediation_gives_the_references_of_the_support_page(book: ReplyBook) -> None:
    fr = book.render("mediation", "fr", VALUES)
    for reference in ("CM2C", "14 rue Saint Jean, 75017 Paris", "www.cm2c.net", "L. 616-1"):
        assert reference in fr
    assert "numéro de commande (123456789)" in fr and fr.startswith("Bonjour Alice,")
    en = book.render("mediation", "en", VALUES)
    assert en.startswith("Hello Alice,") and "www.cm2c.net" in en and "Article L. 616-1" in en


def test_rendering_fills_every_variable_in_the_customer_language(book: ReplyBook) -> None:
    fr = book.render("taken-in-charge", "fr", VALUES)
    assert "Je suis Léa" in fr and "SAV-2611-ABCDE" in fr
    assert "mardi 1 décembre 2026 à 17:00" in fr
    en = book.render("taken-in-charge", "en", VALUES)
    assert "I am Léa" in en and "Tuesday 1 December 2026 at 17:00" in en
    for name in book.templates:
        for lang in ("fr", "en"):
            assert "{" not in book.render(name, lang, VALUES)


def test_missing_values_are_said_not_left_blank(book: ReplyBook) -> None:
    bare = TemplateValues("Alice", "SAV-2611-ABCDE", None, None, "Léa")
    assert "numéro de commande (non communiqué)" in book.render("mediation", "fr", bare)
    assert "order number (not provided)" in book.render("mediation", "en", bare)


def test_the_page_rules_are_kept(book: ReplyBook) -> None:
    assert "moyen de paiement initial" in book.render("refund-after-validation", "fr", VALUES)
    assert "original payment method" in book.render("refund-after-validation", "en", VALUES)
    seller = book.render("seller-first", "fr", VALUES)
    assert "messagerie de commande" in seller and "48 à 72 h ouvrées" in seller
    missing = book.render("documents-missing", "fr", VALUES)
    assert "photos" in missing and "suivi" in missing and "échanges" in missing


def test_unknown_template_lists_the_known_ones(book: ReplyBook) -> None:
    with pytest.raises(UnknownTemplate, match=r"named 'nope'; known: .*mediation"):
        book.get("nope")
    assert book.get(" Mediation ").name == "mediation"


def test_unknown_variable_names_file_template_and_field(tmp_path: Path) -> None:
    body = GOOD.format(name="hello").replace('"Hello {customer_name}"', '"Hello {first_name}"')
    assert problems(tmp_path, ("greet.yaml", body)) == [
        "greet.yaml: entry 'hello', field 'text.en': unknown variable {first_name}; known: "
        "{customer_name}, {ticket_ref}, {order_number}, {due}, {agent_name}"
    ]


def test_missing_language_and_unknown_key(tmp_path: Path) -> None:
    body = "- name: short\n  title: {fr: Court}\n  text: {fr: Oui, en: Yes}\n  tone: dry\n"
    found = problems(tmp_path, ("a.yaml", body))
    assert "a.yaml: entry 'short', field 'title.en': Field required" in found
    assert any(p.startswith("a.yaml: entry 'short', field 'tone': Extra inputs") for p in found)


def test_duplicate_name_across_files(tmp_path: Path) -> None:
    found = problems(
        tmp_path, ("a.yaml", GOOD.format(name="same")), ("b.yaml", GOOD.format(name="same"))
    )
    assert found == ["b.yaml: entry 'same', field 'name': duplicate name (also in a.yaml)"]


def test_malformed_braces_and_formats_are_refused(tmp_path: Path) -> None:
    single = GOOD.format(name="one").replace('"Bonjour {customer_name}"', '"Bonjour {"')
    spec = GOOD.format(name="two").replace('"Hello {customer_name}"', '"Hello {due!r}"')
    found = problems(tmp_path, ("a.yaml", single), ("b.yaml", spec))
    assert found[0].startswith("a.yaml: entry 'one', field 'text.fr': ")
    assert "{{" in found[0]
    assert found[1] == (
        "b.yaml: entry 'two', field 'text.en': variable {due} takes no format or conversion"
    )


def test_a_file_must_hold_templates(tmp_path: Path) -> None:
    assert problems(tmp_path, ("x.yaml", "- just a string\n")) == [
        "x.yaml: expected a template or a list of templates"
    ]


def test_literal_braces_and_an_absent_folder(tmp_path: Path) -> None:
    body = GOOD.format(name="braces").replace("Bonjour {customer_name}", "Code {{promo}}")
    (tmp_path / "a.yaml").write_text(body, encoding="utf-8")
    assert load_replies(tmp_path).render("braces", "fr", VALUES) == "Code {promo}"
    assert load_replies(tmp_path / "none").templates == {}


def test_a_customer_without_a_name_is_greeted_without_one(book: ReplyBook) -> None:
    nameless = TemplateValues("", "SAV-2611-ABCDE", None, None, "Léa")
    for name in book.templates:
        fr = book.render(name, "fr", nameless)
        en = book.render(name, "en", nameless)
        assert " ," not in fr and " ," not in en
    assert book.render("taken-in-charge", "fr", nameless).startswith("Bonjour,")
    assert book.render("taken-in-charge", "en", nameless).startswith("Hello,")
