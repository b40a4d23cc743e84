"""Button payloads: one typed value, the same text on the wire as before."""

from __future__ import annotations

from supportbot import payloads
from supportbot.payloads import Kind, Payload


def test_a_payload_reads_back_as_it_was_made() -> None:
    for made in (
        payloads.flow("order-problem"),
        payloads.rate("SAV-2612-AB12C", 4),
        payloads.solution("no", "SAV-2612-AB12C"),
        payloads.feedback("up", "invoice"),
        payloads.bare(Kind.CANCEL),
    ):
        pressed = Payload.parse(made)
        assert pressed is not None and str(pressed) == made
    # the wire format stays what stored outbox rows and Telegram buttons already carry
    assert payloads.rate("SAV-1", 5) == "rate:SAV-1:5"
    assert Payload.parse("solution:yes:SAV-1") == Payload(Kind.SOLUTION, ("yes", "SAV-1"))


def test_what_no_button_makes_is_no_payload() -> None:
    assert Payload.parse(None) is None and Payload.parse("") is None
    assert Payload.parse("hack:me") is None
    assert Payload.parse("flow:human-agent").is_(Kind.FLOW, "human-agent")  # type: ignore[union-attr]
