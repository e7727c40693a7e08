"""The outbox as a Maildir, for people without an SMTP server: any mail client opens it.

Each message gets a file named after its Message-ID, so writing the queue
twice gives the same folder, not two copies; the file holds the bytes a
server receives when `notify` sends it. The messages stay queued: the
Maildir is a way to read them, not a delivery.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from reconciler.core.errors import InputError
from reconciler.core.records import OutboxEntry
from reconciler.notify.mime import to_email


def write_maildir(folder: Path, entries: Iterable[OutboxEntry]) -> int:
    """Write `entries` into `folder` (created as a Maildir when missing); returns how many were new."""
    try:
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot make a Maildir at {folder}: {error.strerror}") from None
    written = 0
    for entry in entries:
        name = hashlib.sha256(entry.message.message_id.encode()).hexdigest()[:32] + ".reconciler"
        if (folder / "new" / name).exists() or any((folder / "cur").glob(name + "*")):
            continue
        staged = folder / "tmp" / name
        staged.write_bytes(to_email(entry.message, entry.created_at).as_bytes())
        os.replace(staged, folder / "new" / name)  # Maildir's rule: appear in new/ whole or not at all
        written += 1
    return written
