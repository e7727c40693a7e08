"""The outbox and its delivery: written with the change, sent once, kept when the server is away."""

from __future__ import annotations

import json
import mailbox
import os
import re
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ACCOUNT, EXAMPLES, RESELLER, WriteYaml, apply_yaml, plan_yaml
from mailserver import MailServer
from terminal import run_on_terminal

from reconciler.cli import cli
from reconciler.commands.apply import run_apply
from reconciler.core.errors import InputError, StalePlan, StoreError
from reconciler.core.kinds import Kind
from reconciler.core.plan import Action
from reconciler.core.records import Message, OutboxEntry
from reconciler.notify.compose import message_id
from reconciler.notify.delivery import Courier, Refused, RetryPolicy, deliver
from reconciler.notify.mime import to_email
from reconciler.notify.smtp import SmtpSettings, parse_smtp_url
from reconciler.store import open_store

INVITED = ["alice@acme.example", "bob@acme.example", "carol@acme.example"]


def run(store_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [*args, "--store", store_url], env=env)


def apply_account(store_url: str, write_yaml: WriteYaml, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        cli,
        ["apply", str(write_yaml(ACCOUNT)), "--actor", RESELLER, "--auto-approve", "--store", store_url],
        env=env,
    )


def smtp_env(server: MailServer, attempts: int = 1) -> dict[str, str]:
    return {"RECONCILER_SMTP_URL": server.url, "RECONCILER_SMTP_ATTEMPTS": str(attempts)}


# --- the outbox is written in the apply's transaction -------------------------------------------


def test_an_apply_without_smtp_queues_one_message_per_person(store_url: str, write_yaml: WriteYaml) -> None:
    result = apply_account(store_url, write_yaml)
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(cli, ["outbox", "--format", "json", "--store", store_url])
    entries = json.loads(listed.output)
    assert [(e["to"], e["status"], e["kind"], e["revision"]) for e in entries] == [
        (person, "queued", "notification", 1) for person in INVITED
    ]
    assert len({e["message_id"] for e in entries}) == 3


def test_the_outbox_reads_well_in_a_terminal(store_url: str, write_yaml: WriteYaml) -> None:
    apply_account(store_url, write_yaml)
    listed = CliRunner().invoke(cli, ["outbox", "--store", store_url])
    assert listed.output.splitlines() == [
        "#1    queued  alice@acme.example  You are invited to your company's licence account",
        "#2    queued  bob@acme.example    You are invited to your company's licence account",
        "#3    queued  carol@acme.example  You are invited to your company's licence account",
        "",
        "Outbox: 3 queued, 0 sent.",
    ]
    full = CliRunner().invoke(cli, ["outbox", "--full", "--store", store_url])
    assert "--- #2 queued\nTo: bob@acme.example\nSubject: You are invited" in full.output
    assert "- You now have access to AutoCAD (serial 399-12345678, group Design Studio), with download " in (
        full.output
    )


def test_a_failed_apply_queues_nothing(store_url: str) -> None:
    plan = plan_yaml(store_url, ACCOUNT)
    broken = Action(
        Kind.ACCESS_GRANT,
        {"contract": "110001234567", "serial": "no-such-serial", "user": "alice@acme.example"},
        None,
        {"download": False, "via": ["direct"]},
    )
    with pytest.raises(StoreError):
        run_apply(
            open_store(store_url),
            plan.__class__(**{**plan.__dict__, "actions": (*plan.actions, broken)}),
            RESELLER,
        )
    assert open_store(store_url).outbox() == []
    assert open_store(store_url).snapshot().revision == 0


def test_a_stale_apply_queues_nothing(store_url: str) -> None:
    old = plan_yaml(store_url, ACCOUNT)
    apply_yaml(store_url, ACCOUNT)
    before = open_store(store_url).outbox()
    with pytest.raises(StalePlan):
        run_apply(open_store(store_url), old, RESELLER)
    assert open_store(store_url).outbox() == before


# --- delivery over SMTP ------------------------------------------------------------------------


def test_apply_sends_at_once_when_smtp_is_set(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    result = apply_account(store_url, write_yaml, smtp_env(smtp_server))
    assert result.exit_code == 0, result.output
    assert f"Queued 3 e-mails to 3 people; sending them through {smtp_server.url}.\n" in result.output
    assert "Sent 3 e-mails; none left in the outbox.\n" in result.output
    assert smtp_server.recipients() == INVITED
    assert all(len(r.rcpt_tos) == 1 for r in smtp_server.received)
    message = smtp_server.to("carol@acme.example")[0]
    assert message.email["Message-ID"] == open_store(store_url).outbox()[2].message.message_id
    assert message.email.get_content_type() == "multipart/alternative"
    assert "<li>You now have access to Revit (serial 399-12345679)" in message.html


def test_the_server_down_during_apply_keeps_mail_queued_and_notify_sends_each_once(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    smtp_server.stop()
    result = apply_account(store_url, write_yaml, smtp_env(smtp_server))
    assert result.exit_code == 0, result.output
    assert open_store(store_url).snapshot().revision == 1, "the apply committed"
    assert "Sent 0 e-mails; 3 still queued: run `reconciler notify` to try again.\n" in result.stderr
    assert f"  {smtp_server.url}: connection refused\n" in result.stderr

    still_down = run(store_url, "notify", env=smtp_env(smtp_server))
    assert still_down.exit_code == 1
    assert [e.attempts for e in open_store(store_url).outbox()] == [2, 0, 0], "only the first was tried"

    smtp_server.start()
    sent = run(store_url, "notify", env=smtp_env(smtp_server))
    assert sent.exit_code == 0, sent.output
    assert sent.output == "Sent 3 e-mails; none left in the outbox.\n"
    assert sorted(to for r in smtp_server.received for to in r.rcpt_tos) == INVITED

    again = run(store_url, "notify", env=smtp_env(smtp_server))
    assert again.exit_code == 0
    assert again.output == "Sent 0 e-mails; none left in the outbox.\n"
    assert len(smtp_server.received) == 3


def test_a_server_that_fails_midway_gets_the_rest_later_exactly_once(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    smtp_server.refuse_after = 1  # accepts one message, then answers 421 as a server going down does
    result = apply_account(store_url, write_yaml, smtp_env(smtp_server, attempts=2))
    assert result.exit_code == 0, result.output
    assert "Sent 1 e-mail; 2 still queued" in result.stderr
    assert "421 Service not available" in result.stderr
    smtp_server.refuse_after = None
    assert run(store_url, "notify", env=smtp_env(smtp_server)).exit_code == 0
    ids = [r.email["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert smtp_server.recipients() == INVITED


def test_a_refused_recipient_stays_queued_with_the_reason(store_url: str, smtp_server: MailServer) -> None:
    smtp_server.refuse_recipient = "bob@acme.example"
    apply_yaml(store_url, ACCOUNT)
    report = deliver(open_store(store_url), Courier(parse_smtp_url(smtp_server.url), RetryPolicy(attempts=1)))
    assert (report.sent, report.still_queued) == (2, 1)
    assert report.reasons == ["bob@acme.example: the server refused it (550 5.1.1 No such user here)"]
    [queued] = open_store(store_url).outbox(queued_only=True)
    assert queued.message.to == "bob@acme.example"
    assert queued.last_error == "the server refused it (550 5.1.1 No such user here)"


def test_two_deliveries_at_once_never_send_a_message_twice(store_url: str, smtp_server: MailServer) -> None:
    many = ACCOUNT + "".join(
        f"  - {{email: user{i}@acme.example, first_name: U{i}, last_name: Test}}\n" for i in range(150)
    )
    apply_yaml(store_url, many)
    settings = parse_smtp_url(smtp_server.url)
    reports = []

    def run_one() -> None:
        reports.append(deliver(open_store(store_url), Courier(settings, RetryPolicy(attempts=1))))

    threads = [threading.Thread(target=run_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r.email["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 153 and len(set(ids)) == 153
    assert sum(r.sent for r in reports) == 153
    assert open_store(store_url).outbox(queued_only=True) == []


def test_retries_wait_longer_each_time() -> None:
    assert list(RetryPolicy(attempts=4, first_wait=0.5, factor=2).waits()) == [0.0, 0.5, 1.0, 2.0]


def test_notify_without_a_server_says_how_to_read_the_queue(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    result = run(store_url, "notify")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: RECONCILER_SMTP_URL is not set, so nothing was sent (3 e-mails queued); set it to "
        "smtp://host:port, or write the queue to a Maildir with `reconciler outbox --maildir DIR`\n"
    )


# --- the Maildir ---------------------------------------------------------------------------------


def test_the_queue_as_a_maildir_opens_in_any_mail_client(store_url: str, tmp_path: Path) -> None:
    apply_yaml(store_url, ACCOUNT)
    folder = tmp_path / "Mail"
    first = run(store_url, "outbox", "--maildir", str(folder))
    assert first.output == f"Wrote 3 new messages to the Maildir {folder} (3 queued in all).\n"
    second = run(store_url, "outbox", "--maildir", str(folder))
    assert second.output.startswith("Wrote 0 new messages")
    box = mailbox.Maildir(folder, create=False)
    assert sorted(str(m["To"]) for m in box) == INVITED
    assert len(open_store(store_url).outbox(queued_only=True)) == 3, "writing a Maildir sends nothing"


# --- what goes into a message ----------------------------------------------------------------------


def test_names_cannot_add_headers_and_html_is_escaped(store_url: str, smtp_server: MailServer) -> None:
    hostile = ACCOUNT.replace(
        "first_name: Carol", 'first_name: "<img src=x onerror=alert(1)> Bcc: eve@evil.example"'
    )
    apply_yaml(store_url, hostile)
    deliver(open_store(store_url), Courier(parse_smtp_url(smtp_server.url), RetryPolicy(attempts=1)))
    [message] = smtp_server.to("carol@acme.example")
    assert message.rcpt_tos == ("carol@acme.example",)
    assert message.email["Bcc"] is None
    assert "<img" not in message.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in message.html
    assert smtp_server.recipients() == INVITED


def test_a_header_with_a_line_break_is_refused_even_if_validation_missed_it() -> None:
    message = Message(
        "<a@b>",
        "carol@acme.example",
        "Hi\r\nBcc: eve@evil.example",
        "text",
        "<p>html</p>",
        "reconciler@localhost",
    )
    with pytest.raises(ValueError):
        to_email(message, "2025-03-01T09:30:00+00:00")


def test_message_ids_are_stable_per_store_revision_and_person(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    ids = {e.message.to: e.message.message_id for e in open_store(store_url).outbox()}
    lineage = open_store(store_url).snapshot().lineage
    assert ids["carol@acme.example"] == message_id(lineage, 1, "carol@acme.example", domain="localhost")


# --- the SMTP URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("mail.example", 25, False, False, None, None)),
        ("smtp://mail.example:587?starttls=true", ("mail.example", 587, False, True, None, None)),
        ("smtps://ann:s%40cret@mail.example", ("mail.example", 465, True, False, "ann", "s@cret")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.tls, s.starttls, s.username, s.password) == expected


def test_the_password_comes_from_the_environment_and_is_never_shown() -> None:
    settings = SmtpSettings.from_env(
        {"RECONCILER_SMTP_URL": "smtp://ann@mail.example:587", "RECONCILER_SMTP_PASSWORD": "hunter2"}
    )
    assert settings is not None and settings.password == "hunter2"
    assert settings.redacted == "smtp://ann:***@mail.example:587"
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example", "must look like smtp://host:port"),
        ("smtp://mail.example:x", "port that is not a number"),
        ("smtp://mail.example?tls=1", "unknown option tls"),
    ],
)
def test_bad_smtp_urls_are_refused_before_anything_changes(
    url: str, message: str, store_url: str, write_yaml: WriteYaml
) -> None:
    with pytest.raises(InputError, match=message):
        parse_smtp_url(url)
    result = apply_account(store_url, write_yaml, {"RECONCILER_SMTP_URL": url})
    assert result.exit_code == 1
    assert message in result.stderr
    assert open_store(store_url).snapshot().revision == 0


# --- requests --------------------------------------------------------------------------------------

NEW_SERIAL_FOR_CAROL = ACCOUNT.replace(
    '      - number: "399-12345679"\n',
    '      - number: "399-00000001"\n        product: Inventor\n        seats: 1\n'
    '      - number: "399-12345679"\n',
).replace(
    '      - serial: "399-12345679"\n', '      - serial: "399-12345679"\n      - serial: "399-00000001"\n'
)


def test_a_request_holds_back_what_waits_on_the_blocked_action(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    apply_yaml(store_url, ACCOUNT)
    edited = NEW_SERIAL_FOR_CAROL.replace("first_name: Alice", "first_name: Alicia")
    result = CliRunner().invoke(
        cli,
        ["apply", str(write_yaml(edited)), "--actor", "alice@acme.example", "--auto-approve", "--request"]
        + ["--store", store_url],
        env=smtp_env(smtp_server),
    )
    assert result.exit_code == 0, result.output
    assert f"Requested serial.create 110001234567 399-00000001 from {RESELLER}.\n" in result.output
    assert (
        "Held back 1 action that waits on a request: access.grant carol@acme.example on 399-00000001\n"
        in (result.output)
    )
    assert "Apply complete: 0 added, 1 changed, 0 removed. The store is at revision 2.\n" in result.output
    state = open_store(store_url).snapshot().state
    assert [u.first_name for u in state.users if u.email == "alice@acme.example"] == ["Alicia"]
    assert "399-00000001" not in {s.number for c in state.contracts for s in c.serials}
    [request] = smtp_server.to(RESELLER)
    assert request.subject == "Request from alice@acme.example: adding serial 399-00000001"
    assert (
        "- Adding serial 399-00000001 (serial.create 399-00000001: product Inventor, seats 1)" in request.text
    )
    [invitation] = smtp_server.to("carol@acme.example")  # queued by the first apply, sent with this one
    assert "Inventor" not in invitation.text, "carol hears of her access once it is granted"


def test_notify_on_a_terminal_shows_progress_and_a_pipe_does_not(
    store_url: str, smtp_server: MailServer
) -> None:
    def users(start: int) -> str:
        return "".join(
            f"  - {{email: user{i}@acme.example, first_name: U{i}, last_name: Test}}\n"
            for i in range(start, start + 60)
        )

    apply_yaml(store_url, ACCOUNT + users(0))
    piped = run(store_url, "notify", env=smtp_env(smtp_server))
    assert piped.output == "Sent 63 e-mails; none left in the outbox.\n"
    assert "Sending e-mail" not in piped.stderr

    apply_yaml(store_url, ACCOUNT + users(0) + users(60))
    env = {**os.environ, **smtp_env(smtp_server), "RECONCILER_STORE": store_url}
    code, output = run_on_terminal(["notify"], env)
    assert code == 0
    assert b"Sending e-mail" in output and b"100%" in output
    assert b"Sent 60 e-mails; none left in the outbox." in output
    assert len(smtp_server.received) == 123


def test_a_renamed_group_reaches_the_serials_coordinator(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    before = {e.id for e in open_store(store_url).outbox()}
    apply_yaml(store_url, ACCOUNT.replace("group: Design Studio", "group: Studio North"))
    [entry] = [e for e in open_store(store_url).outbox() if e.id not in before]
    assert (entry.message.to, entry.message.subject) == (
        "bob@acme.example",
        "The group of serial 399-12345678 was renamed",
    )
    assert (
        "- The group of serial 399-12345678 (AutoCAD) was renamed from Design Studio to Studio North."
        in entry.message.text
    )


def test_a_delivery_that_cannot_start_after_an_apply_is_a_warning_not_a_failure(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def store_busy(*args: object, **kwargs: object) -> list[object]:
        raise StoreError("database is locked")

    monkeypatch.setattr(type(open_store(store_url)), "claim_queued", store_busy)
    result = apply_account(store_url, write_yaml, smtp_env(smtp_server))
    assert result.exit_code == 0, result.output
    assert (
        "Warning: the e-mail stays queued (database is locked); run `reconciler notify` later.\n"
        in result.stderr
    )
    assert len(open_store(store_url).outbox(queued_only=True)) == 3


def test_bad_delivery_settings_are_refused_before_the_apply(store_url: str, write_yaml: WriteYaml) -> None:
    result = apply_account(
        store_url, write_yaml, {"RECONCILER_SMTP_URL": "smtp://127.0.0.1:1", "RECONCILER_SMTP_ATTEMPTS": "0"}
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: RECONCILER_SMTP_ATTEMPTS must be a whole number of at least 1\n",
    )
    assert open_store(store_url).snapshot().revision == 0


def test_a_message_that_cannot_be_an_email_is_refused_and_does_not_block_the_rest(
    store_url: str, smtp_server: MailServer
) -> None:
    apply_yaml(store_url, ACCOUNT)
    first = open_store(store_url).outbox()[0]
    broken = Message("<x@y>", first.message.to, "a\nb", "text", "<p/>", first.message.sender)
    courier = Courier(parse_smtp_url(smtp_server.url), RetryPolicy(attempts=1))
    entry = replace(first, message=broken)
    with pytest.raises(Refused, match="cannot be written as an e-mail"):
        courier.send(entry)
    courier.close()


def test_a_claim_outlives_its_batch_even_if_every_message_times_out(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    store = open_store(store_url)
    limits: list[int] = []
    claim = store.claim_queued

    def recording(limit: int, lease_seconds: float, after_id: int = 0) -> list[object]:
        limits.append(limit)
        return []

    store.claim_queued = recording  # type: ignore[method-assign]
    slow = Courier(parse_smtp_url("smtp://127.0.0.1:1?timeout=30"), RetryPolicy(attempts=3))
    deliver(store, slow)
    # 3 attempts of up to 30 s and waits of 1 + 2 s: 93 s a message; the lease is 600 s.
    assert slow.worst_case_seconds() == 93
    assert limits == [6]
    store.claim_queued = claim  # type: ignore[method-assign]


# --- what a message is, fixed when it is queued --------------------------------------------------


def test_what_shapes_a_message_is_fixed_when_it_is_queued_and_notify_sends_exactly_that(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer, tmp_path: Path
) -> None:
    queued_with = {
        "RECONCILER_MAIL_FROM": "licences@acme.example",
        "RECONCILER_PORTAL_URL": "https://portal.acme.example",
    }
    assert apply_account(store_url, write_yaml, queued_with).exit_code == 0
    # Delivery runs later, elsewhere (another CI job, a changed secret): its settings reshape nothing.
    later = {
        **smtp_env(smtp_server),
        "RECONCILER_MAIL_FROM": "someone@elsewhere.example",
        "RECONCILER_PORTAL_URL": "https://elsewhere.example",
    }
    assert run(store_url, "outbox", "--maildir", str(tmp_path / "Mail"), env=later).exit_code == 0
    sent = run(store_url, "notify", env=later)
    assert sent.exit_code == 0, sent.output
    [entry] = [e for e in open_store(store_url).outbox() if e.message.to == "carol@acme.example"]
    [carol] = smtp_server.to("carol@acme.example")
    assert carol.email["From"] == "licences@acme.example"
    assert carol.mail_from == "licences@acme.example", "the envelope's sender is the message's"
    assert carol.email["Message-ID"] == entry.message.message_id
    assert entry.message.message_id.endswith("@acme.example>"), "the sender's domain ends its Message-ID"
    assert "sign in at https://portal.acme.example with the temporary password" in carol.text
    assert parsedate_to_datetime(carol.email["Date"]) == datetime.fromisoformat(entry.created_at)
    # What the Maildir holds and what the server received are the same message, byte for byte.
    [written] = [
        path.read_bytes()
        for path in (tmp_path / "Mail" / "new").iterdir()
        if entry.message.message_id.encode() in path.read_bytes()
    ]
    assert written == carol.data


def test_a_sender_that_is_no_address_is_refused_before_anything_changes(
    store_url: str, write_yaml: WriteYaml
) -> None:
    result = apply_account(store_url, write_yaml, {"RECONCILER_MAIL_FROM": "licences at acme"})
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: RECONCILER_MAIL_FROM must be an e-mail address, as in licences@acme.example, not "
        "'licences at acme'; each message keeps it as its sender from the moment it is queued\n",
    )
    assert open_store(store_url).snapshot().revision == 0


# --- a reply lost after the message went out ------------------------------------------------------


def apply_example(store_url: str) -> list[OutboxEntry]:
    """The example account applied: 13 messages queued, one per person."""
    result = CliRunner().invoke(
        cli, ["apply", str(EXAMPLES / "acme"), "--actor", RESELLER, "--auto-approve", "--store", store_url]
    )
    assert result.exit_code == 0, result.output
    return open_store(store_url).outbox()


def statuses(store_url: str) -> dict[int, str]:
    listed = run(store_url, "outbox", "--format", "json")
    return {entry["id"]: entry["status"] for entry in json.loads(listed.stdout)}


def test_with_every_third_reply_lost_each_message_arrives_once_and_the_uncertain_are_named(
    store_url: str, smtp_server: MailServer
) -> None:
    queued = apply_example(store_url)
    assert len(queued) == 13
    smtp_server.lose_reply_every = 3
    result = run(store_url, "notify", env=smtp_env(smtp_server, attempts=3))
    ids = [r.email["Message-ID"] for r in smtp_server.received]
    assert sorted(ids) == sorted(e.message.message_id for e in queued), "each message arrived once"
    assert smtp_server.replies_lost == 4
    uncertain = [queued[i] for i in (2, 5, 8, 11)]  # the 3rd, 6th, 9th and 12th the server took
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Sent 9 e-mails; 4 uncertain: the server may have them, so they are not sent again by themselves."
    )
    for entry, line in zip(uncertain, lines[1:5], strict=True):
        assert line.startswith(f"  #{entry.id} {entry.message.to} {entry.message.message_id}: ")
        assert "the connection was lost after the whole message went out, before the server answered" in line
    assert lines[5] == (
        "For each that did not arrive (a server's log names the Message-IDs it took), send it again with "
        "`reconciler notify --resend ID`, or all of them with `reconciler notify --resend-uncertain`."
    )
    assert statuses(store_url) == {e.id: "uncertain" if e in uncertain else "sent" for e in queued}, (
        "outbox shows which are uncertain"
    )

    smtp_server.lose_reply_every = None
    again = run(store_url, "notify", env=smtp_env(smtp_server, attempts=3))
    assert len(smtp_server.received) == 13, "notify never sends an uncertain message by itself"
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "Sent 0 e-mails; none left to send."

    resent = run(store_url, "notify", "--resend-uncertain", env=smtp_env(smtp_server, attempts=3))
    assert resent.exit_code == 0, resent.output
    assert resent.stdout == (
        f"Queued 4 uncertain e-mails again, as asked: {', '.join(f'#{e.id}' for e in uncertain)}.\n"
        "Sent 4 e-mails; none left in the outbox.\n"
    )
    again_ids = [r.email["Message-ID"] for r in smtp_server.received[13:]]
    assert again_ids == [e.message.message_id for e in uncertain], "sent again under the same Message-ID"
    assert set(statuses(store_url).values()) == {"sent"}


def test_with_every_reply_lost_a_message_arrives_once_however_often_notify_runs(
    store_url: str, write_yaml: WriteYaml, smtp_server: MailServer
) -> None:
    one = "version: 1\nusers:\n  - {email: dana@acme.example, first_name: Dana, last_name: Lee}\n"
    result = CliRunner().invoke(
        cli, ["apply", str(write_yaml(one)), "--actor", RESELLER, "--auto-approve", "--store", store_url]
    )
    assert result.exit_code == 0, result.output
    [entry] = open_store(store_url).outbox()
    smtp_server.lose_reply_every = 1
    first = run(store_url, "notify", env=smtp_env(smtp_server, attempts=3))
    second = run(store_url, "notify", env=smtp_env(smtp_server, attempts=3))
    assert len(smtp_server.received) == 1, "one delivery in two runs of three attempts each"
    assert first.exit_code == 1
    assert f"  #{entry.id} dana@acme.example {entry.message.message_id}: " in first.stderr
    assert second.exit_code == 0, "what the first run found is not a failure of the second"
    assert second.stdout == (
        "Sent 0 e-mails; none left to send.\n"
        f"Still uncertain since an earlier run: #{entry.id} dana@acme.example; "
        "`reconciler notify --resend ID` sends one again.\n"
    )
    assert statuses(store_url) == {entry.id: "uncertain"}
    listed = run(store_url, "outbox")
    assert listed.stdout.splitlines()[0].startswith(f"#{entry.id:<4} uncertain  dana@acme.example  ")
    assert listed.stdout.splitlines()[-1] == "Outbox: 0 queued, 1 uncertain, 0 sent."

    smtp_server.lose_reply_every = None
    resent = run(store_url, "notify", "--resend", str(entry.id), env=smtp_env(smtp_server))
    assert resent.exit_code == 0, resent.output
    [first_copy, second_copy] = smtp_server.received
    assert first_copy.data == second_copy.data, "the same message, byte for byte"


def test_only_an_uncertain_message_is_sent_again_on_request(store_url: str, smtp_server: MailServer) -> None:
    apply_yaml(store_url, ACCOUNT)
    assert run(store_url, "notify", env=smtp_env(smtp_server)).exit_code == 0
    before = len(smtp_server.received)
    refused = run(store_url, "notify", "--resend", "2", "--resend", "99", env=smtp_env(smtp_server))
    assert (refused.exit_code, refused.stderr) == (
        1,
        "Error: nothing was sent: #2 and #99 are not uncertain messages (`reconciler outbox` shows each "
        "message's state); --resend sends again only a message whose delivery is unknown\n",
    )
    assert len(smtp_server.received) == before
    nothing = run(store_url, "notify", "--resend-uncertain", env=smtp_env(smtp_server))
    assert (nothing.exit_code, nothing.stdout) == (
        0,
        "No uncertain e-mail to send again.\nSent 0 e-mails; none left in the outbox.\n",
    )


def test_a_connection_lost_before_the_end_of_data_is_retried_as_never_delivered(
    store_url: str, smtp_server: MailServer
) -> None:
    apply_yaml(store_url, ACCOUNT)
    smtp_server.drop_at_rcpt = 2  # the first message's first two attempts end before any DATA
    result = run(store_url, "notify", env=smtp_env(smtp_server, attempts=3))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Sent 3 e-mails; none left in the outbox.\n"
    assert smtp_server.recipients() == INVITED and len(smtp_server.received) == 3


def test_a_reply_that_does_not_come_in_time_is_a_lost_reply(store_url: str, smtp_server: MailServer) -> None:
    apply_yaml(
        store_url, "version: 1\nusers:\n  - {email: dana@acme.example, first_name: Dana, last_name: Lee}\n"
    )
    smtp_server.reply_delay = 0.6
    env = {**smtp_env(smtp_server, attempts=3), "RECONCILER_SMTP_URL": f"{smtp_server.url}?timeout=0.2"}
    result = run(store_url, "notify", env=env)
    assert result.exit_code == 1
    assert "timed out" in result.stderr and "#1 dana@acme.example" in result.stderr
    assert len(smtp_server.received) == 1, "taken once: the client gave up waiting, and did not send again"
    assert statuses(store_url) == {1: "uncertain"}


# --- other notifiers running at the same time -----------------------------------------------------


def test_messages_another_notifier_holds_are_not_still_queued(
    store_url: str, smtp_server: MailServer
) -> None:
    apply_yaml(store_url, ACCOUNT)
    sibling = open_store(store_url).claim_queued(2, 600)  # another notify, in the middle of sending two
    result = run(store_url, "notify", env=smtp_env(smtp_server))
    assert result.exit_code == 0, result.output
    assert re.fullmatch(
        r"Sent 1 e-mail; 2 held by another `reconciler notify` running now, which sends them "
        r"\(if it stopped, they are free again at \d\d:\d\d:\d\d UTC\)\.\n",
        result.stdout,
    ), result.output
    assert smtp_server.recipients() == ["carol@acme.example"]
    assert [e.id for e in open_store(store_url).outbox(queued_only=True)] == [e.id for e in sibling]


def test_held_messages_are_counted_apart_from_failed_ones(store_url: str, smtp_server: MailServer) -> None:
    apply_yaml(store_url, ACCOUNT)
    open_store(store_url).claim_queued(1, 600)  # alice's, held elsewhere
    smtp_server.refuse_recipient = "bob@acme.example"
    result = run(store_url, "notify", env=smtp_env(smtp_server))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        "Sent 1 e-mail; 1 still queued: run `reconciler notify` to try again; 1 held by another "
        "`reconciler notify` running now, which sends them (if it stopped, they are free again at "
        + result.stderr.split("free again at ")[1].split(")")[0]
        + ").",
        "  bob@acme.example: the server refused it (550 5.1.1 No such user here)",
    ]


def test_four_notifies_at_once_send_each_message_once_and_none_fails(
    store_url: str, smtp_server: MailServer
) -> None:
    many = ACCOUNT + "".join(
        f"  - {{email: user{i}@acme.example, first_name: U{i}, last_name: Test}}\n" for i in range(60)
    )
    apply_yaml(store_url, many)
    smtp_server.reply_delay = 0.05  # a batch takes a while: the notifiers overlap
    env = {**os.environ, **smtp_env(smtp_server), "RECONCILER_STORE": store_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "reconciler", "notify"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    ids = [r.email["Message-ID"] for r in smtp_server.received]
    assert len(ids) == 63 and len(set(ids)) == 63
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert sum(int(re.match(r"Sent (\d+) e-mail", out)[1]) for _, out, _ in outcomes) == 63  # type: ignore[index]
    assert not any("still queued" in out + err for _, out, err in outcomes), outcomes
