"""An FAQ that learns: gaps from unanswered and 👎 questions, drafts, new variants, masking."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import yaml
from pydantic import ValidationError
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.content import (
    LANGUAGES,
    Content,
    ContentError,
    FaqEntry,
    FaqFile,
    Problem,
    _validation_problems,
    load_content,
)
from supportbot.language import guess_language as spoken_language
from supportbot.lexicon import shipped_lexicon
from supportbot.masking import mask_personal_data
from supportbot.matching import Match
from supportbot.normalise import normalise
from supportbot.store import AnswerFeedback, Ticket, UnansweredQuestion

DRAFTS = Path("faq") / "drafts"
TODO_ANSWER = "TODO: written by a person"
MAX_GROUPED = 2000  # the most recent questions; the distance matrix grows as its square

_ACCENTS = re.compile(r"[éèêàçùôîûëïœ]")


class Ranker(Protocol):
    """What gaps need from a matcher: labels ranked with 0-100 scores."""

    def rank(self, text: str, limit: int = 5) -> list[Match]: ...


# A phrasing that scores this much for another entry (or a flow) is answered by it
# today: well above the serving threshold (15), so a vague phrasing is not blocked.
TAKEN_SCORE = 25.0


class FaqToolError(Exception):
    """A request these tools refuse; the message says why."""


def guess_language(text: str, fallback: str = "fr") -> str:
    """ "fr" or "en" as the conversation reads it (the lexicon's words), accents telling
    French when the words do not; ``fallback`` when undecided."""
    found = spoken_language(text)
    if found is not None:
        return found
    if _ACCENTS.search(text.lower()):
        return "fr"
    return fallback if fallback in LANGUAGES else "fr"


@dataclass(frozen=True, slots=True)
class Question:
    """A masked question from the store; ``thumbs_down_on`` names the 👎 FAQ entry."""

    text: str
    language: str
    at: datetime
    thumbs_down_on: str | None = None


@dataclass(frozen=True)
class Gap:
    """A group of similar questions, numbered as `faq gaps` prints it."""

    number: int
    questions: tuple[Question, ...]
    nearest: str | None
    score: float

    def distinct(self) -> list[str]:
        """The group's texts, one per normalised form, most frequent first."""
        counts = Counter(normalise(q.text) for q in self.questions)
        first: dict[str, str] = {}
        for q in self.questions:
            first.setdefault(normalise(q.text), q.text)
        rank = {key: i for i, key in enumerate(first)}
        return [first[k] for k in sorted(first, key=lambda k: (-counts[k], rank[k]))]

    def as_dict(self) -> dict[str, Any]:
        down = Counter(q.thumbs_down_on for q in self.questions if q.thumbs_down_on)
        return {
            "group": self.number,
            "size": len(self.questions),
            "unanswered": sum(q.thumbs_down_on is None for q in self.questions),
            "thumbs_down": sum(down.values()),
            "examples": self.distinct()[:3],
            "languages": dict(sorted(Counter(q.language for q in self.questions).items())),
            "nearest": {"id": self.nearest, "score": self.score} if self.nearest else None,
            "thumbs_down_on": dict(sorted(down.items())),
        }


def collect_questions(db: Session, since: datetime | None = None) -> list[Question]:
    """Unanswered questions and the questions of 👎 answers, masked, in a stable order."""
    unanswered = select(UnansweredQuestion)
    disliked = select(AnswerFeedback).where(AnswerFeedback.helpful.is_(False))
    if since is not None:
        unanswered = unanswered.where(UnansweredQuestion.at >= since)
        disliked = disliked.where(AnswerFeedback.at >= since)
    found = [_question(u.text, u.language, u.at) for u in db.scalars(unanswered)]
    found += [_question(f.question, f.language, f.at, f.faq_id) for f in db.scalars(disliked)]
    found = [q for q in found if normalise(q.text)]
    return sorted(found, key=lambda q: (q.at, q.text, q.language, q.thumbs_down_on or ""))


def _question(text: str, stored: str, at: datetime, faq_id: str | None = None) -> Question:
    """Masked, on one line, in the language it is written in (the chat's when unclear)."""
    text = _clean(text)
    return Question(text, guess_language(text, stored), at, faq_id)


def _clean(text: str) -> str:
    return " ".join(mask_personal_data(text).split())


def find_gaps(
    db: Session, matcher: Ranker, content: Content, since: datetime | None = None
) -> list[Gap]:
    """Similar questions grouped, biggest first; the same data always gives the same numbers."""
    questions = collect_questions(db, since)[-MAX_GROUPED:]
    corpus = [text for _, text in content.pairs()]
    groups = cluster([q.text for q in questions], corpus)
    # Identical normalised texts always share a group, so this key has no ties.
    groups.sort(key=lambda g: (-len(g), min(normalise(questions[i].text) for i in g)))
    gaps: list[Gap] = []
    for number, members in enumerate(groups, start=1):
        picked = tuple(questions[i] for i in members)
        nearest, score = _nearest(matcher, Gap(number, picked, None, 0.0).distinct()[:20])
        gaps.append(Gap(number, picked, nearest, score))
    return gaps


def cluster(texts: list[str], corpus: list[str], threshold: float = 0.4) -> list[list[int]]:
    """Average-linkage groups of ``texts`` whose TF-IDF cosine (IDF over both lists) is high.

    Weighting words by rarity keeps "je veux annuler ma commande" apart from
    "je veux modifier ma commande", which plain fuzzy ratios would merge.
    """
    if len(texts) < 2:
        return [[i] for i in range(len(texts))]
    features = [_features(t) for t in texts]
    df = Counter(key for f in [*features, *map(_features, corpus)] for key in f)
    vocab = {key: i for i, key in enumerate(df)}
    idf = np.log((1 + len(texts) + len(corpus)) / (1 + np.array(list(df.values())))) + 1
    rows, cols, values = [], [], []
    for row, f in enumerate(features):
        for key, weight in f.items():
            rows.append(row)
            cols.append(vocab[key])
            values.append(weight * idf[vocab[key]])
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(len(texts), len(vocab)))
    matrix = sparse.diags(1 / np.sqrt(matrix.multiply(matrix).sum(axis=1).A1)) @ matrix
    distance = np.clip(1 - (matrix @ matrix.T).toarray(), 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform(distance, checks=False), method="average")
    labels = fcluster(tree, t=1 - threshold, criterion="distance")
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return list(groups.values())


def _features(text: str) -> dict[str, float]:
    """Words, and half-weighted 4-grams of longer words ("resine" meets "resin")."""
    found: dict[str, float] = defaultdict(float)
    for word in normalise(text).split():
        found[word] += 1
        padded = f" {word} " if len(word) > 3 else ""
        for i in range(len(padded) - 3):
            found["#" + padded[i : i + 4]] += 0.5
    return found


def _nearest(matcher: Ranker, texts: list[str]) -> tuple[str | None, float]:
    """The FAQ entry with the best mean score over ``texts``, and that score."""
    totals: dict[str, float] = defaultdict(float)
    for text in texts:
        for match in matcher.rank(text, limit=10):
            kind, _, ident = match.label.partition(":")
            if kind == "faq":
                totals[ident] += match.score
    if not totals:
        return None, 0.0
    ident, total = min(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return ident, round(total / len(texts), 1)


def pick_gap(gaps: list[Gap], number: int) -> Gap:
    if not 1 <= number <= len(gaps):
        raise FaqToolError(f"no group {number}: `faq gaps` lists {len(gaps)} group(s)")
    return gaps[number - 1]


def ticket_answer(db: Session, reference: str) -> tuple[str, str]:
    """The language and masked text of the last agent message of ticket ``reference``."""
    ticket = db.scalar(select(Ticket).where(Ticket.reference == reference.strip().upper()))
    if ticket is None:
        raise FaqToolError(f"no ticket with reference {reference!r}")
    messages = [e.text for e in ticket.events if e.kind == "agent_message" and e.text.strip()]
    if not messages:
        raise FaqToolError(f"ticket {ticket.reference} has no agent message to take")
    text = mask_personal_data(messages[-1].strip())
    name = (ticket.customer.name or "").strip()
    if len(name) >= 2:  # "Bonjour Dan," in a reply is nobody's name in an FAQ answer
        text = re.sub(rf"\b{re.escape(name)}\b", "<nom>", text, flags=re.IGNORECASE)
    lang = ticket.language if ticket.language in LANGUAGES else guess_language(text)
    return lang, text


def _phrasings(content: Content) -> dict[str, str]:
    """Normalised phrasing -> owning label, for every served FAQ question and flow trigger."""
    return {normalise(text): label for label, text in reversed(content.pairs())}


def suggest_id(gap: Gap, content: Content) -> str:
    """A readable, unused id from the group's most frequent question."""
    plain = re.sub(r"<[^>]*>", " ", gap.distinct()[0])
    common = {normalise(w) for words in shipped_lexicon().language_words.values() for w in words}
    words = [
        w
        for w in normalise(plain).split()
        if len(w) > 2 and w not in common and re.fullmatch(r"[a-z0-9]+", w)
    ]
    base = "-".join(words[:5])[:40].strip("-") or f"gap-{gap.number}"
    candidate, n = base, 1
    while candidate in content.faq:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class _DraftDumper(yaml.SafeDumper):
    """The faq/ files' layout: indented lists, block literals for multi-line answers."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, "|" if "\n" in value else None)


_DraftDumper.add_representer(str, _str)


def render_draft(
    gap: Gap, content: Content, entry_id: str, answer: tuple[str, str] | None = None
) -> str:
    """A valid FAQ file (theme ``drafts``, one entry) for ``gap``, as commented YAML text."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", entry_id):
        raise FaqToolError(f"{entry_id!r} is not a valid id (lowercase letters, digits, dashes)")
    if entry_id in content.faq:
        raise FaqToolError(f"{entry_id!r} is already an FAQ id in faq/")
    served = _phrasings(content)
    questions: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    left_out: list[str] = []
    language = {normalise(q.text): q.language for q in gap.questions}
    for text in gap.distinct()[:60]:
        if normalise(text) in served:
            left_out.append(f"{text} ({served[normalise(text)]})")
            continue
        questions[language[normalise(text)]].append(text)
    for lang, hint in (("fr", "question en français pour"), ("en", "English question for")):
        questions[lang] = questions[lang] or [f"TODO: {hint} {entry_id}"]
    answers = {lang: TODO_ANSWER for lang in LANGUAGES}
    if answer is not None:
        lang, text = answer
        answers = {other: f"TODO: translate the {lang} answer" for other in LANGUAGES}
        answers[lang] = text
    entry = {
        "id": entry_id,
        "title": {lang: _title(questions[lang][0]) for lang in LANGUAGES},
        "questions": questions,
        "answer": answers,
    }
    data = {"theme": "drafts", "entries": [entry]}
    body = yaml.dump(data, Dumper=_DraftDumper, allow_unicode=True, sort_keys=False, width=100)
    FaqFile.model_validate(yaml.safe_load(body))  # a draft is always a valid FAQ file
    summary = gap.as_dict()
    header = [
        f"# Draft from `supportbot faq gaps` group {gap.number} ({len(gap.questions)} question(s),"
        f" {summary['unanswered']} unanswered, {summary['thumbs_down']} 👎). Never served.",
        "# Review it, write the answer, then move the entry into a faq/<theme>.yaml file.",
    ]
    if gap.nearest:
        header.append(f"# Nearest existing entry: {gap.nearest} (score {gap.score}).")
    header += [f"# Left out, already a served phrasing: {item}" for item in left_out]
    return "\n".join(header) + "\n" + body


def _title(question: str) -> str:
    return question if question.startswith("TODO") else f"TODO: {question[:70]}"


def write_draft(root: Path, entry_id: str, text: str, force: bool = False) -> Path:
    path = root / DRAFTS / f"{entry_id}.yaml"
    if path.exists() and not force:
        raise FaqToolError(f"{path} already exists; choose another --id or pass --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check_drafts(root: Path, content: Content | None = None) -> list[Problem]:
    """Problems in ``root/faq/drafts/*.yaml``: the FAQ file rules, and clashes with faq/."""
    content = content or load_content(root)
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    phrasings = _phrasings(content)
    for path in sorted((root / DRAFTS).glob("*.yaml")):
        name = f"drafts/{path.name}"
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            parsed = FaqFile.model_validate(raw)
        except (yaml.YAMLError, OSError) as exc:
            problems.append(Problem(name, "", "", f"cannot read: {exc}"))
            continue
        except ValidationError as exc:
            problems.extend(_validation_problems(name, exc, raw, "entries"))
            continue
        for entry in parsed.entries:
            problems.extend(_draft_entry_problems(name, entry, content, ids, phrasings))
    return problems


def _draft_entry_problems(
    name: str, entry: FaqEntry, content: Content, ids: dict[str, str], phrasings: dict[str, str]
) -> Iterable[Problem]:
    if entry.id in content.faq:
        yield Problem(name, entry.id, "id", "is already an FAQ id in faq/")
    if entry.id in ids:
        yield Problem(name, entry.id, "id", f"duplicate id (also in {ids[entry.id]})")
    ids.setdefault(entry.id, name)
    for rel in entry.related:
        if rel not in content.faq:
            yield Problem(name, entry.id, "related", f"{rel!r} is not an FAQ id")
    if entry.flow is not None and entry.flow not in content.flows:
        yield Problem(name, entry.id, "flow", f"{entry.flow!r} is not a flow id")
    for lang in LANGUAGES:
        for text in getattr(entry.questions, lang):
            owner = phrasings.setdefault(normalise(text), f"faq:{entry.id}")
            if owner != f"faq:{entry.id}":
                message = f"{text!r} is also a phrasing of {owner}"
                yield Problem(name, entry.id, f"questions.{lang}", message)


@dataclass(frozen=True)
class VariantAdded:
    path: Path
    entry_id: str
    language: str
    text: str


def add_variant(
    root: Path,
    entry_id: str,
    text: str,
    lang: str | None = None,
    matcher: Ranker | None = None,
    force: bool = False,
) -> VariantAdded:
    """Append a masked phrasing to an entry by editing its YAML text; undone if content breaks.

    With ``matcher`` (the served one), a phrasing that clearly asks for another entry
    today is refused unless ``force``: added here, it would take that question away.
    """
    text = _clean(text)
    if not normalise(text):
        raise FaqToolError("nothing to add: the text has no words")
    content = load_content(root)
    if entry_id not in content.faq:
        close = difflib.get_close_matches(entry_id, list(content.faq), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise FaqToolError(f"unknown FAQ id {entry_id!r}{hint}")
    owner = _phrasings(content).get(normalise(text))
    if owner is not None:
        raise FaqToolError(f"{text!r} is already a phrasing of {owner}")
    best = matcher.rank(text, limit=1) if matcher is not None and not force else []
    taken = bool(best) and best[0].label.startswith(("faq:", "flow:"))
    taken = taken and best[0].score >= TAKEN_SCORE
    if taken and best[0].label != f"faq:{entry_id}":
        raise FaqToolError(
            f"{text!r} is answered by {best[0].label} today (score {best[0].score:.0f}): "
            f"added to {entry_id} it would take that question away; add it there, "
            "rephrase it, or pass --force"
        )
    lang = lang or guess_language(text)
    for path in sorted((root / "faq").glob("*.yaml")):
        original = path.read_bytes()
        source = original.decode("utf-8")
        node = _questions_node(yaml.compose(source), entry_id, lang)
        if node is None:
            continue
        edited = _append_item(source, node, text)
        entry = next(e for e in yaml.safe_load(edited)["entries"] if e.get("id") == entry_id)
        if entry["questions"][lang][-1] != text:  # pragma: no cover - defensive
            raise FaqToolError(f"could not edit {path.name} safely; add {text!r} by hand")
        path.write_bytes(edited.encode("utf-8"))
        try:
            load_content(root)
        except ContentError as err:
            path.write_bytes(original)
            raise FaqToolError(
                f"{path.name} left unchanged, the result was invalid:\n{err}"
            ) from err
        return VariantAdded(path, entry_id, lang, text)
    raise FaqToolError(f"entry {entry_id!r} has no questions.{lang} list in faq/*.yaml")


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v  # type: ignore[no-any-return]
    return None


def _questions_node(root: yaml.Node | None, entry_id: str, lang: str) -> yaml.SequenceNode | None:
    entries = _get(root, "entries")
    for item in entries.value if isinstance(entries, yaml.SequenceNode) else []:
        ident = _get(item, "id")
        if isinstance(ident, yaml.ScalarNode) and ident.value == entry_id:
            found = _get(_get(item, "questions"), lang)
            return found if isinstance(found, yaml.SequenceNode) else None
    return None


def _append_item(source: str, seq: yaml.SequenceNode, text: str) -> str:
    """``source`` with ``text`` added after the last item of ``seq``, in the list's own style."""
    if seq.flow_style or not seq.value:
        end = source.rindex("]", 0, seq.end_mark.index)
        sep = ", " if seq.value else ""
        return source[:end] + sep + json.dumps(text, ensure_ascii=False) + source[end:]
    last = seq.value[-1]
    start = last.start_mark.index
    line_start = source.rfind("\n", 0, start) + 1
    dash = source.rindex("-", line_start, start)
    newline = "\r\n" if source.find("\r\n", start) == source.find("\n", start) - 1 else "\n"
    scalar = yaml.safe_dump([text], allow_unicode=True, width=10**9)[2:].rstrip("\n")
    item = f"{source[line_start:dash]}-{' ' * (start - dash - 1)}{scalar}{newline}"
    end = last.end_mark
    if end.column == 0:  # a block scalar ends at the start of the next line
        return source[: end.index] + item + source[end.index :]
    cut = source.find("\n", end.index)
    if cut == -1:
        return source + newline + item
    return source[: cut + 1] + item + source[cut + 1 :]
