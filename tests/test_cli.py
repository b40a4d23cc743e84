"""The command line as operators and scripts use it (real commands, piped stdin)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from supportbot.filetypes import sniff_mime


def run(
    args: list[str],
    stdin: str = "",
    env: dict[str, str] | None = None,
    check: bool = True,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "supportbot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_match_jsonl(env: dict[str, str]) -> None:
    out = run(["match", "--jsonl"], "ou est ma facture\nrecette de crepes\n", env).stdout
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["query"] == "ou est ma facture" and first["match"] == "faq:invoice"
    assert 0 < first["score"] <= 100 and isinstance(first["alternatives"], list)
    assert second["match"] is None


def test_piped_chat_walks_a_flow_to_a_ticket(env: dict[str, str], tmp_path: Path) -> None:
    photo = tmp_path / "casse.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 500)
    script = (
        "\n".join(
            [
                "ou est ma facture",
                "mon colis est arrivé cassé",
                "123456789",  # "cassé" already said what the problem is
                "hier",
                "passer",
                "La figurine est arrivée cassée en deux.",
                f"/attach {photo}",
                "terminé",
                "passer",  # no contact e-mail
                "1",
            ]
        )
        + "\n"
    )
    out = run(["chat", "--user", "alice"], script, env).stdout
    assert "vous>" not in out  # no prompt decoration when piped
    assert "Mon compte > Commandes" in out
    assert "[1] Confirmer et envoyer" in out
    assert "J'ai noté « Type de problème » : Article abîmé" in out
    ref = next(w.strip(".,") for w in out.split() if w.startswith("SAV-"))
    listed = json.loads(run(["tickets", "list", "--json"], env=env).stdout)
    assert [t["reference"] for t in listed] == [ref]
    shown = json.loads(run(["tickets", "show", ref, "--json"], env=env).stdout)
    assert shown["fields"]["problem_kind"] == "damaged"
    assert shown["attachments"][0]["name"] == "casse.jpg"
    assert Path(shown["attachments"][0]["path"]).read_bytes() == photo.read_bytes()


def test_killed_chat_resumes_at_the_same_question(env: dict[str, str]) -> None:
    run(["chat", "--user", "bob"], "je veux retourner mon article\n123456789\n", env)
    out = run(["chat", "--user", "bob"], "", env).stdout
    assert "Reprenons" in out and "reçu" in out.lower()


def test_english_chat(env: dict[str, str]) -> None:
    out = run(["chat", "--user", "eve", "--lang", "en"], "how do I get my invoice\n", env).stdout
    assert "My account > Orders" in out


def test_faq_check_reports_problems_and_fails(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "flows").mkdir()
    (tmp_path / "faq" / "x.yaml").write_text("theme: x\nentries:\n  - id: a\n    title: {fr: A}\n")
    env["SUPPORTBOT_CONTENT_DIR"] = str(tmp_path)
    result = run(["faq", "check"], env=env, check=False)
    assert result.returncode == 2
    assert "x.yaml: entry 'a', field 'title.en'" in result.stderr


def test_faq_check_ok(env: dict[str, str]) -> None:
    assert run(["faq", "check"], env=env).stdout.startswith("OK: ")


def test_sla_command(env: dict[str, str]) -> None:
    out = run(["sla", "--from", "2026-12-24T10:00", "--hours", "48"], env=env).stdout.strip()
    assert out == "2026-12-29T10:00:00+01:00"


def test_eval_command_json(env: dict[str, str]) -> None:
    out = run(["eval", "evals/public.yaml", "--json"], env=env).stdout
    report = json.loads(out)
    assert report["in_scope"] >= 200 and report["out_of_scope"] >= 50


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["tickets", "list", "--status", "bogus"], "'bogus' is not one of 'received'"),
        (["sla", "--from", "yesterday"], "'yesterday' is not an ISO date"),
        (["sla", "--from", "2026-11-25T10:00", "--hours", "-3"], "greater than or equal"),
        (["stats", "--since", "2026-13-01"], "'2026-13-01' is not an ISO date"),
        (["faq", "gaps", "--since", "hier"], "'hier' is not an ISO date"),
    ],
    ids=["status", "sla-from", "sla-hours", "stats-since", "gaps-since"],
)
def test_a_mistyped_option_is_a_usage_error_not_a_traceback(
    env: dict[str, str], args: list[str], says: str
) -> None:
    result = run(args, env=env, check=False)
    assert result.returncode == 2
    assert says in " ".join(result.stderr.replace("│", " ").split()), result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_ticket(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env=env)  # a store, with no such ticket in it
    result = run(["tickets", "show", "SAV-0000-XXXXX"], env=env, check=False)
    assert result.returncode == 1 and "no ticket" in result.stderr
    result = run(["tickets", "set", "SAV-0000-XXXXX", "bogus"], env=env, check=False)
    assert result.returncode == 1
    assert "one of received, info_requested, solution_proposed, closed" in result.stderr


def test_opening_hours_setting_narrows_the_clock(env: dict[str, str]) -> None:
    env["SUPPORTBOT_OPENING_HOURS"] = "09:00-18:00"
    out = run(["sla", "--from", "2026-11-27T17:00", "--hours", "48"], env=env).stdout.strip()
    assert out == "2026-12-07T11:00:00+01:00"


def test_invalid_setting_is_named(env: dict[str, str]) -> None:
    env["SUPPORTBOT_OPENING_HOURS"] = "9h"
    result = run(["sla", "--from", "2026-11-27T17:00"], env=env, check=False)
    assert result.returncode == 2 and "SUPPORTBOT_OPENING_HOURS" in result.stderr


def test_mydata_in_the_terminal_saves_the_export_and_shows_where(
    env: dict[str, str], tmp_path: Path
) -> None:
    here = tmp_path / "home"
    here.mkdir()
    out = run(
        ["chat", "--user", "alice"], "ou est ma facture\n/mydata\n/mydata\n", env, cwd=here
    ).stdout
    saved = sorted(here.glob("supportbot-data-*.json"))
    assert len(saved) == 2  # the second export does not overwrite the first
    assert f"→ {saved[0]}" in out and "tout ce que je conserve" in out
    assert json.loads(saved[0].read_text())["customer"]["name"] == "alice"


def test_help_in_the_terminal_names_its_own_commands(env: dict[str, str]) -> None:
    out = run(["chat", "--user", "zed"], "/help\n", env).stdout
    assert "/menu" in out and "/attach CHEMIN" in out and "/quit" in out


def test_an_attached_file_is_judged_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)  # a Windows program, renamed
    real = tmp_path / "scan.bin"
    real.write_bytes(b"%PDF-1.7\n" + b"\x00" * 100)
    assert sniff_mime(fake) == "application/octet-stream"
    assert sniff_mime(real) == "application/pdf"


def test_operator_commands_never_create_an_empty_store(env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env.pop("SUPPORTBOT_DATABASE_URL")  # the default: ./var/supportbot.db, from where it runs
    for args in (["tickets", "list"], ["stats"], ["agent", "list"]):
        result = run(args, env=env, check=False, cwd=elsewhere)
        assert result.returncode == 1, args
        assert f"no database at {elsewhere}/var/supportbot.db" in result.stderr, args
    assert not (elsewhere / "var").exists()


def test_asking_or_proposing_through_tickets_set_needs_the_words(env: dict[str, str]) -> None:
    for status, what in (("info_requested", "question"), ("solution_proposed", "proposed")):
        result = run(["tickets", "set", "SAV-2611-ABCDE", status], env=env, check=False)
        assert result.returncode == 1 and f"needs the {what}" in result.stderr


def test_faq_check_fails_when_an_eval_case_copies_a_phrasing(
    env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "faq", tmp_path / "faq")
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copytree(ROOT / "replies", tmp_path / "replies")
    shutil.copytree(ROOT / "matching", tmp_path / "matching")
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "public.yaml").write_text(
        "- {text: 'Où est ma facture ??', expect: [faq:invoice]}\n", encoding="utf-8"
    )
    env["SUPPORTBOT_CONTENT_DIR"] = str(tmp_path)
    result = run(["faq", "check"], env=env, check=False)
    assert result.returncode == 2
    assert "evals/public.yaml: entry 'case #1'" in result.stderr and "faq:invoice" in result.stderr
