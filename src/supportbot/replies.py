"""Reply templates: the agents' usual answers, loaded from ``replies/*.yaml`` and filled per ticket.

Each file holds one template or a list of them (name, title and text in French
and English). Texts may use only the variables in ``VARIABLES``; a broken file
is reported like the FAQ, naming the file, the template and the field.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from supportbot.content import ContentError, Localized, Problem
from supportbot.flows import say_moment

VARIABLES = ("customer_name", "ticket_ref", "order_number", "due", "agent_name")
# Shown in place of a value the ticket does not have (no order number, no due time).
_MISSING = {"fr": "non communiqué", "en": "not provided"}


class ReplyTemplate(BaseModel):
    """One usual answer, in French and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Localized
    text: Localized
    closes: bool = False  # sending it closes the ticket (a closing summary)

    def render(self, lang: str, values: TemplateValues) -> str:
        text = self.text.get(lang).strip()
        if not values.customer_name.strip():  # "Bonjour," rather than "Bonjour ,"
            text = re.sub(r"[ \t]*\{customer_name\}", "", text)
        return text.format_map(values.as_dict(lang))


@dataclass(frozen=True)
class TemplateValues:
    """What a template can say about a ticket; ``due`` already in the business time zone."""

    customer_name: str
    ticket_ref: str
    order_number: str | None
    due: datetime | None
    agent_name: str

    def as_dict(self, lang: str) -> dict[str, str]:
        missing = _MISSING["en" if lang == "en" else "fr"]
        return {
            "customer_name": self.customer_name,
            "ticket_ref": self.ticket_ref,
            "order_number": self.order_number or missing,
            "due": say_moment(self.due, "en" if lang == "en" else "fr") if self.due else missing,
            "agent_name": self.agent_name,
        }


class UnknownTemplate(LookupError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        super().__init__(f"no reply template named {name!r}; known: {', '.join(known) or 'none'}")


@dataclass(frozen=True)
class ReplyBook:
    """The validated templates, by name, in file order."""

    templates: dict[str, ReplyTemplate]

    def get(self, name: str) -> ReplyTemplate:
        template = self.templates.get(name.strip().lower())
        if template is None:
            raise UnknownTemplate(name, self.templates)
        return template

    def render(self, name: str, lang: str, values: TemplateValues) -> str:
        return self.get(name).render(lang, values)


def load_replies(folder: Path) -> ReplyBook:
    """Every template in ``folder/*.yaml`` (none if the folder is absent), or ContentError."""
    problems: list[Problem] = []
    templates: dict[str, ReplyTemplate] = {}
    owners: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        for template in _read_file(path, problems):
            if template.name in templates:
                where = owners[template.name]
                problems.append(
                    Problem(path.name, template.name, "name", f"duplicate name (also in {where})")
                )
                continue
            templates[template.name] = template
            owners[template.name] = path.name
    if problems:
        raise ContentError(problems)
    return ReplyBook(templates)


def _read_file(path: Path, problems: list[Problem]) -> list[ReplyTemplate]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError) as exc:
        problems.append(Problem(path.name, "", "", f"cannot read: {exc}"))
        return []
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(item, dict) for item in items):
        problems.append(Problem(path.name, "", "", "expected a template or a list of templates"))
        return []
    parsed: list[ReplyTemplate] = []
    for index, item in enumerate(items):
        entry = str(item.get("name") or f"#{index + 1}")
        try:
            template = ReplyTemplate.model_validate(item)
        except ValidationError as exc:
            problems.extend(_validation_problems(path.name, entry, exc))
            continue
        found = list(_variable_problems(path.name, template))
        problems.extend(found)
        if not found:
            parsed.append(template)
    return parsed


def _validation_problems(file: str, entry: str, exc: ValidationError) -> Iterable[Problem]:
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"])
        yield Problem(file, entry, field, err["msg"])


def _variable_problems(file: str, template: ReplyTemplate) -> Iterable[Problem]:
    known = ", ".join("{" + v + "}" for v in VARIABLES)
    for lang in ("fr", "en"):
        where = f"text.{lang}"
        try:
            fields = _variables(template.text.get(lang))
        except ValueError as exc:
            yield Problem(file, template.name, where, str(exc))
            continue
        for name in fields:
            if name not in VARIABLES:
                yield Problem(
                    file, template.name, where, f"unknown variable {{{name}}}; known: {known}"
                )


def _variables(text: str) -> list[str]:
    """The variable names used in ``text``; ValueError on a malformed one."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"{exc} (write {{{{ and }}}} for literal braces)") from exc
    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"variable {{{name}}} takes no format or conversion")
        names.append(name)
    return names
