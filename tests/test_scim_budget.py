"""The write budget of a SCIM push (reconciler/scim/budget.py) and the provider profiles
(reconciler/scim/profiles.py), as pure parts: a hand-driven clock, no server."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.core.errors import BudgetReached, DirectoryError, InputError
from reconciler.scim.budget import Clock, Halted, WriteBudget
from reconciler.scim.profiles import PROFILES, DeleteMeans, Members, Paging, parse_rate, profile

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class HandClock:
    """Time that moves only when someone sleeps: `sleep(s)` moves it on by s."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.lock = threading.Lock()

    def now(self) -> float:
        with self.lock:
            return self.seconds

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds

    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep, wall=lambda: START + timedelta(seconds=self.now()))


def _send(budget: WriteBudget, hand: HandClock, writes: int, takes: float = 0.0) -> list[tuple[float, float]]:
    """Send `writes` writes one after the other, each answered `takes` seconds after it went: their
    (sent, answered) times."""
    times = []
    for _ in range(writes):
        budget.before(write=True)
        sent = hand.now()
        hand.sleep(takes)
        budget.after(write=True)
        times.append((sent, hand.now()))
    return times


def _most_in_a_minute(times: list[float]) -> int:
    """The most of `times` inside any window [t, t + 60) of the provider's clock."""
    ordered = sorted(times)
    return max(sum(1 for other in ordered if start <= other < start + 60) for start in ordered)


def test_no_minute_holds_more_than_the_rate_and_the_writes_go_as_soon_as_they_may() -> None:
    hand = HandClock()
    budget = WriteBudget(rate=3, clock=hand.clock())
    times = _send(budget, hand, 10, takes=0.5)
    assert [sent for sent, _ in times] == [0.0, 0.5, 1.0, 60.5, 61.0, 61.5, 121.0, 121.5, 122.0, 181.5]
    assert _most_in_a_minute([sent for sent, _ in times]) == 3
    assert budget.writes == 10


def test_a_write_holds_its_place_until_a_minute_after_its_answer() -> None:
    """A provider sees a write some time between its sending and its answer: counting from the answer
    keeps every one of the provider's minutes within the rate, however slow the answers."""
    hand = HandClock()
    budget = WriteBudget(rate=2, clock=hand.clock())
    times = _send(budget, hand, 6, takes=10.0)
    for arrival in ("sent", "answered"):
        seen = [sent if arrival == "sent" else answered for sent, answered in times]
        assert _most_in_a_minute(seen) == 2, arrival


def test_reads_do_not_count_and_do_not_wait_for_the_minute() -> None:
    hand = HandClock()
    budget = WriteBudget(rate=1, clock=hand.clock())
    _send(budget, hand, 1)
    for _ in range(50):
        budget.before(write=False)
        budget.after(write=False)
    assert hand.now() == 0.0 and budget.writes == 1


def test_a_retry_after_holds_every_request_and_counts_once_against_max_wait() -> None:
    hand = HandClock()
    budget = WriteBudget(max_wait=10, clock=hand.clock())
    budget.pause(4, "POST /Users: the directory answered 429")
    budget.pause(3, "POST /Users: the directory answered 429")  # a second worker told the same: no longer
    budget.before(write=False)
    assert hand.now() == 4.0 and budget.paused == 4.0
    budget.pause(6, "PATCH /Groups/g: the directory answered 429")
    budget.before(write=True)
    assert hand.now() == 10.0
    with pytest.raises(
        DirectoryError, match=r"429 and asked to wait 1 s more, past --max-wait 10 s \(10 s waited"
    ):
        budget.pause(1, "PATCH /Groups/g: the directory answered 429")


def test_the_hour_stops_the_run_and_says_when_to_go_on() -> None:
    hand = HandClock()
    budget = WriteBudget(hourly_limit=5, clock=hand.clock())
    for _ in range(5):
        budget.before(write=True)
        budget.after(write=True)
        hand.sleep(60)
    with pytest.raises(BudgetReached) as stopped:
        budget.before(write=True)
    assert "the hourly budget of 5 writes (--hourly-limit) is spent" in str(stopped.value)
    assert "run again from 2027-03-01 10:04:00 UTC, an hour after the last of them" in str(stopped.value)
    hand.sleep(3600 - 300)  # within a run the hour slides: the first write leaves it
    budget.before(write=True)
    assert budget.writes == 6


def test_workers_at_once_share_one_minute() -> None:
    """Eight threads, rate 5: each write's place is taken under one lock, so no minute holds more."""
    hand = HandClock()
    budget = WriteBudget(rate=5, clock=hand.clock())
    sent: list[float] = []

    def worker() -> None:
        for _ in range(5):
            budget.before(write=True)
            sent.append(hand.now())
            budget.after(write=True)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(sent) == 40 and _most_in_a_minute(sent) <= 5


@pytest.mark.parametrize(
    ("text", "per_minute"),
    [("600/min", 600), ("600", 600), (" 10 / s ", 600), ("off", 0), ("0", 0), ("1/minute", 1)],
)
def test_a_rate_is_read_per_minute(text: str, per_minute: int) -> None:
    assert parse_rate(text) == per_minute


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "--rate 'fast' is not a rate: write N/min (600/min), N/s, or off"),
        ("1000/h", "--rate '1000/h' is per hour: give writes an hour as --hourly-limit 1000"),
        ("-3/min", "is not a rate"),
    ],
)
def test_a_rate_that_is_not_one_says_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rate(text)


def test_each_profile_says_what_its_provider_allows() -> None:
    assert PROFILES["aws-identity-center"].members == Members.FILTER
    assert PROFILES["aws-identity-center"].chunk == 100
    assert PROFILES["slack"].rate == 600 and PROFILES["slack"].delete_means == DeleteMeans.DEACTIVATE
    assert PROFILES["github-emu"].hourly_limit == 1000
    assert PROFILES["atlassian"].paging == Paging.CURSOR
    assert PROFILES["generic"].describe() == (
        "profile generic: 100 members a PATCH, no write rate, no hourly budget, auto paging of 100, "
        "members embedded, DELETE deletes"
    )


def test_a_setting_given_overrides_the_profiles_one_and_0_switches_a_limit_off() -> None:
    slack = profile("slack").overridden(rate=0, chunk=50, paging=None)
    assert (slack.rate, slack.chunk, slack.paging, slack.delete_means) == (
        None,
        50,
        Paging.AUTO,
        DeleteMeans.DEACTIVATE,
    )
    assert profile("github-emu").overridden(hourly_limit=200).hourly_limit == 200
    with pytest.raises(InputError, match="--profile 'okta' is not one of generic, aws-identity-center"):
        profile("okta")


def test_halting_wakes_a_worker_waiting_for_its_place_and_sends_nothing_more() -> None:
    """When one worker fails, another that waits for room in the minute must not send afterwards."""
    budget = WriteBudget(rate=1)
    budget.before(write=True)
    budget.after(write=True)  # the minute is full for the next 60 real seconds
    outcome: list[str] = []

    def waiting() -> None:
        try:
            budget.before(write=True)
            outcome.append("sent")
        except Halted:
            outcome.append("halted")

    worker = threading.Thread(target=waiting)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    budget.halt()
    worker.join(timeout=5)
    assert outcome == ["halted"] and time.monotonic() - started < 1.0
    with pytest.raises(Halted):
        budget.before(write=False)
