"""Plan, apply, drift, usage and notify over many accounts of a workspace, each account on its own.

Each account is read, planned and applied by itself, with its own store and
its own transaction: one account's bad file, refused plan or unreachable
store is that account's outcome (an AccountRun with its reason), and the
others go on. With `workers` above one, accounts run in that many processes,
each opening its own store (one PostgreSQL connection per account at a time).

    choosing.py  which accounts (the selection flags) and each one's store, actor and mail settings
    running.py   one piece of work on each account, in this process or in spawned ones
    planning.py  plan, and the empty-account guard (`decommission: true`)
    saved.py     a folder of saved plans: its index, and the marks of the accounts applied
    applying.py  apply, each account in a transaction of its own, asked about once
    reading.py   drift, usage and notify
"""

from reconciler.commands.workspace.applying import apply_workspace
from reconciler.commands.workspace.choosing import (
    AccountJob,
    Chosen,
    Mailing,
    Selection,
    Settings,
    choose,
    environment,
    settle,
)
from reconciler.commands.workspace.planning import plan_run, plan_workspace
from reconciler.commands.workspace.reading import drift_workspace, notify_workspace, usage_workspace
from reconciler.commands.workspace.running import guarded, run_each
from reconciler.commands.workspace.saved import APPLIED_SUFFIX, INDEX_FILE, is_saved_folder

__all__ = [
    "APPLIED_SUFFIX",
    "INDEX_FILE",
    "AccountJob",
    "Chosen",
    "Mailing",
    "Selection",
    "Settings",
    "apply_workspace",
    "choose",
    "drift_workspace",
    "environment",
    "guarded",
    "is_saved_folder",
    "notify_workspace",
    "plan_run",
    "plan_workspace",
    "run_each",
    "settle",
    "usage_workspace",
]
