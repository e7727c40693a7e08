"""The published JSON Schemas, the account files' and the workspace file's: valid, self-describing for
editors, used by the examples, printed by `reconciler schema` (`--workspace`) and named by the
modeline of every file reconciler writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, EXAMPLES, ROOT
from jsonschema import Draft202012Validator

from reconciler.cli import cli
from reconciler.core.model import build_state
from reconciler.core.workspace import WORKSPACE_FILE
from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.schema import schema_bytes, schema_document
from reconciler.report.yaml import MODELINE, export_yaml

SCHEMA_PATH = ROOT / "schemas" / "desired-state.schema.json"
WORKSPACE_SCHEMA_PATH = ROOT / "schemas" / "workspace.schema.json"
BOTH = pytest.mark.parametrize("path", [SCHEMA_PATH, WORKSPACE_SCHEMA_PATH], ids=lambda p: p.name)
#: The examples' desired-state files; the workspace example's reconciler.yaml has a schema of its own.
ACCOUNT_FILES = sorted(path for path in EXAMPLES.rglob("*.yaml") if path.name != WORKSPACE_FILE)
WORKSPACE_FILES = sorted(EXAMPLES.rglob(WORKSPACE_FILE))


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            yield f"{where}.{name}", child
        for key, child in node.items():
            yield from properties(child, f"{where}/{key}")


@BOTH
def test_the_schema_is_draft_2020_12_with_an_id(path: Path) -> None:
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


def test_the_package_reads_the_published_schema() -> None:
    assert schema_document() == json.loads(SCHEMA_PATH.read_text())
    assert schema_bytes(WORKSPACE_SCHEMA_PATH.name) == WORKSPACE_SCHEMA_PATH.read_bytes()


@BOTH
def test_every_field_has_a_title_and_a_description(path: Path) -> None:
    schema = json.loads(path.read_text())
    missing = []
    for where, field in properties(schema):
        target = schema["$defs"][field["$ref"].removeprefix("#/$defs/")] if "$ref" in field else {}
        for word in ("title", "description"):
            if word not in field and word not in target:
                missing.append(f"{where}: {word}")
    assert missing == []


@BOTH
def test_objects_refuse_unknown_fields(path: Path) -> None:
    schema = json.loads(path.read_text())
    objects = [schema, *(d for d in schema["$defs"].values() if d.get("type") == "object")]
    assert all(o["additionalProperties"] is False for o in objects)


def named_schema(path: Path) -> Path:
    """The schema a file's modeline names, from the file's folder."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    return (path.parent / first.split("$schema=", 1)[1]).resolve()


def test_the_examples_are_found() -> None:
    assert len(ACCOUNT_FILES) >= 9 and len(WORKSPACE_FILES) == 1, (ACCOUNT_FILES, WORKSPACE_FILES)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        *((path, SCHEMA_PATH) for path in ACCOUNT_FILES),
        *((path, WORKSPACE_SCHEMA_PATH) for path in WORKSPACE_FILES),
    ],
    ids=lambda p: str(p.relative_to(EXAMPLES)) if p.is_relative_to(EXAMPLES) else p.name,
)
def test_each_example_points_editors_at_its_schema_and_is_valid_against_it(path: Path, schema: Path) -> None:
    assert named_schema(path) == schema
    # The schema as an editor uses it: jsonschema straight on the published file.
    document = parse(Source(path.name, path.read_bytes())).document
    assert list(Draft202012Validator(json.loads(schema.read_text())).iter_errors(document)) == []


TEAM = {
    "name": "Design Studio",
    "description": "Architects in Oslo",
    "members": ["carol@acme.example", "dana@acme.example"],
    "access": [{"serial": "399-12345678", "download": True}],
}


@pytest.mark.parametrize(
    ("team", "valid"),
    [
        (TEAM, True),
        ({"name": "Design Studio"}, True),
        ({k: v for k, v in TEAM.items() if k != "name"}, False),
        ({**TEAM, "colour": "red"}, False),
        ({**TEAM, "members": "carol@acme.example"}, False),
        ({**TEAM, "members": ["carol"]}, False),
        ({**TEAM, "access": [{"serial": "399-12345678", "seats": 2}]}, False),
        ({**TEAM, "description": ""}, False),
    ],
    ids=[
        "whole",
        "name-only",
        "no-name",
        "unknown-field",
        "members-not-a-list",
        "bad-member",
        "bad-access",
        "empty",
    ],
)
def test_a_team_is_a_name_with_an_optional_description_members_and_access(
    team: dict[str, Any], valid: bool
) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    assert validator.is_valid({"version": 1, "teams": [team]}) is valid


# --- reconciler schema, and the modeline beside it -------------------------------------------------


def test_schema_prints_the_published_schema_byte_for_byte(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.stdout_bytes == SCHEMA_PATH.read_bytes() == schema_bytes()


def test_schema_out_writes_that_file_and_nothing_else(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "desired-state.schema.json"
    result = runner.invoke(cli, ["schema", "--out", str(out)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", f"Wrote the schema to {out}.\n")
    assert out.read_bytes() == SCHEMA_PATH.read_bytes()
    assert list(tmp_path.iterdir()) == [out]


def test_schema_out_into_a_missing_folder_is_one_line_and_makes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "account" / "desired-state.schema.json"
    result = runner.invoke(cli, ["schema", "--out", str(out)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot write the schema to {out}: no folder {out.parent}; create it first\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_exported_file_names_the_schema_that_schema_out_puts_beside_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    state = build_state([parse(Source("account.yaml", ACCOUNT.encode())).document])
    folder = tmp_path / "account"
    folder.mkdir()
    exported = folder / "account.yaml"
    exported.write_text(export_yaml(state), encoding="utf-8")
    assert runner.invoke(cli, ["schema", "--out", str(folder / "desired-state.schema.json")]).exit_code == 0
    first = exported.read_text(encoding="utf-8").splitlines()[0]
    assert first + "\n" == MODELINE == "# yaml-language-server: $schema=desired-state.schema.json\n"
    named = folder / first.split("$schema=", 1)[1]
    assert named.read_bytes() == SCHEMA_PATH.read_bytes()


# --- reconciler schema --workspace: the workspace file's schema ---------------------------------------


def test_schema_workspace_prints_the_workspace_schema_byte_for_byte(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "--workspace"])
    assert result.exit_code == 0
    assert (
        result.stdout_bytes == WORKSPACE_SCHEMA_PATH.read_bytes() == schema_bytes(WORKSPACE_SCHEMA_PATH.name)
    )
    assert result.stdout_bytes != SCHEMA_PATH.read_bytes()


def test_schema_workspace_out_writes_it_beside_the_workspace_file_its_modeline_names(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "workspace.schema.json"
    result = runner.invoke(cli, ["schema", "--workspace", "--out", str(out)])
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "",
        f"Wrote the workspace schema to {out}.\n",
    )
    assert out.read_bytes() == WORKSPACE_SCHEMA_PATH.read_bytes()
    assert list(tmp_path.iterdir()) == [out]
    # The modeline the help gives for reconciler.yaml names the file just written, from its folder.
    help_text = runner.invoke(cli, ["schema", "--help"]).stdout
    modeline = "# yaml-language-server: $schema=workspace.schema.json"
    assert modeline in help_text and "reconciler schema --workspace --out workspace.schema.json" in help_text
    assert tmp_path / modeline.split("$schema=", 1)[1] == out
