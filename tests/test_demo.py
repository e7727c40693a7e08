"""The README's first command: the demo runs every step of the main job, for real, and says what it did."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES, ROOT


def test_the_demo_plans_applies_mails_and_reports_the_example(tmp_path: Path) -> None:
    # The demo runs `reconciler` from PATH, as a newcomer's shell does after `pip install .`.
    scripts = Path(sys.executable).parent
    assert shutil.which("reconciler", path=str(scripts)), "reconciler is not installed beside this Python"
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    for name in ("RECONCILER_STORE", "RECONCILER_ACTOR", "RECONCILER_SMTP_URL", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    done = subprocess.run(
        ["bash", str(EXAMPLES / "demo.sh")], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    steps = re.findall(r"\$ (reconciler [a-z]+)", out)
    assert steps == [
        "reconciler validate",
        "reconciler init",
        "reconciler plan",
        "reconciler apply",
        "reconciler outbox",
        "reconciler outbox",
        "reconciler plan",
        "reconciler drift",
        "reconciler usage",
        "reconciler show",
        "reconciler export",
    ]
    assert "Plan: 47 to add, 4 to change, 0 to remove, 0 blocked." in out
    assert "No changes. The store matches the desired state." in out  # the second plan
    assert "No drift. The store matches git." in out
    assert "Subject: You are invited to your company's licence account" in out  # Carol's e-mail, in full
    assert "Renewal due within 180 days (1):" in out
    page = Path(re.search(r"The plan as a page, [^:]+: (\S+)", out).group(1))  # type: ignore[union-attr]
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "47 to add" in html
    assert 'ends: "2027-03-31"' not in out  # the export shown is the second contract, which has no end date
