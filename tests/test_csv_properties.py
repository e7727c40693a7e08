"""Property: for any account without teams, CSV export then import gives back its users and their access."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from test_properties import apply_state, desired_states, new_store

from reconciler.commands.csv_import import import_csv
from reconciler.core.model import DesiredState, build_state
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.report.csv import export_csv


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=desired_states().map(lambda s: dataclasses.replace(s, teams=())))
def test_csv_export_then_import_gives_the_same_users_and_access(state: DesiredState) -> None:
    with new_store() as store, tempfile.TemporaryDirectory() as folder:
        apply_state(store, state)
        csv_path = Path(folder) / "users.csv"
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(export_csv(store.snapshot()))
        users_path = Path(folder) / "users.yaml"
        import_csv([str(csv_path)], out=str(users_path))
        # The users file alone names serials no file of its own declares: read it without the rules.
        document = parse(Source(users_path.name, users_path.read_bytes())).document
        # The CSV has no column for a directory id: the directory's own file gives it.
        assert build_state([document]).users == tuple(dataclasses.replace(u, id=None) for u in state.users)
