"""The synonym table: words customers use for one idea, in French and English.

``matching/synonyms.yaml`` maps an idea to its words::

    ideas:
      damaged: [cassé, brisé, fendu, broken, cracked, snapped]

Each word is folded and lemmatised as the matcher does (see :mod:`supportbot.lemmas`),
so one form per word is enough ("cassé" also covers "cassée", "casse", "cassés").
Every word of an idea then carries that idea as one more feature: a question with
"snapped" finds the phrasings written with "cassé". Validated at load like faq/:
one word per item, no word in two ideas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supportbot.lemmas import analyse

Idea = str


class SynonymFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ideas: dict[str, list[str]] = Field(min_length=1)


def parse_synonyms(raw: Any) -> tuple[dict[str, Idea], list[tuple[str, str]]]:
    """The folded word -> idea table and the problems found, as (field, message)."""
    try:
        parsed = SynonymFile.model_validate(raw)
    except ValidationError as exc:
        found = [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in exc.errors()]
        return {}, found
    table: dict[str, Idea] = {}
    problems: list[tuple[str, str]] = []
    for idea, words in parsed.ideas.items():
        if not words:
            problems.append((f"ideas.{idea}", "an idea needs at least one word"))
        for word in words:
            tokens = analyse(word)
            if len(tokens) != 1:
                problems.append((f"ideas.{idea}", f"{word!r} is not one word"))
                continue
            for form in dict.fromkeys(tokens[0]):
                owner = table.setdefault(form, idea)
                if owner != idea:
                    problems.append((f"ideas.{idea}", f"{word!r} is also a word of {owner!r}"))
    return table, problems


def load_synonyms(path: Path) -> tuple[dict[str, Idea], list[tuple[str, str]]]:
    """Read and check ``path``; an absent file is an empty table."""
    if not path.exists():
        return {}, []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError) as exc:
        return {}, [("", f"cannot read: {exc}")]
    return parse_synonyms(raw)
