"""An apply's e-mails, composed at once, are the messages composed one at a time.

compose_notifications writes each sentence once in the plan's order and
scrubs and escapes each piece of text once per apply (notify/compose.py):
here, for text of any kind (controls, bidi overrides, markup, nothing at
all), every field of every message is what composing each message on its
own, every piece scrubbed and escaped anew, gives.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.characters import scrub
from reconciler.core.kinds import Event, Kind
from reconciler.core.model import Contract, DesiredState, Serial, User
from reconciler.core.plan import Action, Notification, Plan
from reconciler.core.records import Message, Snapshot
from reconciler.notify.compose import (
    Bodies,
    Facts,
    MailSettings,
    MessageIds,
    compose_notifications,
    message_id,
    render_html,
    render_text,
    sentence,
    subject,
)

RESELLER = "orders@cadpartners.example"
CONTRACT = "110001234567"
SERIALS = ["399-00000001", "399-00000002", "399-00000003"]
PEOPLE = [f"user{n}@acme.example" for n in range(8)]

#: Text of any kind: control characters, bidi overrides, markup, surrogates left out.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
#: Mostly text a name may hold, so that the same sentence comes in many messages; sometimes any text.
NAME = st.sampled_from(["Ann", "O'Neil & <Co>", "Zoë", ""]) | ANY_TEXT


def composed_one_by_one(
    plan: Plan, snapshot: Snapshot, revision: int, settings: MailSettings
) -> list[Message]:
    """The messages as each is composed whole: every sentence written, and every piece of text
    scrubbed and escaped, for each message anew."""
    facts = Facts.of(snapshot, plan.actions)
    news: dict[str, list[tuple[Event, Action]]] = defaultdict(list)
    for action in plan.actions:
        for notification in action.notifications:
            news[notification.to].append((notification.event, action))
    messages = []
    for person in sorted(news):
        events = [event for event, _ in news[person]]
        actions = [action for _, action in news[person]]
        lines = [sentence(event, action, person, facts, settings) for event, action in news[person]]
        greeting = f"Hello {facts.names[person]}," if person in facts.names else "Hello,"
        intro = f"{plan.actor} changed your company's licence account. What concerns you:"
        footer = (
            f"Sent by reconciler for revision {revision} of the account. Questions? Write to {plan.actor}."
        )
        body = "\n".join(f"- {scrub(line)}" for line in lines)
        items = "".join(f"<li>{html.escape(scrub(line))}</li>" for line in lines)
        messages.append(
            Message(
                message_id=message_id(plan.lineage, revision, person, domain=settings.domain),
                to=person,
                subject=scrub(subject(events, actions, facts)),
                text=f"{scrub(greeting)}\n\n{scrub(intro)}\n\n{body}\n\n-- \n{scrub(footer)}\n",
                html=(
                    '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">'
                    f"<p>{html.escape(scrub(greeting))}</p><p>{html.escape(scrub(intro))}</p><ul>{items}</ul>"
                    f'<p style="color: #666">{html.escape(scrub(footer))}</p></body></html>\n'
                ),
                sender=settings.sender,
            )
        )
    return messages


def told(
    kind: Kind,
    target: dict[str, str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *news: tuple[str, Event],
) -> Action:
    return Action(
        kind, target, before, after, notifications=tuple(Notification(to, event) for to, event in news)
    )


@st.composite
def an_apply(draw: st.DrawFn) -> tuple[Plan, Snapshot, MailSettings]:
    """A plan that tells six people of every kind of event, over three serials the store and the plan
    name with text of any kind; and the store it was made from."""
    names = [draw(NAME) for _ in PEOPLE]
    products = [draw(NAME) for _ in SERIALS]
    groups = [draw(st.none() | NAME) for _ in SERIALS]
    known = DesiredState(
        contracts=(
            Contract(
                CONTRACT,
                PEOPLE[0],
                serials=tuple(
                    Serial(number, product, 5, group)
                    for number, product, group in zip(SERIALS[:2], products, groups, strict=False)
                ),
            ),
        ),
        users=(User(PEOPLE[0], names[0], "Smith"), User(PEOPLE[1], None, None)),
    )
    snapshot = Snapshot("lineage", 3, frozenset({RESELLER}), known)
    # Subjects of every shape: many kinds of news (0, 1, 5), one kind (2, 4, 6), an invitation (3, 7).
    invited, granted, rest = [PEOPLE[3], PEOPLE[7]], [PEOPLE[0], PEOPLE[1], PEOPLE[4], PEOPLE[7]], PEOPLE[5]
    grant = draw(st.sampled_from([{"download": True, "via": ["direct"]}, {"download": False}]))
    team = {"download": draw(st.booleans()), "via": ["team:" + draw(NAME), "team:" + draw(NAME)]}
    actions = [
        *(
            told(
                Kind.USER_ADD,
                {"user": person},
                None,
                {"first_name": name, "last_name": "X"},
                (person, Event.USER_INVITED),
            )
            for person, name in zip(invited, [names[3], names[7]], strict=True)
        ),
        told(
            Kind.SERIAL_CREATE,
            {"contract": CONTRACT, "serial": SERIALS[2]},
            None,
            {"product": products[2], "group": groups[2], "seats": 5},
        ),
        told(
            Kind.SERIAL_RENAME_GROUP,
            {"contract": CONTRACT, "serial": SERIALS[0]},
            {"group": groups[0]},
            {"group": draw(NAME)},
            (PEOPLE[0], Event.GROUP_RENAMED),
        ),
        *(
            told(
                Kind.ACCESS_GRANT,
                {"contract": CONTRACT, "serial": serial, "user": person},
                None,
                grant if n % 2 else team,
                (person, Event.ACCESS_GRANTED),
            )
            for n, person in enumerate(granted)
            for serial in SERIALS
        ),
        told(
            Kind.ACCESS_UPDATE,
            {"contract": CONTRACT, "serial": SERIALS[1], "user": rest},
            {"download": False},
            team,
            (rest, Event.ACCESS_CHANGED),
        ),
        *(
            told(
                Kind.ACCESS_REVOKE,
                {"contract": CONTRACT, "serial": SERIALS[0], "user": person},
                grant,
                None,
                (person, Event.ACCESS_REVOKED),
            )
            for person in (rest, PEOPLE[6])
        ),
        told(
            Kind.SERIAL_ASSIGN_COORDINATOR,
            {"contract": CONTRACT, "serial": SERIALS[1]},
            {"coordinator": PEOPLE[1]},
            {"coordinator": PEOPLE[2]},
            (PEOPLE[2], Event.COORDINATOR_ASSIGNED),
            (PEOPLE[1], Event.COORDINATOR_UNASSIGNED),
        ),
        told(
            Kind.COORDINATOR_REMOVE,
            {"contract": CONTRACT, "coordinator": PEOPLE[1]},
            {"manage_users": False},
            None,
            (PEOPLE[1], Event.COORDINATOR_REMOVED),
        ),
        told(
            Kind.CONTRACT_MANAGER_CHANGE,
            {"contract": CONTRACT},
            {"manager": PEOPLE[0]},
            {"manager": PEOPLE[3]},
            (PEOPLE[0], Event.MANAGER_CHANGED),
            (PEOPLE[3], Event.MANAGER_CHANGED),
        ),
        told(
            Kind.SERIAL_PRODUCT_CHANGE,
            {"contract": CONTRACT, "serial": SERIALS[1]},
            {"product": products[1]},
            {"product": draw(NAME)},
        ),
        told(
            Kind.USER_REMOVE,
            {"user": rest},
            {"first_name": names[5], "last_name": "X"},
            None,
            (rest, Event.USER_REMOVED),
        ),
    ]
    plan = Plan(
        "lineage", 3, draw(st.sampled_from([RESELLER, "r&d <lab>@acme.example"])), "digest", tuple(actions)
    )
    settings = MailSettings(
        draw(st.sampled_from(["reconciler@localhost", "Licences <lic@acme.example>"])),
        draw(st.none() | ANY_TEXT),
    )
    return plan, snapshot, settings


@given(an_apply(), st.integers(min_value=0, max_value=10**9))
def test_an_apply_composes_each_message_as_it_would_be_composed_alone(
    drawn: tuple[Plan, Snapshot, MailSettings], revision: int
) -> None:
    plan, snapshot, settings = drawn
    composed = compose_notifications(plan, snapshot, revision, settings)
    assert composed == composed_one_by_one(plan, snapshot, revision, settings)
    assert [m.to for m in composed] == PEOPLE


@given(
    ANY_TEXT,
    ANY_TEXT,
    st.lists(st.sampled_from(["a line", "x < y & z", "\x1b[2J\u202e"]) | ANY_TEXT),
    ANY_TEXT,
)
def test_bodies_kept_for_many_messages_are_each_message_s_own(
    greeting: str, intro: str, lines: list[str], footer: str
) -> None:
    bodies = Bodies(intro, footer)
    body = "\n".join(f"- {scrub(line)}" for line in lines)
    items = "".join(f"<li>{html.escape(scrub(line))}</li>" for line in lines)
    for _ in range(2):  # the second time, every line is one the bodies have seen
        assert bodies.text(greeting, lines) == (
            f"{scrub(greeting)}\n\n{scrub(intro)}\n\n{body}\n\n-- \n{scrub(footer)}\n"
        )
        assert bodies.html(greeting, lines) == (
            '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">'
            f"<p>{html.escape(scrub(greeting))}</p><p>{html.escape(scrub(intro))}</p><ul>{items}</ul>"
            f'<p style="color: #666">{html.escape(scrub(footer))}</p></body></html>\n'
        )
    assert render_text(greeting, intro, lines, footer) == bodies.text(greeting, lines)
    assert render_html(greeting, intro, lines, footer) == bodies.html(greeting, lines)


@given(st.lists(ANY_TEXT | st.integers(), max_size=3), ANY_TEXT, ANY_TEXT)
def test_message_ids_from_hashed_first_parts_are_the_message_ids(
    first: list[object], last: str, domain: str
) -> None:
    # The Message-ID as the outbox has always had it: what a resent message is recognised by.
    joined = "\x1f".join(str(part) for part in [*first, last])
    expected = f"<{hashlib.sha256(joined.encode()).hexdigest()[:32]}@{domain}>"
    assert MessageIds(*first, domain=domain)(last) == message_id(*first, last, domain=domain) == expected
