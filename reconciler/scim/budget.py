"""The writes a push may send, shared by all its workers: so many a minute, so many an hour, and none
while the provider asked to wait (Retry-After).

The minute is a sliding window, and a write holds its place in it from the
moment it is sent until a minute after its answer came back: the provider
receives a write after it was sent and before it was answered, so no
60-second window of the provider's own clock can see more than `rate`
writes, however long each took or in which order the answers came. The hour
counts writes sent in the last 3,600 seconds; a push that would send one
more stops instead of waiting an hour (BudgetReached), and says when the
last of them is an hour old: a new run, which counts afresh, can send its
whole budget from then without any hour holding more.

Time comes from a Clock, so that a test can run a 10,000-user push through
the budget with its minute shortened.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from reconciler.core.errors import BudgetReached, DirectoryError

MINUTE = 60.0
HOUR = 3600.0
#: How often a waiting worker looks again: for a write in flight to end (real seconds), and whether the
#: run was halted meanwhile (the clock's seconds).
_RECHECK = 0.25


class Halted(Exception):  # a signal between a push's workers, never shown to a user
    """The run stopped while this request waited for its place; it was not sent."""


def _now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """Seconds that only go forward (`now`), waiting (`sleep`), and the date and time (`wall`)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], datetime] = field(default=_now_utc)


SYSTEM_CLOCK = Clock()


class WriteBudget:
    """`rate` writes a minute and `hourly_limit` an hour (None: no limit), and Retry-After pauses of at
    most `max_wait` seconds in all; one for a push, used by every worker at once."""

    def __init__(
        self,
        rate: int | None = None,
        hourly_limit: int | None = None,
        *,
        max_wait: float = 60.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.rate, self.hourly_limit, self.max_wait, self.clock = rate, hourly_limit, max_wait, clock
        self._lock = threading.Condition()
        self._answered: deque[float] = deque()  # when each write of the last minute was answered
        self._sent: deque[float] = deque()  # when each write of the last hour was sent
        self._in_flight = 0
        self._paused_until = 0.0
        self._halted = False
        #: Seconds paused for Retry-After.
        self.paused = 0.0
        #: Writes sent this run.
        self.writes = 0

    def before(self, write: bool) -> None:
        """Return when a request may be sent: after any pause the provider asked for and, for a write,
        when the minute has room (the write then takes it). BudgetReached when the hour has none; Halted
        when the run stopped meanwhile."""
        while True:
            with self._lock:
                if self._halted:
                    raise Halted
                now = self.clock.now()
                wait: float | None = self._paused_until - now
                if wait is not None and wait <= 0 and write:
                    wait = self._room(now)
                if wait is None:  # every place in the minute is a write in flight: wait for one to end
                    self._lock.wait(_RECHECK)
                    continue
                if wait <= 0:
                    if write:
                        self._in_flight += 1
                        self.writes += 1
                        if self.hourly_limit is not None:
                            self._sent.append(now)
                    return
            self.clock.sleep(min(wait, _RECHECK))

    def halt(self) -> None:
        """Send nothing more: every request waiting for its place, and every later one, raises Halted."""
        with self._lock:
            self._halted = True
            self._lock.notify_all()

    def after(self, write: bool) -> None:
        """The request was answered (or failed): a write's place in the minute ends a minute from now."""
        if not write:
            return
        with self._lock:
            self._in_flight -= 1
            if self.rate is not None:
                self._answered.append(self.clock.now())
            self._lock.notify_all()

    def pause(self, seconds: float, asked: str) -> None:
        """Hold every request for `seconds` (a Retry-After); DirectoryError when the pauses of the run
        would pass `max_wait`. `asked` says which request was answered how, for that message."""
        with self._lock:
            now = self.clock.now()
            until = now + seconds
            longer = until - max(self._paused_until, now)
            if longer <= 0:
                return
            if self.paused + longer > self.max_wait:
                raise DirectoryError(
                    f"{asked} and asked to wait {seconds:g} s more, past --max-wait {self.max_wait:g} s "
                    f"({self.paused:g} s waited already)"
                )
            self.paused += longer
            self._paused_until = until

    def _room(self, now: float) -> float | None:
        """0 when a write may go now; else the seconds until the minute has room, or None when only a
        write in flight can make room. BudgetReached when the hour is full."""
        if self.hourly_limit is not None:
            _forget(self._sent, now - HOUR)
            if len(self._sent) >= self.hourly_limit:
                # A new run counts afresh, so it is safe only once the last write of this one is an hour old.
                resume = self.clock.wall() + timedelta(seconds=self._sent[-1] + HOUR - now)
                raise BudgetReached(
                    f"the hourly budget of {self.hourly_limit:,} writes (--hourly-limit) is spent; run "
                    f"again from {resume:%Y-%m-%d %H:%M:%S} UTC, an hour after the last of them"
                )
        if self.rate is None:
            return 0.0
        _forget(self._answered, now - MINUTE)
        if len(self._answered) + self._in_flight < self.rate:
            return 0.0
        if not self._answered:
            return None
        return self._answered[0] + MINUTE - now


def _forget(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()
