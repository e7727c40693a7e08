"""Who holds a store's apply lock, shared by every backend.

Neither SQLite's write lock nor a PostgreSQL advisory lock says who holds
it, so the holder records itself beside the lock once it has it, and a
waiter that gives up names them: who, running what, since when.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.store.urls import redact_url

DEFAULT_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Holder:
    """The process that holds, or held, an apply lock."""

    actor: str
    host: str
    pid: int
    command: str
    since: str

    @classmethod
    def this_process(cls, actor: str) -> Holder:
        """This process, about to apply as `actor`; its command line is redacted."""
        # Named `reconciler` however it was started (console script, python -m, a test runner).
        argv = ["reconciler", *sys.argv[1:]]
        return cls(
            actor=actor,
            host=socket.gethostname(),
            pid=os.getpid(),
            command=redact_url(" ".join(argv)),
            since=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def describe(self) -> str:
        return f"{self.actor} on {self.host} (pid {self.pid}) running `{self.command}` since {self.since}"


def locked_message(where: str, holder: Holder | str | None, timeout: float) -> str:
    """Why an apply gave up waiting for the lock, naming the holder as well as it is known."""
    if isinstance(holder, Holder):
        held = f"another apply holds it: {holder.describe()}"
    elif holder:
        held = f"another session holds it: {holder}"
    else:
        held = "another writer holds it"
    waited = f"gave up after {timeout:g} s" if timeout > 0 else "did not wait (--lock-timeout 0)"
    return (
        f"the store {redact_url(where)} is locked: {held}; {waited}, nothing was applied. "
        "Try again when it is done, or wait longer with --lock-timeout SECONDS"
    )


def write_holder_file(path: Path, holder: Holder) -> None:
    """Record `holder` beside a store file, for stores whose lock cannot carry it.

    Written aside and renamed into place, so a reader never finds half a record. Where it cannot be
    written (a full disk), nothing of it is left and the apply goes on: the record only names the
    holder to an apply that waits (which otherwise says "another writer"), and the apply fails, if it
    must, for its own reason, in the database's words.
    """
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        partial.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        with suppress(OSError):
            partial.unlink(missing_ok=True)


def read_holder_file(path: Path) -> Holder | None:
    """The holder recorded at `path`; None if missing, unreadable, or a process of this host that is gone."""
    try:
        holder = Holder(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if holder.host == socket.gethostname() and not _alive(holder.pid):
        return None
    return holder


def remove_holder_file(path: Path, holder: Holder) -> None:
    """Remove the record at `path` if it is still `holder`'s."""
    if read_holder_file(path) == holder:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
