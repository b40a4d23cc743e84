"""Answers as customers type them: dates, order numbers, e-mails, tracking, yes/no."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from supportbot.content import Content
from supportbot.fields import (
    DateParser,
    FieldError,
    choice_named_in,
    parse_choice,
    parse_email,
    parse_order_number,
    parse_tracking,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 15, 30, tzinfo=PARIS)  # a Tuesday
PARSER = DateParser()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hier", "2026-11-23"),
        ("Hier", "2026-11-23"),
        ("avant-hier", "2026-11-22"),
        ("avant hier", "2026-11-22"),
        ("il y a 3 jours", "2026-11-21"),
        ("lundi dernier", "2026-11-23"),
        ("samedi dernier", "2026-11-21"),
        ("mardi dernier", "2026-11-17"),
        ("lundi", "2026-11-23"),
        ("12/11", "2026-11-12"),
        ("12/11/2026", "2026-11-12"),
        ("12/11/26", "2026-11-12"),
        ("12.11", "2026-11-12"),
        ("12 nov", "2026-11-12"),
        ("12 novembre", "2026-11-12"),
        ("le 12 novembre 2026", "2026-11-12"),
        ("1er mars", "2026-03-01"),
        ("2026-11-12", "2026-11-12"),
        ("aujourd'hui", "2026-11-24"),
        ("yesterday", "2026-11-23"),
        ("last monday", "2026-11-23"),
        ("Nov 12", "2026-11-12"),
        # as people say them (NOW is Tuesday 24/11/2026)
        ("le 12", "2026-11-12"),
        ("Le 1er", "2026-11-01"),
        ("le 30", "2026-10-30"),  # the 30th still to come this month: last month's
        ("y a 3 jours", "2026-11-21"),
        ("ya 2 semaines", "2026-11-10"),
        ("ça fait 3 jours", "2026-11-21"),
        ("la semaine passée", "2026-11-17"),
        ("mardi 17", "2026-11-17"),
        ("le 12 novembre dernier", "2026-11-12"),
    ],
)
def test_dates_people_type(typed: str, expected: str) -> None:
    assert PARSER.parse(typed, NOW).date().isoformat() == expected


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("demain", "bad_date_future"),
        ("25/11/2026", "bad_date_future"),
        ("12/12", "bad_date_future"),  # next month, not eleven months ago: a slip, refused
        ("le 15 janvier 2027", "bad_date_future"),  # the year typed is kept
        ("01/01/2020", "bad_date_old"),
        ("3", "bad_date"),
        ("42", "bad_date"),
        ("bientôt", "bad_date"),
        ("", "bad_date"),
    ],
)
def test_dates_refused(typed: str, key: str) -> None:
    with pytest.raises(FieldError) as info:
        PARSER.parse(typed, NOW)
    assert info.value.key == key


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hier soir", "2026-11-23T20:00"),
        ("hier à 18h", "2026-11-23T18:00"),
        ("ce matin", "2026-11-24T09:00"),
        ("12/11 14:30", "2026-11-12T14:30"),
        ("10h", "2026-11-24T10:00"),  # ten o'clock, not ten hours ago
        ("aujourd'hui 10h", "2026-11-24T10:00"),
        ("hier à 14h30", "2026-11-23T14:30"),
        ("lundi vers 9 h 15", "2026-11-23T09:15"),
        ("22h", "2026-11-23T22:00"),  # not yet 22:00 today: last night
        ("il y a 3h", "2026-11-24T12:30"),  # a duration, not three o'clock
    ],
)
def test_date_and_time(typed: str, expected: str) -> None:
    assert PARSER.parse(typed, NOW, with_time=True).isoformat(timespec="minutes")[:16] == expected


def test_later_today_is_in_the_future() -> None:
    with pytest.raises(FieldError):
        PARSER.parse("ce soir", NOW, with_time=True)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("123456789", "123456789"),
        ("#123456789", "123456789"),
        ("n° 123 456 789", "123456789"),
        ("N°123456", "123456"),
        ("commande 1234567", "1234567"),
        ("CMD-12345678", "12345678"),
        ("cmd: 123456789012", "123456789012"),
        ("ma commande 123456789", "123456789"),
        ("c'est la 123456789 du 12/11", "123456789"),
        ("CMD123456789", "123456789"),
        ("la commande 123 456 789 svp", "123456789"),
        ("ma commande 123456789, suivi 6A12345678901", "123456789"),  # not the tracking
    ],
)
def test_order_numbers(typed: str, expected: str) -> None:
    assert parse_order_number(typed, r"\d{6,12}") == expected


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "1234567890123",
        "abc",
        "",
        "123456 et 654321",
        "0000000",
        "la 123456789 ou 987654321",
        "6A12345678901",  # a tracking number pasted at the wrong question
        "XX123456789FR",
    ],
)
def test_bad_order_numbers(typed: str) -> None:
    with pytest.raises(FieldError):
        parse_order_number(typed, r"\d{6,12}")


def test_order_number_pattern_is_configurable() -> None:
    assert parse_order_number("cmd FR-2026-0042", r"FR\d{8}") == "FR20260042"


def test_emails() -> None:
    assert parse_email(" Alice.Martin@Example.fr ") == "alice.martin@example.fr"
    assert parse_email("mon mail c BOB@Example.com.") == "bob@example.com"  # in a sentence
    bad_ones = ("alice", "alice@", "@example.fr", "a@b", "a..b@example.fr", "a@b.fr ou c@d.fr")
    for bad in bad_ones:
        with pytest.raises(FieldError):
            parse_email(bad)


def test_a_day_and_month_still_to_come_is_refused_not_moved_to_last_year() -> None:
    with pytest.raises(FieldError, match="bad_date_future"):
        PARSER.parse("26/11", NOW)  # NOW is Tuesday 24/11
    assert PARSER.parse("12/11", NOW).date().isoformat() == "2026-11-12"


def test_tracking() -> None:
    assert parse_tracking("6a 1234 5678 901") == "6A12345678901"
    for bad in ("AB", "ABCDEFGHIJ", "!!!!!!!!!!"):
        with pytest.raises(FieldError):
            parse_tracking(bad)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2", "defect"),
        ("defectuex", "defect"),  # a typo
        ("elle est arrivée cassée", "defect"),  # a word of the sentence
        ("c'est la mauvaise taille", "not_as_described"),  # a name within the sentence
        ("j'ai changé d'avis", "changed_mind"),
        ("il y a 3 semaines", None),  # an answer to another question: asked again
        ("la taille", None),  # a part of a name is not the name
        ("cassé ou pas conforme je sais pas", None),  # two choices at once
    ],
)
def test_choices_are_read_generously_but_never_guessed(
    content: Content, typed: str, expected: str | None
) -> None:
    choices = content.flows["return-refund"].step("reason").choices
    if expected is None:
        with pytest.raises(FieldError):
            parse_choice(typed, choices)
    else:
        assert parse_choice(typed, choices) == expected


def test_a_day_and_month_just_past_the_new_year_are_last_year_s() -> None:
    january = datetime(2027, 1, 5, 10, 0, tzinfo=PARIS)
    assert PARSER.parse("28/12", january).date().isoformat() == "2026-12-28"
    assert PARSER.parse("le 28 décembre", january).date().isoformat() == "2026-12-28"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("this morning around 6", "2026-11-24T06:00"),
        ("yesterday around 8pm", "2026-11-23T20:00"),
        ("today at 6am", "2026-11-24T06:00"),
        ("ce matin vers 6", "2026-11-24T06:00"),
    ],
)
def test_clock_times_said_in_english_and_french(typed: str, expected: str) -> None:
    moment = PARSER.parse(typed, NOW, with_time=True)
    assert moment.isoformat(timespec="minutes").startswith(expected)


def test_dates_found_in_sentences_as_people_write_them() -> None:
    found = PARSER.find("I ordered it on Nov 3rd, order 731904582", NOW)
    assert [(f.moment.date().isoformat(), f.before) for f in found] == [
        ("2026-11-03", ("i", "ordered", "it"))  # the clause before it: "ordered" tells
    ]
    assert PARSER.parse("on the 1st", NOW).date().isoformat() == "2026-11-01"
    lasting = PARSER.find("stuck in transit for two weeks", NOW, lasting=frozenset({"for"}))
    assert lasting == []  # how long, not when


def test_a_day_that_does_not_exist_is_said_to_be_so() -> None:
    with pytest.raises(FieldError) as info:
        PARSER.parse("le 31/11", NOW)
    assert (info.value.key, info.value.values) == ("bad_date_no_such_day", {"date": "31/11"})


def _worded() -> DateParser:
    from supportbot.lexicon import shipped_lexicon

    words = shipped_lexicon()
    return DateParser(month_parts=words.month_parts, number_words=words.number_words)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("il y a quinze jours", "2026-11-09"),
        ("about fifteen days ago", "2026-11-09"),
        ("début octobre", "2026-10-01"),
        ("early October", "2026-10-01"),
        ("mi-octobre", "2026-10-15"),
        ("mid october", "2026-10-15"),
        ("fin octobre", "2026-10-31"),
        ("end of last month", "2026-10-31"),
        ("au début du mois dernier", "2026-10-01"),
        ("beginning of this month", "2026-11-01"),
    ],
)
def test_parts_of_a_month_and_numbers_in_words_are_dates(typed: str, expected: str) -> None:
    assert _worded().parse(typed, NOW).date().isoformat() == expected


def test_a_part_of_a_month_still_to_come_is_refused_with_the_date() -> None:
    with pytest.raises(FieldError) as info:
        _worded().parse("fin novembre", NOW)  # said on the 24th
    assert info.value.key == "bad_date_future" and info.value.values["date"] == "30/11/2026"


def test_a_part_of_a_month_is_found_inside_a_sentence() -> None:
    [found] = _worded().find("je l'ai commandée début octobre et rien depuis", NOW)
    assert found.moment.date().isoformat() == "2026-10-01"
    assert _worded().find("it was late in the afternoon", NOW) == []
    # a day said with the part of its month is that day
    [day] = _worded().find("reçu début octobre, le 2 je crois", NOW)
    assert day.moment.date().isoformat() == "2026-10-02"


def test_an_elided_word_typed_without_its_apostrophe_still_names_the_choice(
    content: Content,
) -> None:
    [reason] = [s for s in content.flows["return-refund"].steps if s.choices]
    assert parse_choice("jai changé davis, jai mal mesuré", reason.choices) == "changed_mind"
    assert parse_choice("changé d avis", reason.choices) == "changed_mind"


def test_an_english_apostrophe_is_not_an_elision(content: Content) -> None:
    """ "it's defective" is "it is defective": the word after the apostrophe is a word of
    its own, not glued to the "s" as a French elision typed without apostrophe is."""
    [reason] = [s for s in content.flows["return-refund"].steps if s.choices]
    assert parse_choice("it's defective", reason.choices) == "defect"
    assert parse_choice("that's broken", reason.choices) == "defect"
    assert choice_named_in("it's defective, one foot is shorter", reason.choices) == "defect"
    assert parse_choice("jai changé davis", reason.choices) == "changed_mind"


def test_a_date_is_not_read_past_its_last_date_word() -> None:
    """dateparser reads "le 3 un set" as the 3rd of January: a span ending with a word
    that opens dates ("un", "last") or carries none is no date; "le 3" is."""
    now = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    [day] = PARSER.find("Reçu le 3 un set de dés tout ternes", now)
    assert day.moment.date().isoformat() == "2026-12-03"
    [month] = PARSER.find("reçu il y a un mois", now)
    assert month.moment.date().isoformat() == "2026-11-07"


def test_a_word_of_one_choice_label_names_it(content: Content) -> None:
    """ "pas comme sur l'annonce": the word "annonce" is on one button only (Non conforme à
    l'annonce); everyday words ("colis", "rien") and words of several labels name none."""
    [reason] = [s for s in content.flows["return-refund"].steps if s.choices]
    assert parse_choice("pas comme sur l'annonce", reason.choices) == "not_as_described"
    for vague in ("le colis est arrivé vide", "rien à voir avec la photo"):
        with pytest.raises(FieldError):
            parse_choice(vague, reason.choices)
