"""`usage --expiring DAYS`: what ends within those days, and what is past its day but still held, by
date, in every format usage has; and `drift`'s section of what the store holds past its day."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from conftest import RESELLER, WriteYaml, apply_yaml
from test_markdown_github import github, no_link_tag_or_mention, shown_text

from reconciler.cli import cli
from reconciler.core.kinds import Record
from reconciler.core.model import Access, Contract, DesiredState, Serial, Team, User, build_state
from reconciler.core.records import ACTIVE, Snapshot
from reconciler.engine.drift import find_drift
from reconciler.engine.usage import seat_usage
from reconciler.report.expiring import EXPIRING_HEADER, expiring_csv
from reconciler.report.html import drift_html, usage_html
from reconciler.report.json import drift_json, usage_json
from reconciler.report.markdown import render_drift, render_usage
from reconciler.report.text import render_drift as drift_text
from reconciler.report.text import render_usage as usage_text

CM = "alice@acme.example"
SC = "bob@acme.example"
AUTOCAD, REVIT = "399-12345678", "399-12345679"
#: The report's day.
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def snapshot(users: tuple[User, ...], teams: tuple[Team, ...] = ()) -> Snapshot:
    contract = Contract(
        "110001234567",
        CM,
        serials=(Serial(AUTOCAD, "AutoCAD", 5, "Design", coordinator=SC), Serial(REVIT, "Revit", 5)),
    )
    people = (User(CM, "Alice", "Moreau"), User(SC, "Bob", "Okafor"), *users)
    state = DesiredState(contracts=(contract,), users=people, teams=teams)
    status = {u.email: ACTIVE for u in people}
    added = {u.email: "2026-01-01T00:00:00+00:00" for u in people}
    return Snapshot("lineage", 4, frozenset({RESELLER}), state, status, added)


def dated() -> Snapshot:
    """Five dated entries: one past, one today, two within 30 days (the same day), one after 30."""
    team = Team(
        "Review",
        members=("dana@acme.example", "erik@acme.example"),
        access=(Access(REVIT),),
        member_expires=(("dana@acme.example", "2027-03-20"), ("erik@acme.example", "2027-02-27")),
    )
    return snapshot(
        (
            User("carol@acme.example", "Carol", "Smith", (Access(AUTOCAD, expires="2027-03-20"),)),
            User("dana@acme.example", "Dana", "Lee", (Access(AUTOCAD),), expires="2027-03-01"),
            User("erik@acme.example", "Erik", "Nilsen", ()),
            User("finn@acme.example", "Finn", "Berg", (Access(REVIT, expires="2027-05-01"),)),
        ),
        (team,),
    )


def test_expiring_lists_what_ends_within_the_days_and_what_is_past_by_date_then_entry() -> None:
    usage = seat_usage(dated(), NOW, expiring_days=30)
    assert usage.expiring_days == 30
    assert [(e.expires, e.days_left, e.record, e.user) for e in usage.expiring] == [
        ("2027-02-27", -2, Record.TEAM_MEMBER, "erik@acme.example"),
        ("2027-03-01", 0, Record.USER, "dana@acme.example"),
        ("2027-03-20", 19, Record.TEAM_MEMBER, "dana@acme.example"),
        ("2027-03-20", 19, Record.ACCESS, "carol@acme.example"),
    ]
    dana = usage.expiring[1]
    assert [s.number for s in dana.serials] == [AUTOCAD, REVIT]  # all she holds, her own and the team's
    assert dana.coordinators == (CM, SC)
    assert seat_usage(dated(), NOW).expiring == ()
    assert len(seat_usage(dated(), NOW, expiring_days=0).expiring) == 2  # today's and the past one
    assert len(seat_usage(dated(), NOW, expiring_days=61).expiring) == 5


def test_text_and_markdown() -> None:
    usage = seat_usage(dated(), NOW, expiring_days=30)
    lines = list(usage_text(usage))
    start = lines.index("Expiring within 30 days, or past their day (4):")
    assert lines[start + 1 : start + 5] == [
        "  2027-02-27 (2 days ago): member erik@acme.example of team Review (Revit 399-12345679); "
        "coordinator alice@acme.example",
        "  2027-03-01 (today): user dana@acme.example (AutoCAD 399-12345678, Revit 399-12345679); "
        "coordinators alice@acme.example, bob@acme.example",
        "  2027-03-20 (in 19 days): member dana@acme.example of team Review (Revit 399-12345679); "
        "coordinator alice@acme.example",
        "  2027-03-20 (in 19 days): access carol@acme.example on 399-12345678 (AutoCAD 399-12345678); "
        "coordinator bob@acme.example",
    ]
    assert lines[-1].endswith(", 4 expiring within 30 days.")
    assert "Nothing expires within 1 day." in list(usage_text(seat_usage(snapshot(()), NOW, expiring_days=1)))
    assert not any("xpir" in line for line in usage_text(seat_usage(dated(), NOW)))
    rendered = github(render_usage(usage))
    no_link_tag_or_mention(rendered)
    text = shown_text(rendered)
    assert "reconciler usage: 0 full, 2 with unused seats, 0 renewals due, 4 expiring within 30 days" in text
    assert "Expiring within 30 days, or past their day" in text
    assert "2027-02-27\n2 days ago\nmember erik@acme.example of team Review\nRevit 399-12345679\n" in text


def test_json_csv_and_html() -> None:
    usage = seat_usage(dated(), NOW, expiring_days=30)
    data = json.loads(usage_json(usage))
    assert data["expiring_days"] == 30
    assert data["expiring"][3] == {
        "record": "access",
        "target": {"user": "carol@acme.example", "serial": AUTOCAD, "contract": "110001234567"},
        "expires": "2027-03-20",
        "days_left": 19,
        "serials": [
            {
                "number": AUTOCAD,
                "product": "AutoCAD",
                "contract": "110001234567",
                "group": "Design",
                "coordinator": SC,
            }
        ],
        "kept": [],
        "coordinators": [SC],
    }
    assert json.loads(usage_json(seat_usage(dated(), NOW)))["expiring"] == []
    rows = list(csv.reader(io.StringIO(expiring_csv(usage))))
    assert tuple(rows[0]) == EXPIRING_HEADER
    assert [row[:6] for row in rows[1:]] == [
        ["2027-02-27", "-2", "team_member", "erik@acme.example", "Review", REVIT],
        ["2027-03-01", "0", "user", "dana@acme.example", "", AUTOCAD],
        ["2027-03-01", "0", "user", "dana@acme.example", "", REVIT],
        ["2027-03-20", "19", "team_member", "dana@acme.example", "Review", REVIT],
        ["2027-03-20", "19", "access", "carol@acme.example", "", AUTOCAD],
    ]
    assert expiring_csv(usage, bom=True).startswith("\ufeffexpires,")
    page = usage_html(usage)
    assert "<h2>Expiring within 30 days, or past their day</h2>" in page
    assert '<td data-label="entry">member <bdi>erik@acme.example</bdi> of team <bdi>Review</bdi></td>' in page
    assert page.count('<span class="tag due">past</span>') == 1
    assert "Expiring within" not in usage_html(seat_usage(dated(), NOW))


def test_a_hostile_team_name_is_text_in_every_format() -> None:
    team = Team(
        "=cmd|' /C calc'!A0 <img src=x> @boss",
        members=("dana@acme.example",),
        access=(Access(REVIT),),
        member_expires=(("dana@acme.example", "2027-03-02"),),
    )
    usage = seat_usage(snapshot((User("dana@acme.example", "Dana", "Lee"),), (team,)), NOW, expiring_days=5)
    assert "<img" not in usage_html(usage)
    rendered = github(render_usage(usage))
    no_link_tag_or_mention(rendered)
    assert "<img" not in rendered
    row = list(csv.reader(io.StringIO(expiring_csv(usage))))[1]
    assert row[4] == "'=cmd|' /C calc'!A0 <img src=x> @boss"


# --- drift: what the store holds past its day ------------------------------------------------------


def test_drift_lists_what_is_past_its_day_and_counts_it_as_drift() -> None:
    found = dated()
    drift = find_drift(found.state, found, NOW)  # git says the same: only the dates are past
    assert not (drift.only_in_store or drift.only_in_git or drift.differ)
    assert [(e.record, e.user, e.expires) for e in drift.expired] == [
        (Record.TEAM_MEMBER, "erik@acme.example", "2027-02-27")
    ]
    assert drift.found and drift.summary()["expired"] == 1
    on_the_day = find_drift(found.state, found, datetime(2027, 2, 27, 23, 59, tzinfo=UTC))
    assert not on_the_day.found  # the last day is still the entry's
    lines = list(drift_text(drift))
    assert lines[2:4] == [
        "Past their last day, still in the store:",
        "  2027-02-27 (2 days ago): member erik@acme.example of team Review (Revit 399-12345679); "
        "coordinator alice@acme.example",
    ]
    assert lines[-1] == "Drift: 0 only in the store, 0 only in git, 0 different, 1 past its last day."
    text = shown_text(github(render_drift(drift)))
    assert "reconciler drift: the store holds what git says has ended" in text
    assert "Past their last day, still in the store" in text
    data = json.loads(drift_json(drift))
    assert data["drift"] is True and data["summary"]["expired"] == 1
    assert data["expired"][0]["target"] == {"team": "Review", "user": "erik@acme.example"}
    page = drift_html(drift)
    assert "<h2>Past their last day, still in the store</h2>" in page
    assert "No drift." not in page


def test_drift_lists_a_user_past_their_day_once_not_each_grant_and_membership_again() -> None:
    team = Team("Review", members=("dana@acme.example",), access=(Access(REVIT),))
    dana = User("dana@acme.example", "Dana", "Lee", (Access(AUTOCAD),), expires="2027-02-28")
    found = snapshot((dana,), (team,))
    drift = find_drift(found.state, found, NOW)
    assert [(e.record, e.user, e.days_left) for e in drift.expired] == [
        (Record.USER, "dana@acme.example", -1)
    ]
    assert (drift.only_in_store, drift.only_in_git, drift.differ) == ((), (), ())


def test_drift_after_the_apply_that_removed_what_ended_is_none() -> None:
    git = dated()
    # The store after a plan made today: erik's membership, which ended two days ago, is gone.
    kept = Team(
        "Review",
        members=("dana@acme.example",),
        access=(Access(REVIT),),
        member_expires=(("dana@acme.example", "2027-03-20"),),
    )
    drift = find_drift(git.state, snapshot(git.state.users[2:], (kept,)), NOW)
    assert not drift.found, drift


def test_a_grant_git_ended_that_the_store_holds_without_a_date_is_only_in_the_store() -> None:
    git = snapshot((User("carol@acme.example", "Carol", "Smith", (Access(AUTOCAD, expires="2027-02-01"),)),))
    store = snapshot((User("carol@acme.example", "Carol", "Smith", (Access(AUTOCAD),)),))
    drift = find_drift(git.state, store, NOW)
    assert drift.expired == ()
    assert [(d.record, dict(d.target)) for d in drift.only_in_store] == [
        (Record.ACCESS, {"contract": "110001234567", "serial": AUTOCAD, "user": "carol@acme.example"})
    ]


# --- the command line, on each store ---------------------------------------------------------------

ACCOUNT = f"""\
version: 1
contracts:
  - number: "110001234567"
    manager: {CM}
    serials:
      - number: "{AUTOCAD}"
        product: AutoCAD
        seats: 5
users:
  - email: {CM}
    first_name: Alice
    last_name: Moreau
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "{AUTOCAD}"
        expires: "2027-03-10"
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout_bytes.decode("utf-8")


@pytest.mark.parametrize("output_format", ["text", "markdown", "json", "csv", "html"])
def test_usage_expiring_in_each_format(store_url: str, output_format: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    args = [
        "usage",
        "--expiring",
        "14",
        "--today",
        "2027-03-01",
        "--format",
        output_format,
        "--store",
        store_url,
    ]
    code, out = run(*args)
    assert code == 0, out
    if output_format == "json":
        data = json.loads(out)
        assert data["today"] == "2027-03-01"
        assert [(e["target"]["user"], e["days_left"]) for e in data["expiring"]] == [
            ("carol@acme.example", 9)
        ]
    elif output_format == "csv":
        assert out.splitlines()[1].startswith(f"2027-03-10,9,access,carol@acme.example,,{AUTOCAD},AutoCAD,")
    else:
        assert "2027-03-10" in out and "in 9 days" in out
    code, out = run(*args[:2], "8", *args[3:])
    assert code == 0 and "carol" not in out


def test_drift_exits_2_for_a_grant_past_its_day(store_url: str, write_yaml: WriteYaml) -> None:
    apply_yaml(store_url, ACCOUNT)
    path = str(write_yaml(ACCOUNT))
    assert run("drift", path, "--today", "2027-03-10", "--store", store_url)[0] == 0
    code, out = run("drift", path, "--today", "2027-03-11", "--store", store_url)
    assert code == 2
    assert f"  2027-03-10 (1 day ago): access carol@acme.example on {AUTOCAD} (AutoCAD {AUTOCAD}); " in out
    code, out = run("drift", path, "--today", "2027-03-11", "--format", "json", "--store", store_url)
    assert code == 2 and json.loads(out)["expired"][0]["days_left"] == -1
    # Once a plan of the YAML took it away, there is nothing left to report.
    apply = [
        "apply",
        path,
        "--actor",
        RESELLER,
        "--auto-approve",
        "--today",
        "2027-03-11",
        "--store",
        store_url,
    ]
    assert run(*apply)[0] == 0
    assert run("drift", path, "--today", "2027-03-11", "--store", store_url)[0] == 0


def test_the_state_built_from_yaml_keeps_every_date() -> None:
    """What the store is asked to keep: each of the three places a date stands."""
    import yaml

    state = build_state(
        [
            yaml.safe_load(
                ACCOUNT
                + "  - email: dana@acme.example\n    first_name: Dana\n    last_name: Lee\n"
                + '    expires: "2027-04-01"\n'
                + "teams:\n  - name: T\n    members: [{email: dana@acme.example, expires: '2027-03-05'}]\n"
            )
        ]
    )
    usage = seat_usage(Snapshot("l", 1, frozenset(), state), NOW, expiring_days=31)
    assert [(e.record, e.expires) for e in usage.expiring] == [
        (Record.TEAM_MEMBER, "2027-03-05"),
        (Record.ACCESS, "2027-03-10"),
        (Record.USER, "2027-04-01"),
    ]
