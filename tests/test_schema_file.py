"""The published JSON Schema: valid, self-describing for editors, and used by the examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT
from jsonschema import Draft202012Validator

from reconciler.loading.events import parse
from reconciler.loading.files import Source
from reconciler.loading.schema import schema_document

SCHEMA_PATH = ROOT / "schemas" / "desired-state.schema.json"


def properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, child in node.get("properties", {}).items():
            yield f"{where}.{name}", child
        for key, child in node.items():
            yield from properties(child, f"{where}/{key}")


def test_the_schema_is_draft_2020_12_with_an_id() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]


def test_the_package_reads_the_published_schema() -> None:
    assert schema_document() == json.loads(SCHEMA_PATH.read_text())


def test_every_field_has_a_title_and_a_description() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    missing = []
    for where, field in properties(schema):
        target = schema["$defs"][field["$ref"].removeprefix("#/$defs/")] if "$ref" in field else {}
        for word in ("title", "description"):
            if word not in field and word not in target:
                missing.append(f"{where}: {word}")
    assert missing == []


def test_objects_refuse_unknown_fields() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    objects = [schema, *(d for d in schema["$defs"].values() if d.get("type") == "object")]
    assert all(o["additionalProperties"] is False for o in objects)


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: p.name)
def test_each_example_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert target == SCHEMA_PATH


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: p.name)
def test_each_example_is_valid_on_its_own_against_the_plain_schema(path: Path) -> None:
    # The schema as an editor uses it: jsonschema straight on the published file.
    document = parse(Source(path.name, path.read_bytes())).document
    assert list(Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).iter_errors(document)) == []


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
