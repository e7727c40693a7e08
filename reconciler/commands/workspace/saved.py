"""A plan saved for many accounts is a folder: `accounts.json` says which accounts were planned
(each one's plan file, or why none), and each plan is `NAME.json` as `plan --out` writes it.
Applying the folder marks each account applied (`NAME.applied`) once its transaction has
committed, so applying the folder again applies only what is left; the store would refuse a plan
applied twice anyway, as stale.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.core.errors import InputError
from reconciler.core.plan import Plan
from reconciler.core.workspace import AccountRun, AccountStatus

#: The saved plans' index in a folder written by `plan --out DIR` over several accounts.
INDEX_FILE = "accounts.json"
INDEX_VERSION = 1
#: What marks an account of a saved folder applied: `NAME.applied`, beside its plan `NAME.json`.
APPLIED_SUFFIX = ".applied"
#: An account's name as the workspace schema allows it.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def prepare_folder(out: Path) -> None:
    """Make `out` ready for a new set of plans: created, or emptied of an earlier set; never a folder that
    holds anything else."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file is there; a plan of several accounts is saved in a folder")
    out.mkdir(parents=True, exist_ok=True)
    ours = {INDEX_FILE}
    index = out / INDEX_FILE
    if index.exists():
        for entry in read_index(out)["accounts"]:
            name = entry["name"]
            ours |= {f"{name}.json", f"{name}{APPLIED_SUFFIX}"}
    others = sorted(path.name for path in out.iterdir() if path.name not in ours)
    if others:
        raise InputError(
            f"--out {out}: the folder holds {', '.join(others[:3])}{' and more' if len(others) > 3 else ''}, "
            "which is not a saved plan of these accounts; name an empty or new folder"
        )
    for name in sorted(ours):
        (out / name).unlink(missing_ok=True)


def write_index(out: Path, runs: Sequence[AccountRun[Plan]]) -> None:
    accounts: list[dict[str, Any]] = []
    for run in runs:
        entry: dict[str, Any] = {"name": run.name, "status": run.status.value}
        if run.result is not None:
            entry["plan"] = f"{run.name}.json"
        if run.reason:
            entry["reason"] = run.reason
        accounts.append(entry)
    text = json.dumps({"format_version": INDEX_VERSION, "accounts": accounts}, indent=2, sort_keys=True)
    (out / INDEX_FILE).write_text(text + "\n", encoding="utf-8")


def read_index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise InputError(f"{path} is not a saved plan's index: {error}") from None
    if not isinstance(data, dict) or data.get("format_version") != INDEX_VERSION:
        raise InputError(f"{path} is not a saved plan's index this reconciler reads (format_version 1)")
    accounts = data.get("accounts")
    if not isinstance(accounts, list) or not all(_index_entry(entry) for entry in accounts):
        raise InputError(
            f"{path} is not a saved plan's index: its `accounts` must be a list of {{name, status, plan}}, "
            "as `plan --out DIR` writes it; plan the accounts again into a new folder"
        )
    return data


def _index_entry(entry: Any) -> bool:
    """Whether `entry` is an account of a saved index as `write_index` writes it: a name, a status it
    knows, the plan's file name beside the index (if any) and the reason (if any)."""
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and ACCOUNT_NAME.fullmatch(entry["name"]) is not None  # a file name in the folder, nowhere else
        and entry.get("status", "error") in {status.value for status in AccountStatus}
        and (entry.get("plan") is None or entry.get("plan") == f"{entry['name']}.json")
        and isinstance(entry.get("reason", ""), str)
    )


def is_saved_folder(paths: Sequence[str]) -> bool:
    """Whether `apply` was given a folder of plans saved by `plan --out DIR` over several accounts."""
    return len(paths) == 1 and (Path(paths[0]) / INDEX_FILE).is_file()
