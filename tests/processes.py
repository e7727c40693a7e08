"""Ending a server a test started as a process of its own: asked to stop, then made to."""

from __future__ import annotations

import subprocess
from typing import Any

#: How long a server has to stop when asked before it is killed.
GRACE_SECONDS = 5


def end(process: subprocess.Popen[Any]) -> None:
    """Stop `process` (SIGTERM), and kill it (SIGKILL) if it has not ended within GRACE_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
