"""Button payloads: one typed value, the same text on the wire as before."""

from __future__ import annotations

from supportbot.payloads import Kind, Payload, make


def test_a_payload_reads_back_as_it_was_made() -> None:
    for made in (
        make(Kind.FLOW, "order-problem"),
        make(Kind.RATE, "SAV-2612-AB12C", 4),
        make(Kind.SOLUTION, "no", "SAV-2612-AB12C"),
        make(Kind.FEEDBACK, "up", "invoice"),
        make(Kind.CANCEL),
    ):
        pressed = Payload.parse(made)
        assert pressed is not None and str(pressed) == made
    # the wire format stays what stored outbox rows and Telegram buttons already carry
    assert make(Kind.RATE, "SAV-1", 5) == "rate:SAV-1:5"
    assert Payload.parse("solution:yes:SAV-1") == Payload(Kind.SOLUTION, ("yes", "SAV-1"))


def test_what_no_button_makes_is_no_payload() -> None:
    assert Payload.parse(None) is None and Payload.parse("") is None
    assert Payload.parse("hack:me") is None
    assert Payload.parse("flow:human-agent").is_(Kind.FLOW, "human-agent")  # type: ignore[union-attr]
