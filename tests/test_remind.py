"""`remind`: reminders before an expiry, each queued once per entry, date and mark, and delivered by `notify`.

The engine decides which are due (engine/reminders.py), notify words them
(notify/reminders.py), and the store's outbox keeps each Message-ID once; here
each on its own, then the command on SQLite and PostgreSQL, run day after day
as a nightly job runs it, and the mail delivered to a real SMTP server.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner, Result
from conftest import RESELLER, apply_yaml
from mailserver import MailServer
from memory_store import open_any_store

from reconciler.cli import cli
from reconciler.commands.reminders import ATTEMPTS, queue_reminders
from reconciler.core.errors import InputError, StalePlan
from reconciler.core.kinds import Record
from reconciler.core.model import Access, Contract, DesiredState, Serial, Team, User
from reconciler.core.records import ACTIVE, COORDINATOR, HOLDER, Snapshot, Transaction, Written
from reconciler.engine.reminders import check_marks, due_reminders
from reconciler.notify.compose import MailSettings
from reconciler.notify.reminders import compose_reminders, reminder_id

CM = "alice@acme.example"
SC = "bob@acme.example"
CAROL = "carol@acme.example"
DANA = "dana@acme.example"
AUTOCAD, REVIT = "399-12345678", "399-12345679"
#: The day every store test's dates are counted from: CAROL's grant ends 14 days after it.
START = date(2027, 3, 1)
ENDS = "2027-03-15"


def day(offset: int) -> str:
    """The day `offset` days after START."""
    return (START + timedelta(days=offset)).isoformat()


def snapshot(
    users: tuple[User, ...] = (), teams: tuple[Team, ...] = (), coordinator: User | None = None
) -> Snapshot:
    """The account of CM and SC (or `coordinator` as SC's user), with `users` and `teams` beside them."""
    contract = Contract(
        "110001234567",
        CM,
        serials=(
            Serial(AUTOCAD, "AutoCAD", 5, "Design Studio", coordinator=SC),
            Serial(REVIT, "Revit", 5),
        ),
    )
    people = (User(CM, "Alice", "Moreau"), coordinator or User(SC, "Bob", "Okafor"), *users)
    state = DesiredState(contracts=(contract,), users=people, teams=teams)
    return Snapshot("lineage", 7, frozenset({RESELLER}), state, {u.email: ACTIVE for u in people})


def carol(expires: str = ENDS) -> User:
    return User(CAROL, "Carol", "Smith", (Access(AUTOCAD, expires=expires),))


# --- which are due ---------------------------------------------------------------------------------


def test_a_grant_is_due_at_the_smallest_mark_its_days_left_are_within() -> None:
    found = snapshot((carol(),))
    marks = {offset: {r.mark for r in due_reminders(found, day(offset))} for offset in range(-2, 22)}
    assert {offset for offset, due in marks.items() if due} == set(range(15))
    assert all(marks[offset] == {14} for offset in range(11))  # 14 to 4 days left
    assert all(marks[offset] == {3} for offset in range(11, 15))  # 3 days left to the day itself


def test_the_user_and_the_serials_coordinator_hear_the_user_first() -> None:
    due = due_reminders(snapshot((carol(),)), day(0))
    assert [(r.to, r.role, r.mark) for r in due] == [(CAROL, HOLDER, 14), (SC, COORDINATOR, 14)]
    entry = due[0].expiring
    assert (entry.record, dict(entry.target), entry.expires, entry.days_left) == (
        Record.ACCESS,
        {"user": CAROL, "serial": AUTOCAD, "contract": "110001234567"},
        ENDS,
        14,
    )


def test_without_a_named_coordinator_the_contract_manager_hears_r4() -> None:
    user = User(CAROL, "Carol", "Smith", (Access(REVIT, expires=ENDS),))
    assert [r.to for r in due_reminders(snapshot((user,)), day(0))] == [CAROL, CM]


def test_a_team_membership_reaches_the_coordinator_of_each_serial_the_team_gives() -> None:
    team = Team(
        "Review",
        members=(DANA,),
        access=(Access(AUTOCAD), Access(REVIT)),
        member_expires=((DANA, ENDS),),
    )
    due = due_reminders(snapshot((User(DANA, "Dana", "Lee"),), (team,)), day(12))
    assert [(r.to, r.role, r.mark) for r in due] == [
        (DANA, HOLDER, 3),
        (CM, COORDINATOR, 3),
        (SC, COORDINATOR, 3),
    ]
    assert dict(due[0].expiring.target) == {"team": "Review", "user": DANA}
    assert [s.number for s in due[0].expiring.serials] == [AUTOCAD, REVIT]


def test_a_user_who_ends_reaches_the_coordinators_of_what_they_hold() -> None:
    team = Team("Review", members=(DANA,), access=(Access(REVIT),))
    dana = User(DANA, "Dana", "Lee", (Access(AUTOCAD),), expires=ENDS)
    due = due_reminders(snapshot((dana,), (team,)), day(1))
    assert [(r.expiring.record, r.to) for r in due] == [
        (Record.USER, DANA),
        (Record.USER, CM),
        (Record.USER, SC),
    ]


def test_a_coordinator_whose_own_grant_ends_hears_once() -> None:
    bob = User(SC, "Bob", "Okafor", (Access(AUTOCAD, expires=ENDS),))
    assert [(r.to, r.role) for r in due_reminders(snapshot(coordinator=bob), day(0))] == [(SC, HOLDER)]


def test_a_grant_kept_through_a_team_is_still_reminded_of_and_says_so() -> None:
    team = Team("Design", members=(CAROL,), access=(Access(AUTOCAD),))
    due = due_reminders(snapshot((carol(),), (team,)), day(0))
    assert due[0].expiring.kept == (AUTOCAD,)
    text = compose_reminders(due, snapshot((carol(),), (team,)))[0].text
    assert "(you keep this one: it comes another way too)" in text


def test_marks_are_whole_days_from_zero_each_once() -> None:
    assert check_marks([3, 14, 3]) == (3, 14)
    with pytest.raises(InputError, match="below 0"):
        check_marks([14, -1])
    with pytest.raises(InputError, match="at least one"):
        check_marks([])
    # A mark of 0 reminds on the last day only.
    assert [r.mark for r in due_reminders(snapshot((carol(),)), ENDS, (0,))] == [0, 0]
    assert due_reminders(snapshot((carol(),)), day(13), (0,)) == ()


# --- the words --------------------------------------------------------------------------------------


def test_the_holder_reads_the_date_what_ends_and_whom_to_ask() -> None:
    found = snapshot((carol(),))
    holder, coordinator = compose_reminders(due_reminders(found, day(0)), found)
    assert holder.to == CAROL and holder.kind == "notification"
    assert holder.subject == "Reminder: your access to AutoCAD (serial 399-12345678) lasts until 2027-03-15"
    assert holder.text.startswith(
        "Hello Carol Smith,\n\nYour access to the serial below lasts until 2027-03-15 (in 14 days)"
    )
    assert (
        "- AutoCAD (serial 399-12345678, group Design Studio) on contract 110001234567; its Software Coordinator: "
        "Bob Okafor (bob@acme.example)"
    ) in holder.text
    assert "ask Bob Okafor (bob@acme.example) to move the date" in holder.text
    assert coordinator.subject == (
        "Reminder: carol@acme.example's access to AutoCAD (serial 399-12345678) lasts until 2027-03-15"
    )
    assert coordinator.text.startswith("Hello Bob Okafor,\n\nThe access of Carol Smith (carol@acme.example)")
    assert "move the date (`expires` of the access to serial 399-12345678 of user carol@acme.example)" in (
        coordinator.text
    )


def test_the_last_day_and_the_day_before_are_said_as_such() -> None:
    found = snapshot((carol(),))
    assert "(that is today)" in compose_reminders(due_reminders(found, ENDS), found)[0].text
    assert "(tomorrow)" in compose_reminders(due_reminders(found, day(13)), found)[0].text


def test_a_message_id_is_the_entry_date_mark_and_person_not_the_day() -> None:
    found = snapshot((carol(),))
    ids = {
        offset: [reminder_id(r, "lineage") for r in due_reminders(found, day(offset))] for offset in range(15)
    }
    assert len({tuple(ids[offset]) for offset in range(11)}) == 1  # the 14-day mark, every day until the 3
    assert len({tuple(ids[offset]) for offset in range(11, 15)}) == 1
    assert not set(ids[0]) & set(ids[11])
    moved = snapshot((carol("2027-03-16"),))
    assert not set(ids[1]) & {reminder_id(r, "lineage") for r in due_reminders(moved, day(1))}
    other_sender = MailSettings("licences@cadpartners.example")
    assert reminder_id(due_reminders(found, day(0))[0], "lineage", other_sender).endswith(
        "@cadpartners.example>"
    )


def test_hostile_names_stay_text_in_the_mail() -> None:
    team = Team(
        "<script>x</script>",
        members=(DANA,),
        access=(Access(AUTOCAD),),
        member_expires=((DANA, ENDS),),
    )
    dana = User(DANA, "<b>Dana</b>", "Lee\u202e", ())
    found = snapshot((dana,), (team,))
    message = compose_reminders(due_reminders(found, day(0)), found)[0]
    assert "<script>" not in message.html and "&lt;script&gt;x&lt;/script&gt;" in message.html
    assert "<b>Dana</b>" not in message.html and "\u202e" not in message.text + message.html
    assert "\n" not in message.subject and "script" not in message.subject


# --- the command, day after day, on each store -------------------------------------------------------

ACCOUNT = f"""\
version: 1
contracts:
  - number: "110001234567"
    manager: {CM}
    coordinators:
      - email: {SC}
        manage_users: true
    serials:
      - number: "{AUTOCAD}"
        product: AutoCAD
        seats: 5
        group: Design Studio
        coordinator: {SC}
      - number: "{REVIT}"
        product: Revit
        seats: 5
users:
  - email: {CM}
    first_name: Alice
    last_name: Moreau
  - email: {SC}
    first_name: Bob
    last_name: Okafor
  - email: {CAROL}
    first_name: Carol
    last_name: Smith
    access:
      - serial: "{AUTOCAD}"
        expires: "{{ends}}"
"""


def remind(store_url: str, today: str, *args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, ["remind", "--today", today, "--store", store_url, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def reminders_in(store_url: str) -> list[tuple[str, str]]:
    """The reminders in the outbox: (to, subject), oldest first."""
    return [
        (e.message.to, e.message.subject)
        for e in open_any_store(store_url).outbox()
        if e.message.subject.startswith("Reminder:")
    ]


def test_each_reminder_is_queued_once_across_daily_runs(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    store = open_any_store(store_url)
    before = (store.snapshot().revision, store.history(100))
    queued_each_run = []
    for days_left in (20, 14, 13, 5, 3, 2, 0):
        ran = remind(store_url, day(14 - days_left), "--format", "json")
        data = json.loads(ran.output)
        queued_each_run.append(data["summary"]["queued"])
        again = json.loads(remind(store_url, day(14 - days_left), "--format", "json").output)
        assert again["summary"] == {
            "queued": 0,
            "already_queued": data["summary"]["queued"] + data["summary"]["already_queued"],
        }
    assert queued_each_run == [0, 2, 0, 0, 2, 0, 0]
    assert sorted(reminders_in(store_url)) == sorted(
        [
            (CAROL, f"Reminder: your access to AutoCAD (serial {AUTOCAD}) lasts until {ENDS}"),
            (SC, f"Reminder: {CAROL}'s access to AutoCAD (serial {AUTOCAD}) lasts until {ENDS}"),
        ]
        * 2
    )
    # Nothing in the account changed: no audit entry, the same revision (a saved plan stays good).
    assert (store.snapshot().revision, store.history(100)) == before
    # The day after the last one: past its date, reminded of no more (drift and plan take it from here).
    assert json.loads(remind(store_url, day(15), "--format", "json").output)["reminders"] == []


def test_the_three_day_mark_comes_after_the_fourteen_day_one_and_a_late_first_run_sends_only_it(
    store_url: str,
) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    first = remind(store_url, day(12))  # 2 days left: the 14-day reminder is no longer due
    assert "Queued 2 reminders (0 at 14 days, 2 at 3 days)." in first.output
    assert remind(store_url, day(13)).output.endswith(
        "Queued 0 reminders (0 at 14 days, 0 at 3 days); 2 were queued already.\n"
    )


def test_a_moved_date_re_arms_the_reminders(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    remind(store_url, day(0))
    remind(store_url, day(11))
    assert len(reminders_in(store_url)) == 4
    later = (START + timedelta(days=30)).isoformat()
    apply_yaml(store_url, ACCOUNT.format(ends=later))  # the CM moved the date in the files
    assert open_any_store(store_url).snapshot().state.users[2].access[0].expires == later
    assert "Queued 0 reminders" in remind(store_url, day(12)).output  # 18 days left now
    moved = remind(store_url, day(16))
    assert "Queued 2 reminders (2 at 14 days, 0 at 3 days)." in moved.output
    assert reminders_in(store_url)[-2:] == [
        (CAROL, f"Reminder: your access to AutoCAD (serial {AUTOCAD}) lasts until {later}"),
        (SC, f"Reminder: {CAROL}'s access to AutoCAD (serial {AUTOCAD}) lasts until {later}"),
    ]


def test_the_text_report_lists_each_reminder_and_the_counts(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    lineage = open_any_store(store_url).snapshot().lineage
    out = remind(store_url, day(0)).output
    assert out.splitlines() == [
        f"Reminders due on {day(0)}, 14 and 3 days before an expiry, in store {lineage} at revision 1:",
        f"  queued          14 days  {CAROL}  access {CAROL} on {AUTOCAD}, until {ENDS}, in 14 days",
        f"  queued          14 days  {SC}    access {CAROL} on {AUTOCAD}, until {ENDS}, in 14 days",
        "",
        "Queued 2 reminders (2 at 14 days, 0 at 3 days). `reconciler notify` sends them.",
    ]
    nothing = remind(store_url, day(-30)).output
    assert "  none.\n" in nothing and nothing.endswith("Queued 0 reminders (0 at 14 days, 0 at 3 days).\n")


def test_other_marks_and_the_sender_from_the_environment(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    env = {"RECONCILER_MAIL_FROM": "Licences <licences@cadpartners.example>"}
    data = json.loads(remind(store_url, day(0), "--days", "30,7,1", "--format", "json", env=env).output)
    assert data["marks"] == [30, 7, 1]
    assert data["by_mark"] == [
        {"mark": 30, "queued": 2, "already_queued": 0},
        {"mark": 7, "queued": 0, "already_queued": 0},
        {"mark": 1, "queued": 0, "already_queued": 0},
    ]
    assert [(r["to"], r["role"], r["status"]) for r in data["reminders"]] == [
        (CAROL, "user", "queued"),
        (SC, "coordinator", "queued"),
    ]
    assert data["reminders"][0]["entry"]["target"] == {
        "contract": "110001234567",
        "serial": AUTOCAD,
        "user": CAROL,
    }
    entries = open_any_store(store_url).outbox()
    assert {e.message.sender for e in entries if e.message.subject.startswith("Reminder")} == {
        "Licences <licences@cadpartners.example>"
    }
    assert all(e.message.message_id.endswith("@cadpartners.example>") for e in entries[-2:])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--days", "14,x"], "is not a list of days"),
        (["--days", "3,-1"], "use 0 or more days"),
        (["--days", ","], "at least one number of days"),
        (["--today", "2027-02-30"], "--today"),
    ],
)
def test_bad_options_exit_1_and_say_why(store_url: str, args: list[str], said: str) -> None:
    result = CliRunner().invoke(cli, ["remind", *args, "--store", store_url])
    assert result.exit_code == 1
    assert said in result.output
    assert open_any_store(store_url).outbox() == []


def test_a_missing_store_is_an_error_not_a_traceback(tmp_path: object) -> None:
    result = CliRunner().invoke(cli, ["remind", "--store", f"sqlite:///{tmp_path}/none.db"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")


def test_an_apply_meanwhile_makes_it_work_the_reminders_out_again(any_store_url: str) -> None:
    apply_yaml(any_store_url, ACCOUNT.format(ends=ENDS))
    real = open_any_store(any_store_url)

    class MovedMeanwhile:
        """A store that an apply moves on between each read and the first `stale` writes."""

        def __init__(self, stale: int) -> None:
            self.stale = stale

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def apply(self, transaction: Transaction) -> Written:
            if self.stale:
                self.stale -= 1
                raise StalePlan("the store is at another revision")
            return real.apply(transaction)

    done = queue_reminders(MovedMeanwhile(ATTEMPTS - 1), day(0))  # type: ignore[arg-type]
    assert [r.to for r in done.queued] == [CAROL, SC]
    with pytest.raises(StalePlan):
        queue_reminders(MovedMeanwhile(ATTEMPTS), day(11))  # type: ignore[arg-type]
    assert len(reminders_in(any_store_url)) == 2


# --- delivery ------------------------------------------------------------------------------------


def test_notify_delivers_the_reminders_over_smtp_once(store_url: str, smtp_server: MailServer) -> None:
    apply_yaml(store_url, ACCOUNT.format(ends=ENDS))
    env = {"RECONCILER_SMTP_URL": smtp_server.url, "RECONCILER_SMTP_ATTEMPTS": "1"}
    sent = CliRunner().invoke(cli, ["notify", "--store", store_url], env=env)  # the invitations
    assert sent.exit_code == 0, sent.output
    invitations = len(smtp_server.received)
    remind(store_url, day(0))
    assert CliRunner().invoke(cli, ["notify", "--store", store_url], env=env).exit_code == 0
    remind(store_url, day(1))  # due again, queued before: nothing new to send
    assert CliRunner().invoke(cli, ["notify", "--store", store_url], env=env).exit_code == 0
    got = smtp_server.received[invitations:]
    assert sorted((r.rcpt_tos, r.subject) for r in got) == [
        ((SC,), f"Reminder: {CAROL}'s access to AutoCAD (serial {AUTOCAD}) lasts until {ENDS}"),
        ((CAROL,), f"Reminder: your access to AutoCAD (serial {AUTOCAD}) lasts until {ENDS}"),
    ]
    to_carol = next(r for r in got if r.rcpt_tos == (CAROL,))
    assert "Hello Carol Smith," in to_carol.text and "lasts until 2027-03-15 (in 14 days)" in to_carol.text
    assert "<p>Hello Carol Smith,</p>" in to_carol.html
    assert len({r.email["Message-ID"] for r in got}) == 2
    assert all(e.sent_at for e in open_any_store(store_url).outbox())
