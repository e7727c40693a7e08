"""The one rule for a real part a test needs (a PostgreSQL server, a browser, a SCIM server): where it
is missing, the test skips on a laptop, and fails when CI is set, so that CI never passes by skipping."""

from __future__ import annotations

import os

import pytest


def require(problem: str, needed_by: str, hint: str) -> None:
    """Skip (on a laptop) or fail (when CI is set) if `problem` is not empty.

    `problem` says what is missing, `needed_by` which tests need it ("the
    PostgreSQL half of the suite"), and `hint` how to get it.
    """
    if problem and os.environ.get("CI"):
        pytest.fail(f"{problem}; CI is set, so {needed_by} must run", pytrace=False)
    if problem:
        pytest.skip(f"{problem}; {hint}")
