"""The engine: desired state and the store's snapshot in, a judged and ordered plan (or a drift) out.

Pure: it never reads files, the store, the reports or the command line.

    diff.py         the changes, record by record
    permissions.py  who may do each one (R10: against the store before the plan)
    recipients.py   who hears of each one (R9)
    ordering.py     the dependency graph and its topological order
    guards.py       the removal guard
    targets.py      --target: part of the account, with what it needs
    unmanaged.py    users the store has and the YAML does not
    units.py        a team change and the access it causes: applied or held back together
    requests.py     what waits on a blocked action; blocked actions, addressed to whoever may perform them
    planner.py      all of the above, in order: make_plan
    drift.py        the same diff, read as what changed outside git
    integrity.py    a saved plan against the store: its order, every before, what each action needs
    usage.py        seats and renewals: how each serial is used, when each contract ends
"""
