"""`usage`: seats and renewals, from the engine's counts to every format on a real store."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, RESELLER, ROOT, apply_yaml
from memory_store import open_any_store
from test_markdown_github import cells, github, no_link_tag_or_mention, shown_text

from reconciler.cli import cli
from reconciler.commands.operations import usage_report
from reconciler.core.errors import StoreError
from reconciler.core.model import Access, Contract, DesiredState, Serial, Team, User
from reconciler.core.records import ACTIVE, INVITED, Snapshot, StaleInvite
from reconciler.engine.drift import find_drift
from reconciler.engine.usage import seat_usage
from reconciler.report.attention import attention
from reconciler.report.csv import USAGE_HEADER, usage_csv
from reconciler.report.json import usage_json
from reconciler.report.markdown import USAGE_MARKER, render_usage
from reconciler.report.text import render_usage as render_usage_text

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _judged_on_the_real_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands here judge what the store stamped a moment ago (invitations, an end date set 30 days
    from now): on the real day, not on the suite's fixed RECONCILER_TODAY, which is another day as soon as
    the calendar moves past it."""
    monkeypatch.setenv("RECONCILER_TODAY", datetime.now(UTC).date().isoformat())


CM = "cm@acme.example"
SC = "sc@acme.example"


def user(email: str, *serials: str) -> User:
    return User(email, "First", "Last", tuple(Access(s) for s in serials))


def snapshot(
    contracts: tuple[Contract, ...],
    users: tuple[User, ...] = (),
    teams: tuple[Team, ...] = (),
    status: dict[str, str] | None = None,
    added: dict[str, str] | None = None,
) -> Snapshot:
    state = DesiredState(contracts=contracts, users=users, teams=teams)
    status = status or {u.email: ACTIVE for u in users}
    added = added or {u.email: "2026-01-01T00:00:00+00:00" for u in users}
    return Snapshot("lineage", 3, frozenset({RESELLER}), state, user_status=status, user_added=added)


def contract(number: str = "110001234567", ends: str | None = None, *serials: Serial) -> Contract:
    return Contract(number, CM, serials=serials, ends=ends)


# --- the engine ------------------------------------------------------------------------------------


def test_assigned_counts_each_user_once_whatever_gives_them_access() -> None:
    serials = (
        Serial("399-00000001", "AutoCAD", 2, "Design", coordinator=SC),
        Serial("399-00000002", "Revit", 5),
        Serial("399-00000003", "Maya", 1),
    )
    team = Team(
        "Studio", members=("b@acme.example",), access=(Access("399-00000001"), Access("399-00000002"))
    )
    found = seat_usage(
        snapshot(
            (contract("110001234567", None, *serials),),
            (user("a@acme.example", "399-00000001"), user("b@acme.example", "399-00000001")),
            (team,),
        ),
        NOW,
    )
    first, second, third = found.contracts[0].serials
    # b has a grant of her own and the team's on the first serial: one seat.
    assert (first.seats, first.assigned, first.free, first.full) == (2, 2, 0, True)
    assert (second.seats, second.assigned, second.free, second.full) == (5, 1, 4, False)
    assert (third.assigned, third.free, third.full) == (0, 1, False)
    assert (first.coordinator, second.coordinator) == (SC, CM)  # R4: no SC named, the CM
    assert (first.product, first.group, second.group) == ("AutoCAD", "Design", None)
    report = attention(found)
    assert [s.number for _, s in report.full] == ["399-00000001"]
    assert [s.number for _, s in report.unused] == ["399-00000002", "399-00000003"]
    assert report.unused_seats == 5


def test_more_users_than_seats_is_full_with_no_seat_free() -> None:
    serial = Serial("399-00000001", "AutoCAD", 1)
    found = seat_usage(
        snapshot(
            (contract("110001234567", None, serial),),
            (user("a@acme.example", serial.number), user("b@acme.example", serial.number)),
        ),
        NOW,
    )
    (only,) = found.contracts[0].serials
    assert (only.assigned, only.free, only.full) == (2, 0, True)


def test_invited_counts_the_users_with_access_who_never_signed_in() -> None:
    serial = Serial("399-00000001", "AutoCAD", 5)
    users = (
        user("a@acme.example", serial.number),
        user("b@acme.example", serial.number),
        user("c@acme.example"),
    )
    status = {"a@acme.example": INVITED, "b@acme.example": ACTIVE, "c@acme.example": INVITED}
    found = seat_usage(snapshot((contract("110001234567", None, serial),), users, status=status), NOW)
    (only,) = found.contracts[0].serials
    assert (only.assigned, only.invited) == (2, 1)  # c is invited but holds no seat
    assert only.stale_invites == ()  # not asked for


def test_stale_invites_are_drifts_at_the_same_moment_and_30_days_exactly_is_stale() -> None:
    serials = (Serial("399-00000001", "AutoCAD", 5), Serial("399-00000002", "Revit", 5))
    users = (
        user("a@acme.example", "399-00000001", "399-00000002"),
        user("b@acme.example", "399-00000001"),
        user("c@acme.example", "399-00000002"),
        user("d@acme.example", "399-00000001"),
    )
    cutoff = NOW - timedelta(days=30)
    added = {
        "a@acme.example": cutoff.isoformat(),  # exactly 30 days: stale
        "b@acme.example": (cutoff + timedelta(seconds=1)).isoformat(),  # a second short
        "c@acme.example": "2020-01-01T00:00:00",  # no time zone: UTC, as the store writes
        "d@acme.example": "2020-01-01T00:00:00+00:00",  # long ago, but active
    }
    status = {**dict.fromkeys(added, INVITED), "d@acme.example": ACTIVE}
    taken = snapshot((contract("110001234567", None, *serials),), users, status=status, added=added)
    found = seat_usage(taken, NOW, stale_after_days=30)
    first, second = found.contracts[0].serials
    assert first.stale_invites == (StaleInvite("a@acme.example", cutoff.isoformat()),)
    assert [i.user for i in second.stale_invites] == ["a@acme.example", "c@acme.example"]
    assert (first.invited, second.invited) == (2, 2)
    assert found.stale_after_days == 30
    drifted = {i.user for i in find_drift(DesiredState(), taken, NOW, stale_after_days=30).stale_invites}
    assert drifted == {i.user for s in (first, second) for i in s.stale_invites}
    assert [(u.user, u.serials) for u in attention(found).stale] == [
        ("a@acme.example", ("399-00000001", "399-00000002")),
        ("c@acme.example", ("399-00000002",)),
    ]
    assert seat_usage(taken, NOW, stale_after_days=31).contracts[0].serials[0].stale_invites == ()


def test_days_left_and_renewal_due_at_exactly_n_days() -> None:
    contracts = (
        contract("110000000001", "2027-03-01"),  # 90 days after 2026-12-01
        contract("110000000002", "2027-03-02"),  # 91
        contract("110000000003", "2026-11-30"),  # ended yesterday
        contract("110000000004", "2026-12-01"),  # ends today
        contract("110000000005", None),
    )
    found = seat_usage(snapshot(contracts), NOW)
    assert [(c.days_left, c.renewal_due) for c in found.contracts] == [
        (90, True),
        (91, False),
        (-1, True),
        (0, True),
        (None, False),
    ]
    assert (found.today, found.renewal_days) == ("2026-12-01", 90)
    assert [c.renewal_due for c in seat_usage(snapshot(contracts), NOW, renewal_days=89).contracts] == [
        False,
        False,
        True,
        True,
        False,
    ]
    # The ended contract first, then the soonest.
    assert [c.number for c in attention(found).renewals] == ["110000000003", "110000000004", "110000000001"]


def test_the_day_is_the_utc_day_of_now() -> None:
    late_in_brazil = datetime(
        2026, 12, 1, 23, 30, tzinfo=timezone(timedelta(hours=-3))
    )  # 02:30 UTC on the 2nd
    found = seat_usage(snapshot((contract("110000000001", "2027-03-01"),)), late_in_brazil)
    assert (found.today, found.contracts[0].days_left) == ("2026-12-02", 89)


def test_contracts_and_serials_come_sorted_by_number() -> None:
    contracts = (
        contract("110000000002", None, Serial("399-00000009", "B", 1), Serial("399-00000003", "A", 1)),
        contract("110000000001", None, Serial("399-00000005", "C", 1)),
    )
    found = seat_usage(snapshot(contracts), NOW)
    assert [c.number for c in found.contracts] == ["110000000001", "110000000002"]
    assert [s.number for s in found.contracts[1].serials] == ["399-00000003", "399-00000009"]
    assert (found.lineage, found.revision) == ("lineage", 3)


def test_an_end_date_that_is_no_date_is_a_store_error_not_a_traceback() -> None:
    with pytest.raises(StoreError, match=r"contract 110000000001 ends on '31/03/2027' in the store"):
        seat_usage(snapshot((contract("110000000001", "31/03/2027"),)), NOW)


def test_usage_report_reads_every_store_the_same(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT)
    store = open_any_store(any_store_url)
    found = usage_report(store, NOW, renewal_days=30, stale_after_days=0)
    assert found == seat_usage(store.snapshot(), NOW, 30, 0)
    assert [
        (s.number, s.coordinator, s.seats, s.assigned, s.invited) for s in found.contracts[0].serials
    ] == [
        ("399-12345678", "bob@acme.example", 2, 1, 1),
        ("399-12345679", "alice@acme.example", 1, 1, 1),
    ]


# --- the reports of one usage ----------------------------------------------------------------------


def needing_everything() -> Snapshot:
    serials = (Serial("399-00000001", "AutoCAD", 1), Serial("399-00000002", "Revit", 10, "Design"))
    users = (user("a@acme.example", "399-00000001"), user("b@acme.example", "399-00000002"))
    return snapshot(
        (contract("110000000001", "2026-12-11", *serials), contract("110000000002", "2026-11-01")),
        users,
        status={"a@acme.example": ACTIVE, "b@acme.example": INVITED},
        added={"a@acme.example": "2026-01-01T00:00:00+00:00", "b@acme.example": "2026-01-01T00:00:00+00:00"},
    )


def test_text_puts_what_needs_action_first_then_a_table_of_each_contract() -> None:
    found = seat_usage(needing_everything(), NOW, stale_after_days=30)
    assert list(render_usage_text(found)) == [
        "Seats and renewals of store lineage at revision 3, on 2026-12-01:",
        "",
        "Needs action:",
        "  Full (1):",
        "    399-00000001 AutoCAD on 110000000001: 1 of 1 seat assigned",
        "  Unused seats (9 on 1 serial):",
        "    399-00000002 Revit on 110000000001: 9 of 10 free",
        "  Still invited 30 days or more after being added (1):",
        "    b@acme.example (invited 2026-01-01T00:00:00+00:00) holds 399-00000002",
        "  Renewal due within 90 days (2):",
        f"    110000000002 ended 2026-11-01, 30 days ago; manager {CM}",
        f"    110000000001 ends 2026-12-11, in 10 days; manager {CM}",
        "",
        f"Contract 110000000001: manager {CM}, ends 2026-12-11, in 10 days, renewal due",
        "  serial        product  group   coordinator      seats  assigned  free  invited  stale",
        "  399-00000001  AutoCAD  (none)  cm@acme.example      1         1     0        0      0",
        "  399-00000002  Revit    Design  cm@acme.example     10         1     9        1      1",
        "",
        f"Contract 110000000002: manager {CM}, ended 2026-11-01, 30 days ago, renewal due",
        "  no serials",
        "",
        "Usage: 2 contracts, 2 serials, 11 seats: 2 assigned, 9 free; 1 full, 2 renewals due, 1 stale invite.",
    ]


def test_text_paints_the_headings_and_an_ended_contract() -> None:
    found = seat_usage(needing_everything(), NOW, stale_after_days=30)
    lines = list(render_usage_text(found, lambda text, colour: f"<{colour}>{text}</{colour}>"))
    assert "  <red>Full (1):</red>" in lines
    assert "  <yellow>Unused seats (9 on 1 serial):</yellow>" in lines
    assert f"<red>    110000000002 ended 2026-11-01, 30 days ago; manager {CM}</red>" in lines


def test_nothing_to_act_on_says_so() -> None:
    # Every serial is full or has a seat free, so only a contract without serials, far from its end, is quiet.
    found = seat_usage(snapshot((contract("110000000001", "2028-01-01"),)), NOW, stale_after_days=30)
    assert not attention(found)
    assert list(render_usage_text(found))[2] == "Nothing needs action."
    assert "Nothing needs action." in shown_text(github(render_usage(found)))


def test_the_stale_column_is_there_only_when_asked_for() -> None:
    taken = snapshot((contract("110000000001", None, Serial("399-00000001", "A", 2)),))
    header = "  serial        product  group   coordinator      seats  assigned  free  invited"
    assert header in list(render_usage_text(seat_usage(taken, NOW)))
    assert header + "  stale" in list(render_usage_text(seat_usage(taken, NOW, stale_after_days=0)))
    assert "| serial | product | group | coordinator | seats | assigned | free | invited |\n" in render_usage(
        seat_usage(taken, NOW)
    )


def test_markdown_and_json_of_a_usage_that_needs_everything() -> None:
    found = seat_usage(needing_everything(), NOW, stale_after_days=30)
    rendered = github(render_usage(found))
    no_link_tag_or_mention(rendered)
    text = shown_text(rendered)
    assert "reconciler usage: 1 full, 1 with unused seats, 2 renewals due, 1 stale invite" in text
    assert '<th align="right">seats</th>' in rendered
    assert render_usage(found).startswith(USAGE_MARKER + "\n")
    data = json.loads(usage_json(found))
    assert [(c["number"], c["days_left"], c["renewal_due"]) for c in data["contracts"]] == [
        ("110000000001", 10, True),
        ("110000000002", -30, True),
    ]
    assert data["contracts"][0]["serials"][1]["stale_invites"] == [
        {"user": "b@acme.example", "invited_at": "2026-01-01T00:00:00+00:00"}
    ]
    assert usage_json(found) == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_csv_gives_a_contract_without_serials_one_row() -> None:
    found = seat_usage(needing_everything(), NOW, stale_after_days=30)
    rows = list(csv.reader(io.StringIO(usage_csv(found), newline="")))
    assert rows[0] == list(USAGE_HEADER)
    assert rows[1:] == [
        [
            "110000000001",
            CM,
            "2026-12-11",
            "10",
            "true",
            "399-00000001",
            "AutoCAD",
            "",
            CM,
            "1",
            "1",
            "0",
            "0",
            "0",
            "",
        ],
        [
            "110000000001",
            CM,
            "2026-12-11",
            "10",
            "true",
            "399-00000002",
            "Revit",
            "Design",
            CM,
            "10",
            "1",
            "9",
            "1",
            "1",
            "b@acme.example",
        ],
        ["110000000002", CM, "2026-11-01", "-30", "true", *[""] * 10],
    ]


# --- the command line, on a real store -------------------------------------------------------------

ACME = str(EXAMPLES / "acme")
ALICE, BOB, DANA = "alice.moreau@acme.example", "bob.okafor@acme.example", "dana.lund@acme.example"
#: The example account's serials as usage must count them, by hand from examples/acme.
#: The example's end dates, as the store keeps them after the apply (the second contract has none).
EXAMPLE_ENDS = {"110001234567": "2027-03-31"}
EXAMPLE_SERIALS = {
    "110001234567": [
        ("399-12345678", "AutoCAD", "Design Studio", BOB, 10, 5),  # alice, bob, ivan; carol, farah by team
        ("399-12345679", "Revit", "Design Studio", BOB, 5, 3),  # carol (her own and the team's), farah, lena
        ("399-12345680", "Civil 3D", "Site Works", DANA, 3, 2),  # dana, erik
        ("399-12345681", "AutoCAD", "Site Works", ALICE, 4, 2),  # erik, julia; no SC named: the CM
    ],
    "110009876543": [
        ("562-20000001", "Inventor Professional", "Product Engineering", BOB, 6, 4),
        ("562-20000002", "Vault Professional", "Product Engineering", ALICE, 6, 2),
    ],
}
STALE = ("erik.nilsen@acme.example", "julia.santos@acme.example")
LONG_AGO = "2024-01-15T09:00:00+00:00"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr  # `stdout` turns CRLF into LF


def example_store(url: str, activate_all_but: tuple[str, ...] | None = None) -> str:
    """The example account applied to the store at `url` by the reseller, as a user does it."""
    code, _, err = run("apply", ACME, "--auto-approve", "--actor", RESELLER, "--store", url)
    assert code == 0, err
    if activate_all_but is not None:
        for found in open_any_store(url).snapshot().state.users:
            if found.email not in activate_all_but:
                assert run("users", "activate", found.email, "--store", url)[0] == 0
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run("init", "--reseller", RESELLER, "--store", url)[0] == 0
    return url


def back_date(url: str, emails: tuple[str, ...], when: str = LONG_AGO) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.executemany("UPDATE users SET added_at = ? WHERE email = ?", [(when, e) for e in emails])


def test_json_of_the_example_field_by_field(store_url: str) -> None:
    example_store(store_url)
    code, out, err = run("usage", "--format", "json", "--store", store_url)
    assert (code, err) == (0, "")
    data = json.loads(out)
    taken = open_any_store(store_url).snapshot()
    assert data["format_version"] == 1
    assert data["store"] == {"lineage": taken.lineage, "revision": 1}
    assert data["today"] == datetime.now(UTC).date().isoformat()
    assert (data["renewal_days"], data["stale_after_days"]) == (90, None)
    assert [c["number"] for c in data["contracts"]] == list(EXAMPLE_SERIALS)
    for found in data["contracts"]:
        assert set(found) == {"number", "manager", "ends", "days_left", "renewal_due", "serials"}
        ends = EXAMPLE_ENDS.get(found["number"])
        days_left = (date.fromisoformat(ends) - datetime.now(UTC).date()).days if ends else None
        assert (found["manager"], found["ends"], found["days_left"], found["renewal_due"]) == (
            ALICE,
            ends,
            days_left,
            days_left is not None and days_left <= 90,
        )
        expected = EXAMPLE_SERIALS[found["number"]]
        assert [s["number"] for s in found["serials"]] == [e[0] for e in expected]
        for serial, (number, product, group, coordinator, seats, assigned) in zip(
            found["serials"], expected, strict=True
        ):
            assert serial == {
                "number": number,
                "product": product,
                "group": group,
                "coordinator": coordinator,
                "seats": seats,
                "assigned": assigned,
                "free": seats - assigned,
                "invited": assigned,  # nobody has signed in yet
                "stale_invites": [],
            }
    assert run("usage", "--format", "json", "--store", store_url)[1] == out  # the same bytes


def test_stale_invites_and_invited_on_the_example(sqlite_url: str) -> None:
    example_store(sqlite_url, activate_all_but=STALE)
    back_date(sqlite_url, STALE)
    code, out, _ = run("usage", "--stale-invites", "30", "--format", "json", "--store", sqlite_url)
    assert code == 0
    serials = {s["number"]: s for c in json.loads(out)["contracts"] for s in c["serials"]}
    assert {n: s["invited"] for n, s in serials.items() if s["invited"]} == {
        "399-12345680": 1,
        "399-12345681": 2,
    }
    assert serials["399-12345681"]["stale_invites"] == [{"user": u, "invited_at": LONG_AGO} for u in STALE]
    assert serials["399-12345680"]["stale_invites"] == [{"user": STALE[0], "invited_at": LONG_AGO}]
    code, out, _ = run("usage", "--stale-invites", "30", "--store", sqlite_url)
    assert code == 0
    assert out.index("Needs action:") < out.index("Unused seats (16 on 6 serials):") < out.index("Contract ")
    assert (
        "    erik.nilsen@acme.example (invited 2024-01-15T09:00:00+00:00) holds 399-12345680, 399-12345681\n"
        in out
    )
    assert out.endswith(
        "Usage: 2 contracts, 6 serials, 34 seats: 18 assigned, 16 free; 0 full, 0 renewals due, 2 stale invites.\n"
    )
    # Someone added a day ago is not stale after 30 days.
    back_date(sqlite_url, STALE, (datetime.now(UTC) - timedelta(days=1)).isoformat())
    code, out, _ = run("usage", "--stale-invites", "30", "--format", "json", "--store", sqlite_url)
    assert all(not s["stale_invites"] for c in json.loads(out)["contracts"] for s in c["serials"])


def test_csv_of_the_example_reads_back(sqlite_url: str) -> None:
    example_store(sqlite_url, activate_all_but=STALE)
    back_date(sqlite_url, STALE)
    code, out, _ = run("usage", "--format", "csv", "--stale-invites", "30", "--store", sqlite_url)
    assert code == 0 and out.startswith("contract,manager,") and "\r\n" in out
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [(r["contract"], r["serial"]) for r in rows] == [
        (c, s[0]) for c, ss in EXAMPLE_SERIALS.items() for s in ss
    ]
    by_serial = {r["serial"]: r for r in rows}
    for serials in EXAMPLE_SERIALS.values():
        for number, product, group, coordinator, seats, assigned in serials:
            row = by_serial[number]
            assert (row["product"], row["group"], row["coordinator"]) == (product, group, coordinator)
            assert (int(row["seats"]), int(row["assigned"]), int(row["free"])) == (
                seats,
                assigned,
                seats - assigned,
            )
            ends = EXAMPLE_ENDS.get(row["contract"], "")
            days_left = (date.fromisoformat(ends) - datetime.now(UTC).date()).days if ends else None
            assert (row["manager"], row["ends"], row["days_left"], row["renewal_due"]) == (
                ALICE,
                ends,
                "" if days_left is None else str(days_left),
                "true" if days_left is not None and days_left <= 90 else "false",
            )
    assert by_serial["399-12345681"]["stale_invites"] == "2"
    assert by_serial["399-12345681"]["stale_users"] == ";".join(STALE)
    code, bommed, _ = run("usage", "--format", "csv", "--bom", "--stale-invites", "30", "--store", sqlite_url)
    assert bommed == "\ufeff" + out


def test_markdown_of_the_example_renders_as_github_shows_it(sqlite_url: str) -> None:
    example_store(sqlite_url, activate_all_but=STALE)
    back_date(sqlite_url, STALE)
    code, out, _ = run("usage", "--format", "markdown", "--stale-invites", "30", "--store", sqlite_url)
    assert code == 0 and out.startswith(USAGE_MARKER + "\n### reconciler usage: 0 full, 6 with unused seats")
    rendered = github(out)
    no_link_tag_or_mention(rendered)
    text = shown_text(rendered)
    assert "Manager alice.moreau@acme.example, no end date recorded." in text
    assert rendered.count("<table>") == 5  # counts, unused seats, stale invitations, two contracts
    assert "erik.nilsen@acme.example" in text and "2024-01-15T09:00:00+00:00" in text


def test_the_markdown_report_goes_to_the_job_summary_too(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example_store(sqlite_url)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run("usage", "--format", "json", "--store", sqlite_url)
    assert code == 0 and json.loads(out)["contracts"]
    assert summary.read_text(encoding="utf-8").startswith(USAGE_MARKER + "\n")


def test_usage_errors_exit_1_without_a_traceback(tmp_path: Path, sqlite_url: str) -> None:
    code, _, err = run("usage", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 1 and err.startswith("Error: no store at")
    code, _, err = run("usage", "--renewal-days", "-1", "--store", sqlite_url)
    assert code == 1 and "-1 is not in the range x>=0" in err
    code, _, err = run("usage", "--format", "yaml", "--store", sqlite_url)
    assert code == 1 and "'yaml' is not one of" in err
    code, out, _ = run("usage", "--store", sqlite_url)  # an empty store
    assert code == 0 and "Usage: 0 contracts, 0 serials, 0 seats" in out


# --- hostile names ---------------------------------------------------------------------------------

HOSTILE = ROOT / "tests" / "golden" / "hostile-names" / "account.yaml"
FORMULA_USER = "-2+3@acme.example"


@pytest.fixture
def hostile_store(sqlite_url: str, tmp_path: Path) -> str:
    """The hostile golden account, with a product and a user that a spreadsheet would run as formulas."""
    text = HOSTILE.read_text(encoding="utf-8")
    text = text.replace(
        'product: "mailto:boss@evil.example"', 'product: "=HYPERLINK(\\"http://evil.example\\")"'
    )
    user = f'  - email: "{FORMULA_USER}"\n    first_name: Eve\n    last_name: "@SUM(1+1)"\n'
    team = (
        f'  - name: Formula\n    members: ["{FORMULA_USER}"]\n    access:\n      - serial: "399-12345679"\n'
    )
    text = text.replace("\nteams:\n", f"\n{user}teams:\n{team}")
    account = tmp_path / "hostile.yaml"
    account.write_text(text, encoding="utf-8")
    code, _, err = run("apply", str(account), "--auto-approve", "--actor", RESELLER, "--store", sqlite_url)
    assert code == 0, err
    return sqlite_url


def test_hostile_names_in_markdown_render_as_written_and_link_nothing(hostile_store: str) -> None:
    code, out, _ = run("usage", "--format", "markdown", "--stale-invites", "0", "--store", hostile_store)
    assert code == 0
    rendered = github(out)
    no_link_tag_or_mention(rendered)
    text = shown_text(rendered)
    for written in (
        "<img src=x onerror=alert(1)>",
        "**bold** | pipe | `tick` <!-- x",
        "x|boss@acme.example",
        FORMULA_USER,
        '=HYPERLINK("http://evil.example")',
    ):
        assert written in text, written
    # Each stale user is one row of the invitations table, reading exactly as written.
    assert cells(rendered, "user") == sorted(
        ["alice@acme.example", "bob@acme.example", "x|boss@acme.example", FORMULA_USER]
    )


def test_hostile_names_in_csv_are_defused_and_read_back(hostile_store: str) -> None:
    code, out, _ = run("usage", "--format", "csv", "--stale-invites", "0", "--store", hostile_store)
    assert code == 0
    rows = {r["serial"]: r for r in csv.DictReader(io.StringIO(out, newline=""))}
    assert rows["399-12345679"]["product"] == '\'=HYPERLINK("http://evil.example")'
    assert rows["399-12345679"]["stale_users"] == "'" + FORMULA_USER
    assert rows["399-12345678"]["group"] == "**bold** | pipe | `tick` <!-- x"
    assert rows["399-12345678"]["product"] == "<img src=x onerror=alert(1)>"
    assert rows["399-12345678"]["stale_users"] == "alice@acme.example;bob@acme.example;x|boss@acme.example"
    for row in rows.values():
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_an_end_date_moved_into_the_renewal_window_is_due_after_the_apply(
    sqlite_url: str, tmp_path: Path
) -> None:
    """From the YAML to the report: the reseller moves the end date 30 days out; `usage` says it is due."""
    example_store(sqlite_url)
    account = tmp_path / "acme"
    shutil.copytree(ACME, account)
    soon = datetime.now(UTC).date() + timedelta(days=30)
    contracts = account / "contracts.yaml"
    text = contracts.read_text(encoding="utf-8")
    assert 'ends: "2027-03-31"' in text
    contracts.write_text(text.replace('ends: "2027-03-31"', f'ends: "{soon.isoformat()}"'), encoding="utf-8")
    code, out, err = run("plan", str(account), "--format", "json", "--actor", RESELLER, "--store", sqlite_url)
    assert code == 0, err
    assert [a["kind"] for a in json.loads(out)["actions"]] == ["contract.ends_change"]
    assert run("apply", str(account), "--auto-approve", "--actor", RESELLER, "--store", sqlite_url)[0] == 0

    code, out, err = run("usage", "--store", sqlite_url)
    assert (code, err) == (0, "")
    due = out.index("Renewal due within 90 days (1):")
    assert out.index(f"110001234567 ends {soon.isoformat()}, in 30 days", due) > due
    assert out.index("Contract 110001234567") > due  # what needs action comes before the tables
    data = json.loads(run("usage", "--format", "json", "--renewal-days", "29", "--store", sqlite_url)[1])
    first = data["contracts"][0]
    assert (first["ends"], first["days_left"], first["renewal_due"]) == (soon.isoformat(), 30, False)


def test_a_stale_invites_past_a_hundred_years_is_refused_by_the_option(sqlite_url: str) -> None:
    example_store(sqlite_url)
    for command in ("usage", "drift"):
        args = [command, *([ACME] if command == "drift" else []), "--stale-invites", "1000000"]
        result = CliRunner().invoke(cli, [*args, "--store", sqlite_url])
        assert result.exit_code == 1, result.output  # an input error (exit 1), not a traceback
        assert "1000000 is not in the range 0<=x<=36500" in result.output


def test_an_added_at_the_store_cannot_read_is_a_store_error_naming_the_user(sqlite_url: str) -> None:
    example_store(sqlite_url)
    back_date(sqlite_url, ("erik.nilsen@acme.example",), when="garbage")
    code, out, err = run("usage", "--stale-invites", "5", "--store", sqlite_url)
    assert code == 1 and out == ""
    assert "user erik.nilsen@acme.example was added at 'garbage', which is not an ISO 8601 time" in err
    assert "internal error" not in err
