"""GitHub Actions: append a markdown report to the job summary when running there.

GitHub sets GITHUB_STEP_SUMMARY to a file; what a step appends to it is shown
on the run's summary page (up to 1 MiB per step). Elsewhere this does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Append `markdown` to the job summary, if there is one; returns a warning when it cannot."""
    path = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown.rstrip("\n") + "\n\n")
    except OSError as error:
        return f"could not add the report to the job summary {path}: {error.strerror}"
    return None
