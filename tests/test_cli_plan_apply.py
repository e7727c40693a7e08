"""`init`, `plan`, `apply`, `export` and `users activate` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, RESELLER, ROOT, Backend, WriteYaml, apply_yaml
from terminal import run_on_terminal
from test_plan_integrity import sealed

from reconciler.cli import cli
from reconciler.store import open_store


def test_init_creates_once(backend: Backend) -> None:
    url = backend.new_url()
    first = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", url])
    assert first.exit_code == 0
    assert first.output.startswith(f"Created store {url} (lineage ")
    again = CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", url])
    assert again.exit_code == 1
    assert again.stderr == f"Error: a store already exists at {backend.where(url)}; it was left as it is\n"
    bad = CliRunner().invoke(cli, ["init", "--reseller", "nobody", "--store", backend.new_url()])
    assert (bad.exit_code, bad.stderr) == (1, "Error: not an e-mail address: nobody\n")


def test_plan_needs_an_actor_and_a_store(backend: Backend, store_url: str) -> None:
    no_actor = CliRunner().invoke(cli, ["plan", str(EXAMPLES / "acme"), "--store", store_url])
    assert (no_actor.exit_code, no_actor.stderr) == (
        1,
        "Error: name the person acting with --actor EMAIL or RECONCILER_ACTOR\n",
    )
    empty = backend.new_url()
    no_store = CliRunner().invoke(
        cli, ["plan", str(EXAMPLES / "acme"), "--actor", RESELLER, "--store", empty]
    )
    assert (no_store.exit_code, no_store.stderr) == (
        1,
        f"Error: no store at {backend.where(empty)}; create one with `reconciler init --reseller EMAIL`\n",
    )


def test_plan_of_invalid_yaml_prints_the_problems_and_exits_1(store_url: str, write_yaml: WriteYaml) -> None:
    path = write_yaml("version: 2\n")
    result = CliRunner().invoke(cli, ["plan", str(path), "--actor", RESELLER, "--store", store_url])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"{path}:1:10: version: unsupported version 2; this reconciler reads version 1\nInvalid: 1 error in 1 file.\n"
    )


def test_the_json_plan_has_every_field_of_the_contract(store_url: str, write_yaml: WriteYaml) -> None:
    result = CliRunner().invoke(
        cli, ["plan", str(write_yaml(ACCOUNT)), "--format", "json", "--actor", RESELLER, "--store", store_url]
    )
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["format_version"] == 7
    assert plan["checksum"].startswith("sha256:")
    assert set(plan["store"]) == {"lineage", "revision", "users", "access"}
    assert (plan["store"]["users"], plan["store"]["access"]) == (0, 0)
    assert (plan["max_removal_ratio"], plan["guards"], plan["targets"]) == (0.25, [], [])
    assert plan["unmanaged"] == {"policy": "remove", "users": []}
    assert plan["actor"] == RESELLER
    assert plan["summary"] == {"add": 9, "change": 1, "remove": 0, "blocked": 0}
    assert plan["desired_digest"].startswith("sha256:")
    first = plan["actions"][0]
    assert first == {
        "kind": "user.add",
        "target": {"user": "alice@acme.example"},
        "before": None,
        "after": {"first_name": "Alice", "last_name": "Moreau"},
        "permitted": True,
        "requires": "software_coordinator",
        "notifications": [{"to": "alice@acme.example", "event": "user.invited"}],
    }
    for action in plan["actions"]:
        assert {"kind", "target", "before", "after", "permitted", "requires", "notifications"} <= set(action)


def test_detailed_exitcode(store_url: str, write_yaml: WriteYaml) -> None:
    path = str(write_yaml(ACCOUNT))
    changes = CliRunner().invoke(
        cli, ["plan", path, "--detailed-exitcode", "--actor", RESELLER, "--store", store_url]
    )
    assert changes.exit_code == 2
    apply_yaml(store_url, ACCOUNT)
    none = CliRunner().invoke(
        cli, ["plan", path, "--detailed-exitcode", "--actor", RESELLER, "--store", store_url]
    )
    assert none.exit_code == 0
    assert "No changes. The store matches the desired state." in none.output


def test_a_saved_plan_applies_once_then_is_stale(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    made = CliRunner().invoke(
        cli, ["plan", str(write_yaml(ACCOUNT)), "--out", str(out), "--actor", RESELLER, "--store", store_url]
    )
    assert made.exit_code == 0
    assert f"Saved the plan to {out}; apply it with `reconciler apply {out}`." in made.output
    applied = CliRunner().invoke(
        cli, ["apply", str(out), "--auto-approve", "--actor", RESELLER, "--store", store_url]
    )
    assert applied.exit_code == 0, applied.output
    assert applied.output.endswith(
        "Apply complete: 9 added, 1 changed, 0 removed. The store is at revision 1.\n"
        "Queued 3 e-mails to 3 people. Set RECONCILER_SMTP_URL and run `reconciler notify` to send them, "
        "or read them with `reconciler outbox --full`.\n"
    )
    stale = CliRunner().invoke(
        cli, ["apply", str(out), "--auto-approve", "--actor", RESELLER, "--store", store_url]
    )
    assert stale.exit_code == 1
    assert stale.stderr == (
        "Error: the plan was made at revision 0 but the store is at revision 1; nothing was applied: "
        "run `reconciler plan` again\n"
    )
    assert open_store(store_url).snapshot().revision == 1


def test_a_saved_plan_is_for_its_actor_only(store_url: str, write_yaml: WriteYaml, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    CliRunner().invoke(
        cli, ["plan", str(write_yaml(ACCOUNT)), "--out", str(out), "--actor", RESELLER, "--store", store_url]
    )
    other = CliRunner().invoke(
        cli, ["apply", str(out), "--auto-approve", "--actor", "alice@acme.example", "--store", store_url]
    )
    assert other.exit_code == 1
    assert "the plan was made for orders@cadpartners.example, not alice@acme.example" in other.stderr


def test_a_broken_plan_file_is_named(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(sealed({"format_version": 4}))  # its checksum right, so that its fields are read
    result = CliRunner().invoke(
        cli, ["apply", str(path), "--auto-approve", "--actor", RESELLER, "--store", store_url]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: a saved plan with a missing or broken field")


def test_a_plan_saved_by_an_older_reconciler_is_refused_with_the_fix(store_url: str, tmp_path: Path) -> None:
    # Version 1 knew no teams, and its access records no sources: it cannot be applied as it was meant.
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": 1, "actions": []}')
    result = CliRunner().invoke(
        cli, ["apply", str(path), "--auto-approve", "--actor", RESELLER, "--store", store_url]
    )
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {path}: a plan of format version 1, and this reconciler applies versions 4, 5, 6 and 7 only; "
        "make it again with `reconciler plan --out`\n",
    )


def test_apply_asks_first_and_needs_auto_approve_without_a_terminal(
    store_url: str, write_yaml: WriteYaml
) -> None:
    result = CliRunner().invoke(
        cli, ["apply", str(write_yaml(ACCOUNT)), "--actor", RESELLER, "--store", store_url]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: not applied: apply asks before changing anything; pass --auto-approve to run unattended\n"
    )
    assert open_store(store_url).snapshot().revision == 0


@pytest.mark.parametrize(("answer", "revision"), [(b"y\n", 1), (b"n\n", 0)])
def test_apply_on_a_terminal_applies_only_on_yes(
    store_url: str, write_yaml: WriteYaml, answer: bytes, revision: int
) -> None:
    path = write_yaml(ACCOUNT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECONCILER_STORE": store_url, "RECONCILER_ACTOR": RESELLER}
    code, _ = run_on_terminal(
        ["apply", str(path)], env, prompt=b"Apply these 10 actions? [y/N]", answer=answer
    )
    assert code == (0 if revision else 1)
    assert open_store(store_url).snapshot().revision == revision


def test_a_blocked_plan_exits_3_and_applies_nothing(store_url: str, write_yaml: WriteYaml) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "apply",
            str(write_yaml(ACCOUNT)),
            "--auto-approve",
            "--actor",
            "alice@acme.example",
            "--store",
            store_url,
        ],
    )
    assert result.exit_code == 3
    assert "Plan: 9 to add, 1 to change, 0 to remove, 10 blocked." in result.output
    assert open_store(store_url).snapshot().revision == 0


def test_export_round_trips_and_quotes_what_yaml_would_misread(store_url: str, write_yaml: WriteYaml) -> None:
    tricky = (
        ACCOUNT.replace("country: US", 'country: "NO"')
        .replace("last_name: Smith", 'last_name: "on"')
        .replace("first_name: Bob", 'first_name: "0o17"')
    )
    apply_yaml(store_url, tricky)
    result = CliRunner().invoke(cli, ["export", "--store", store_url])
    assert result.exit_code == 0
    assert 'country: "NO"' in result.output
    assert 'last_name: "on"' in result.output
    assert 'first_name: "0o17"' in result.output
    assert '- number: "110001234567"' in result.output
    exported = write_yaml(result.output, "exported.yaml")
    replan = CliRunner().invoke(
        cli, ["plan", str(exported), "--detailed-exitcode", "--actor", RESELLER, "--store", store_url]
    )
    assert replan.exit_code == 0, replan.output


def test_export_of_one_contract(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    result = CliRunner().invoke(cli, ["export", "--contract", "110001234567", "--store", store_url])
    assert result.exit_code == 0
    assert "carol@acme.example" in result.output
    missing = CliRunner().invoke(cli, ["export", "--contract", "999999", "--store", store_url])
    assert (missing.exit_code, missing.stderr) == (1, "Error: no contract 999999 in the store\n")


def test_users_activate(store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    result = CliRunner().invoke(cli, ["users", "activate", "Carol@acme.example", "--store", store_url])
    assert (result.exit_code, result.output) == (0, "carol@acme.example is active.\n")
    assert open_store(store_url).snapshot().user_status["carol@acme.example"] == "active"


def every_command(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of the command line, as the words that run it."""
    found: list[tuple[str, ...]] = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        if isinstance(command, click.Group):
            found += every_command(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help_with_an_example_and_is_in_the_docs() -> None:
    """docs/commands.md generates its reference from click itself (sphinx-click: the whole group,
    nested), which lists every command that is not hidden; a command is in that reference or in the
    page's table at a glance, which must name every command too."""
    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    generated = ".. click:: reconciler.cli:cli\n   :prog: reconciler\n   :nested: full\n"
    assert generated in page, "docs/commands.md must generate the reference of the whole group"
    glance = page.split("## Reference", 1)[0]
    commands = every_command()
    assert len(commands) >= 11
    in_the_table = [words for words in commands if f"`reconciler {' '.join(words)}" in glance]
    assert len(in_the_table) >= 15, "the table at a glance lost commands it had"
    for words in commands:
        result = CliRunner().invoke(cli, [*words, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, words
        assert words in in_the_table, f"{words} is missing from the table at a glance in docs/commands.md"


def test_a_bug_is_one_line_and_its_traceback_shows_only_with_debug(
    store_url: str, write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("reconciler.commands.operations.make_plan", broken)
    args = ["plan", str(write_yaml(ACCOUNT)), "--actor", RESELLER, "--store", store_url]
    quiet = CliRunner().invoke(cli, args)
    assert (quiet.exit_code, quiet.stderr) == (
        1,
        "Error: internal error (KeyError: 'boom'); this is a bug in reconciler. "
        "Run again with --debug for the traceback, and report it.\n",
    )
    loud = CliRunner().invoke(cli, ["--debug", *args])
    assert loud.exit_code == 1
    assert loud.stderr.startswith("Traceback (most recent call last):")
    assert "KeyError: 'boom'" in loud.stderr


def test_debug_shows_the_traceback_of_a_user_error_too(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_DEBUG", "1")
    result = CliRunner().invoke(
        cli, ["apply", "missing-plan.json", "--auto-approve", "--actor", RESELLER, "--store", store_url]
    )
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    # No file is no saved plan (a saved plan is known by its content): the YAML reader says what is wrong.
    assert result.stderr.endswith(
        "missing-plan.json: cannot read: No such file or directory\nInvalid: 1 error in 1 file.\n"
    )


def test_a_large_apply_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    from generate import write_account

    path = tmp_path / "large.yaml"
    with path.open("w") as out:
        write_account(out, 6_000)  # 1.4 MB of YAML, 25,000 actions: each over a second's work
    url = f"sqlite:///{tmp_path / 'large.db'}"
    CliRunner().invoke(cli, ["init", "--reseller", RESELLER, "--store", url])
    env = {**os.environ, "RECONCILER_STORE": url, "RECONCILER_ACTOR": RESELLER}
    piped = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(path)], capture_output=True, text=True, env=env
    )
    assert "Reading the YAML" not in piped.stderr
    code, output = run_on_terminal(["apply", str(path), "--auto-approve"], env)
    assert code == 0
    assert b"Reading the YAML" in output
    assert b"Applying" in output and b"100%" in output
    assert b"The store is at revision 1." in output
    # Each bar ends its line when its work is done: the plan and the summary start lines of their own.
    for after_a_bar in (b"Plan for store", b"Apply complete"):
        assert output[output.index(after_a_bar) - 1 : output.index(after_a_bar)] == b"\n", after_a_bar


def test_a_saved_plan_edited_to_permit_a_blocked_action_is_refused(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    apply_yaml(store_url, ACCOUNT)
    out = tmp_path / "plan.json"
    more_seats = ACCOUNT.replace("seats: 1\n", "seats: 4\n")
    made = CliRunner().invoke(
        cli,
        [
            "plan",
            str(write_yaml(more_seats)),
            "--out",
            str(out),
            "--actor",
            "alice@acme.example",
            "--store",
            store_url,
        ],
    )
    assert made.exit_code == 3  # only the reseller changes seats
    forged = json.loads(out.read_text())
    for action in forged["actions"]:
        action["permitted"], action["requires"] = True, "contract_manager"
        action.pop("reason", None)
    forged["summary"]["blocked"] = 0
    del forged["checksum"]
    out.write_text(sealed(forged))  # its checksum worked out again, as anyone could without a key
    result = CliRunner().invoke(
        cli, ["apply", str(out), "--auto-approve", "--actor", "alice@acme.example", "--store", store_url]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: the saved plan does not match the store: it marks serial.seats_change "
    )
    assert (
        "the store makes it blocked (needs reseller); the file was changed after it was made" in result.stderr
    )
    assert [s.seats for c in open_store(store_url).snapshot().state.contracts for s in c.serials] == [2, 1]


def test_a_saved_plan_needs_the_actor_it_was_made_for(
    store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    CliRunner().invoke(
        cli, ["plan", str(write_yaml(ACCOUNT)), "--out", str(out), "--actor", RESELLER, "--store", store_url]
    )
    nobody = CliRunner().invoke(cli, ["apply", str(out), "--auto-approve", "--store", store_url])
    assert (nobody.exit_code, nobody.stderr) == (
        1,
        "Error: name the person acting with --actor EMAIL or RECONCILER_ACTOR\n",
    )
    bad = CliRunner().invoke(
        cli, ["apply", str(out), "--auto-approve", "--actor", "x\nBcc: y", "--store", store_url]
    )
    assert bad.exit_code == 1 and "is not an e-mail address" in bad.stderr


def test_each_command_is_found_in_the_module_named_for_it_and_only_that_is_imported() -> None:
    """Commands are imported when they run (`MODULES` in reconciler/cli/app.py): a command added
    to a module but not named there would be missing until something listed every command."""
    code = (
        "import sys, click; from reconciler.cli import cli; from reconciler.cli.app import MODULES\n"
        "ctx = click.Context(cli)\n"
        "before = {m for m in sys.modules if m.startswith('reconciler.cli.')}\n"
        "for name in sorted(MODULES):\n"
        "    assert cli.get_command(ctx, name) is not None, name\n"
        "print(sorted(before)); print(sorted(cli.commands) == sorted(MODULES))\n"
        "import reconciler.cli as package, pkgutil, importlib\n"
        "for info in pkgutil.iter_modules(package.__path__): importlib.import_module('reconciler.cli.' + info.name)\n"
        "print(sorted(cli.commands) == sorted(MODULES))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        "['reconciler.cli.app', 'reconciler.cli.github']",
        "True",
        "True",
    ]
