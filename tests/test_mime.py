"""Every message as MIME keeps to the RFCs' limits and decodes to exactly what the outbox holds.

RFC 5322: header and body lines of at most 78 characters. RFC 2045:
quoted-printable and base64 lines of at most 76. RFC 2047: encoded-words of
at most 75. And a strict parser finds no defect in the message, in any part
or in any header.
"""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from conftest import ACCOUNT, EXAMPLES, RESELLER, apply_yaml
from hypothesis import given
from hypothesis import strategies as st
from mailserver import MailServer
from memory_store import forget, open_any_store

from reconciler.commands.apply import run_apply
from reconciler.core.records import Message
from reconciler.engine.planner import make_plan
from reconciler.loading import load_desired_state
from reconciler.notify.delivery import Courier, RetryPolicy, deliver
from reconciler.notify.mime import to_email
from reconciler.notify.smtp import parse_smtp_url

#: Any sender and time of queueing: how a message is written does not depend on them.
SENDER = "reconciler@localhost"
QUEUED_AT = "2025-03-01T09:30:00+00:00"

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")

#: Names long enough to need folding, in scripts that need encoding.
FIRST_NAME = "Ærøskøbing-Østergaard-Ðặng-Nguyễn Þórunn-Åsa-Łucja-Žofie-Ğülşen"
LAST_NAME = "Ærøskøbing-Østergaard-Ðặng-Nguyễn-Σωκράτης-Пётр-Ивановић-Üçüncü-Straße"
#: Products for one user's grants: a subject names three and says how many more.
PRODUCTS = [
    "Ærøskøbing Østergaard Överplanner Professional Édition 2025",
    "Ðặng Nguyễn Kết Cấu Thép Ultimate",
    "Straße & Größe Vermessung <Plus>",
    "Σχεδιαστής Κτιρίων Προηγμένος",
    "Проектировщик Сетей Инженерных",
    "設計ツール・プロフェッショナル版",
]
#: Products for another user: plain ASCII, long, and one word too long for any line.
ASCII_PRODUCTS = [
    "AutoCAD Architecture Professional Edition with Raster Design",
    "Revit Structure Ultimate Collection for Building Design",
    "Inventor-Professional-Ultimate-Edition-with-Nastran-and-Factory-Design-Utilities",
    "Civil 3D",
]


def _account(grants: bool) -> str:
    """ACCOUNT with long non-ASCII names and ten serials; with `grants`, Carol and Bob gain access."""
    serials = [(f"399-1000000{i}", product) for i, product in enumerate(PRODUCTS + ASCII_PRODUCTS)]
    text = ACCOUNT.replace("first_name: Carol", f'first_name: "{FIRST_NAME}"')
    text = text.replace("last_name: Smith", f'last_name: "{LAST_NAME}"')
    text = text.replace("last_name: Moreau", f'last_name: "{LAST_NAME}"')
    text = text.replace("name: Acme HQ", "name: Ærøskøbing Østergaard HQ")
    text = text.replace(
        "    serials:\n",
        "    serials:\n"
        + "".join(
            f'      - number: "{number}"\n        product: "{product}"\n        seats: 2\n'
            f'        group: "Gruppe {product[:40]}"\n        coordinator: bob@acme.example\n'
            for number, product in serials
        ),
    )
    if grants:
        carol = "".join(f'      - serial: "{number}"\n' for number, _ in serials[: len(PRODUCTS)])
        bob = "".join(
            f'      - serial: "{number}"\n        download: true\n' for number, _ in serials[len(PRODUCTS) :]
        )
        text = text.replace('      - serial: "399-12345679"\n', '      - serial: "399-12345679"\n' + carol)
        text = text.replace(
            '      - serial: "399-12345678"\n        download: true\n',
            '      - serial: "399-12345678"\n        download: true\n' + bob,
        )
    return text


@pytest.fixture
def memory_url() -> Iterator[str]:
    url = f"memory://mime-{uuid.uuid4().hex}"
    open_any_store(url).initialize([RESELLER])
    yield url
    forget(url)


def non_ascii_messages(url: str) -> list[Message]:
    apply_yaml(url, _account(grants=False))
    apply_yaml(url, _account(grants=True))
    return [entry.message for entry in open_any_store(url).outbox()]


def example_messages(url: str) -> list[Message]:
    store = open_any_store(url)
    plan = make_plan(load_desired_state([str(EXAMPLES / "acme")]), store.snapshot(), RESELLER)
    run_apply(store, plan, RESELLER)
    return [entry.message for entry in open_any_store(url).outbox()]


def check_mime(message: Message) -> None:
    """`message` as bytes keeps every limit, has no defect, and decodes to what was stored."""
    data = to_email(message, QUEUED_AT).as_bytes()
    assert data.isascii(), "7-bit clean: no server needs 8BITMIME or SMTPUTF8 for it"
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    too_long = [line for line in lines if len(line) > 78]
    assert not too_long, f"RFC 5322 allows 78 characters a line: {too_long[0][:90]!r}…"
    long_words = [word for word in ENCODED_WORD.findall(data) if len(word) > 75]
    assert not long_words, f"RFC 2047 allows encoded-words of 75 characters: {long_words[0]!r}"

    parsed = email.message_from_bytes(data, policy=email.policy.strict)
    assert isinstance(parsed, EmailMessage)
    for part in parsed.walk():
        assert part.defects == [], part.defects
        for name, value in part.items():
            assert not value.defects, (name, value.defects)
        if part.is_multipart():
            continue
        cte = part["Content-Transfer-Encoding"]
        assert cte in ("7bit", "quoted-printable", "base64"), cte
        if cte != "7bit":
            body = part.get_payload(decode=False)
            assert isinstance(body, str)
            over = [line for line in body.splitlines() if len(line) > 76]
            assert not over, f"RFC 2045 allows {cte} lines of 76 characters: {over[0][:90]!r}…"

    assert str(parsed["Subject"]) == message.subject
    assert str(parsed["To"]) == message.to
    assert parsed["Message-ID"] == message.message_id
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().replace("\r\n", "\n") == message.html


def test_the_messages_of_a_non_ascii_account_with_long_names_keep_to_the_rfcs(memory_url: str) -> None:
    messages = non_ascii_messages(memory_url)
    subjects = {m.to: m.subject for m in messages}
    assert subjects["carol@acme.example"].startswith(f"Access granted: {PRODUCTS[0]}, ")
    assert subjects["carol@acme.example"].endswith(" and 3 more")
    assert subjects["bob@acme.example"].startswith(f"Access granted: {ASCII_PRODUCTS[0]}, ")
    assert any(FIRST_NAME in m.text for m in messages)
    for message in messages:
        check_mime(message)


def test_the_messages_of_the_example_account_keep_to_the_rfcs(memory_url: str) -> None:
    messages = example_messages(memory_url)
    assert len(messages) == 13
    for message in messages:
        check_mime(message)


@pytest.mark.parametrize(
    "subject",
    [
        "You are invited to your company's licence account",
        "Access granted: AutoCAD",
        # One line too long for "Subject: " but not for a line of its own: folded after the name,
        # a reader would show it with a leading space.
        "Access granted: AutoCAD, Revit and Inventor-Professional-Ultimate-Edition",
        "Access granted: AutoCAD Architecture Professional Edition, Revit Structure Ultimate,"
        " Inventor Nastran Premium and 4 more",
        "Access granted: " + "Inventor-Professional-Ultimate-Edition-with-Nastran-and-Factory-Design",
        "Accès accordé: Ærø",
        "Access granted: Ærøskøbing-Østergaard Ðặng-Nguyễn Studio Pro, Ärger Ümlaut Wörkstätion,"
        " Straße Planer Größe and 4 more",
        # Python's own folder splits an encoded-word of this one in two, garbling it.
        "Access Your 3 and " + "x" * 40 + " Ærøskøbing-Østergaard-Ðặng-Nguyễn Ðặng Access Access Access",
        "Access granted: " + "設計ツール・プロフェッショナル版" * 6,
        "Access granted: 😀 " * 12,
        "Access granted: =?utf-8?q?not_an_encoded_word?=",
        "Access granted:  two spaces, and one at the end ",
    ],
)
def test_a_subject_of_any_shape_is_folded_within_the_limits_and_read_back_as_it_was(subject: str) -> None:
    check_mime(Message("<a@localhost>", "carol@acme.example", subject, "Hi.\n", "<p>Hi.</p>\n", SENDER))


#: What the schema lets a name or product hold: one line, no control characters.
ONE_LINE = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))


@given(st.text(ONE_LINE, max_size=400), st.text(ONE_LINE, max_size=300))
def test_any_one_line_subject_and_body_keep_to_the_rfcs(subject: str, body: str) -> None:
    check_mime(
        Message("<a@localhost>", "carol@acme.example", subject, body + "\n", f"<p>{body}</p>\n", SENDER)
    )


def test_a_server_receives_the_non_ascii_messages_as_they_were_stored(
    memory_url: str, smtp_server: MailServer
) -> None:
    messages = non_ascii_messages(memory_url)
    deliver(open_any_store(memory_url), Courier(parse_smtp_url(smtp_server.url), RetryPolicy(attempts=1)))
    received = [(r.rcpt_tos, r.subject, r.text, r.html) for r in smtp_server.received]
    assert received == [((m.to,), m.subject, m.text, m.html) for m in messages]


def test_a_message_is_the_same_bytes_however_often_it_is_written() -> None:
    message = Message("<a@acme.example>", "carol@acme.example", "Hello", "Hi.\n", "<p>Hi.</p>\n", SENDER)
    data = to_email(message, QUEUED_AT).as_bytes()
    assert data == to_email(message, QUEUED_AT).as_bytes(), "a resend is the message first sent"
    assert b"\r\nDate: Sat, 01 Mar 2025 09:30:00 +0000\r\n" in data, "dated when it was queued"
    assert data.startswith(b"From: reconciler@localhost\r\n")
