"""Run the command line on a pseudo-terminal, as a person at a terminal does."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def run_on_terminal(
    args: list[str], env: dict[str, str], prompt: bytes | None = None, answer: bytes = b""
) -> tuple[int, bytes]:
    """Exit code and everything shown of `reconciler ARGS`; `answer` is typed once `prompt` appears with
    the `: ` click writes after a question (typed before that, its echo lands inside the prompt)."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    output, answered = b"", prompt is None
    while True:
        if not answered and prompt is not None and prompt + b": " in output:
            os.write(main, answer)
            answered = True
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    return process.wait(timeout=60), output
