"""Content validation: every problem names the file, the entry and the field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from supportbot.content import ContentError, load_content
from supportbot.fields import choice_named_in


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "faq", tmp_path / "faq")
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copytree(ROOT / "matching", tmp_path / "matching")
    return tmp_path


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as info:
        load_content(root)
    return [str(p) for p in info.value.problems]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_content_is_valid_and_complete() -> None:
    content = load_content(ROOT)
    catalog = {
        "open-ticket",
        "first-response-time",
        "ticket-steps",
        "speed-up-case",
        "ticket-tips",
        "attachments",
        "official-channels",
        "non-order-request",
        "order-status",
        "delivery-delay",
        "invoice",
        "withdrawal-right",
        "return-window",
        "refund-method",
        "return-documents",
        "contact-seller",
        "dispute-process",
        "platform-role",
        "mediation",
        "account-security",
        "gdpr",
        "useful-links",
    }
    assert catalog <= set(content.faq)
    flows = {
        "order-problem",
        "return-refund",
        "dispute",
        "seller-unresponsive",
        "account-security",
        "gdpr-request",
        "other-request",
        "human-agent",
    }
    assert flows <= set(content.flows)
    for entry in content.faq.values():
        assert len(entry.questions.fr) >= 8 and len(entry.questions.en) >= 3, entry.id
    assert all(flow.steps and flow.ticket for flow in content.flows.values())


def test_unknown_key_names_file_entry_and_field(tree: Path) -> None:
    edit(tree / "faq" / "orders.yaml", "  - id: invoice\n", "  - id: invoice\n    colour: red\n")
    [problem] = problems(tree)
    assert "orders.yaml" in problem and "'invoice'" in problem and "colour" in problem


def test_missing_language(tree: Path) -> None:
    edit(tree / "faq" / "orders.yaml", "      en: Get my invoice\n", "")
    [problem] = problems(tree)
    assert "'invoice'" in problem and "title.en" in problem


def test_duplicate_id_across_files(tree: Path) -> None:
    edit(tree / "faq" / "returns.yaml", "id: refund-method", "id: invoice")
    found = problems(tree)
    assert any("returns.yaml" in p and "duplicate id" in p and "orders.yaml" in p for p in found)


def test_same_variant_under_two_entries(tree: Path) -> None:
    edit(
        tree / "faq" / "orders.yaml",
        "        - facture pdf\n",
        "        - facture pdf\n        - Où EST ma commande ?\n",
    )
    path = tree / "faq" / "orders.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("- Où EST ma commande ?", "- ou est ma facture ?", 1), encoding="utf-8"
    )
    # "ou est ma facture ?" normalises like "où est ma facture", already in the same entry: fine
    load_content(tree)
    edit(
        tree / "faq" / "returns.yaml",
        "questions:\n      fr:\n",
        "questions:\n      fr:\n        - OU est ma facture\n",
    )
    found = problems(tree)
    assert any(
        "returns.yaml" in p and "questions.fr" in p and "faq:invoice" not in p and "invoice" in p
        for p in found
    )


def test_follow_up_pointing_nowhere(tree: Path) -> None:
    edit(tree / "faq" / "orders.yaml", "related: [order-status]", "related: [nowhere]")
    [problem] = problems(tree)
    assert "'invoice'" in problem and "related" in problem and "nowhere" in problem


def test_broken_yaml_names_the_file_and_line(tree: Path) -> None:
    (tree / "flows" / "dispute.yaml").write_text("id: dispute\ntitle: [unclosed\n")
    found = problems(tree)
    assert any("dispute.yaml" in p and "line 3" in p and "invalid YAML" in p for p in found)
    # the FAQ entry that offers the now-missing flow is reported too
    assert any("'dispute-process'" in p and "'dispute' is not a flow id" in p for p in found)


def test_an_emptied_file_is_a_problem_not_fewer_entries(tree: Path) -> None:
    (tree / "faq" / "orders.yaml").write_text("", encoding="utf-8")
    (tree / "flows" / "dispute.yaml").write_text("# nothing left\n", encoding="utf-8")
    found = problems(tree)
    assert "orders.yaml: the file is empty" in found
    assert "dispute.yaml: the file is empty" in found


def test_flow_condition_on_unknown_step(tree: Path) -> None:
    edit(tree / "flows" / "order-problem.yaml", "field: problem_kind", "field: nothing")
    [problem] = problems(tree)
    assert "order-problem.yaml" in problem and "photos.when" in problem  # the first one


def test_flow_stop_value_not_a_choice(tree: Path) -> None:
    path = tree / "flows" / "dispute.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"stop_if:\n(\s+)in: \[(.*?)\]", r"stop_if:\n\1in: [maybe]", text, count=1)
    path.write_text(text, encoding="utf-8")
    found = problems(tree)
    assert any("seller_contacted.stop_if" in p and "maybe" in p for p in found)


# -- eval cases must not be copies of training phrasings (issue 13, part 5) --------


def test_no_eval_case_is_a_copy_of_a_training_phrasing() -> None:
    from supportbot.evaluation import eval_files, eval_leaks

    assert len(eval_files(ROOT)) == 3  # public + blind fr + blind en are all checked
    assert eval_leaks(ROOT, load_content(ROOT)) == []


def test_a_near_copy_of_a_phrasing_in_an_eval_is_reported(tree: Path) -> None:
    from supportbot.evaluation import eval_leaks

    content = load_content(tree)
    label, phrasing = next(p for p in content.pairs() if len(p[1].split()) >= 4)
    (tree / "evals" / "blind").mkdir(parents=True)
    (tree / "evals" / "public.yaml").write_text(
        "- {text: 'qsdfghjklm wxcvbn', expect: [none]}\n"
        f"- text: {(phrasing.upper() + ' ?')!r}\n  expect: [{label}]\n",
        encoding="utf-8",
    )
    (tree / "evals" / "blind" / "questions-en.yaml").write_text(
        "- {text: 'nothing like any phrasing at all here', expect: [none]}\n", encoding="utf-8"
    )
    [problem] = [str(p) for p in eval_leaks(tree, content)]
    assert problem.startswith("evals/public.yaml: entry 'case #2'")
    assert repr(phrasing) in problem and label in problem


# -- the synonym table (matching/synonyms.yaml) ---------------------------------------


def test_the_shipped_synonym_table_is_loaded_folded_and_lemmatised() -> None:
    table = load_content(ROOT).synonyms
    assert table["casse"] == table["snap"] == table["broken"]  # cassé, snapped, broken
    assert table["remboursement"] == table["refund"]


def test_synonym_problems_name_the_file_and_the_idea(tree: Path) -> None:
    (tree / "matching").mkdir(exist_ok=True)
    (tree / "matching" / "synonyms.yaml").write_text(
        "ideas:\n  damaged: [cassé, broken]\n  wrong: [faux, cassée, mot de passe]\n",
        encoding="utf-8",
    )
    found = problems(tree)
    assert (
        "matching/synonyms.yaml, field 'ideas.wrong': 'cassée' is also a word of 'damaged'" in found
    )
    assert "matching/synonyms.yaml, field 'ideas.wrong': 'mot de passe' is not one word" in found
    (tree / "matching" / "synonyms.yaml").write_text("ideas: [cassé]\n", encoding="utf-8")
    assert any(p.startswith("matching/synonyms.yaml, field 'ideas'") for p in problems(tree))


def test_choice_ideas_name_the_choice_and_unknown_ideas_are_refused(tree: Path) -> None:
    content = load_content(tree)
    kind = content.flows["order-problem"].step("problem_kind")
    # every word of the synonym table's idea names the choice, as customers write it
    assert choice_named_in("les 6 porte-clés sont tordus", kind.choices) == "damaged"
    assert choice_named_in("the box came crushed", kind.choices) == "damaged"
    # a word one letter away from an idea's word is no typo of it when it starts otherwise
    assert choice_named_in("I haven't shipped anything yet", kind.choices) is None
    # a dictionary word is never read as a misspelling of a name ("snapped", "other")
    assert choice_named_in("sorry, I swapped two digits", kind.choices) is None
    assert choice_named_in("one foot is shorter than the others", kind.choices) is None
    assert choice_named_in("it is brokn", kind.choices) == "damaged"  # a real typo
    edit(tree / "flows" / "order-problem.yaml", "ideas: [damaged]", "ideas: [squashed]")
    [problem] = problems(tree)
    assert "order-problem.yaml" in problem and "problem_kind.choices.damaged.ideas" in problem
    assert "'squashed' is not an idea" in problem


def test_only_a_free_text_question_takes_the_story(tree: Path) -> None:
    edit(
        tree / "flows" / "order-problem.yaml",
        "type: order_number\n",
        "type: order_number\n    from_story: true\n",
    )
    [problem] = [p for p in problems(tree) if "from_story" in p]
    assert "order-problem" in problem and "free-text" in problem
