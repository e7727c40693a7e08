"""The documentation: the README stays a first page, and the YAML reference holds every field.

The YAML reference's tables are generated from the published schema at build
time (docs/_ext/schema_reference.py); here their Markdown is drawn by the same
functions (docs/_ext/schema_tables.py, which needs no Sphinx) for each table
docs/yaml-reference.md asks for, and every field of the schema must be in it.
"""

from __future__ import annotations

import copy
import re
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import schema_tables

README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "yaml-reference.md"
SCHEMA = schema_tables.load_schema(ROOT / "schemas" / "desired-state.schema.json")


def tables_of_the_page(schema: schema_tables.Schema) -> str:
    """The Markdown the build puts in place of each `{schema-fields} PLACE` of the YAML reference."""
    places = re.findall(r"^```\{schema-fields\} (\S+)$", REFERENCE.read_text(encoding="utf-8"), re.MULTILINE)
    return "".join(schema_tables.fields_table(schema, place) for place in places)


def shown_fields(markdown: str) -> set[str]:
    """The fields a table names: the code span that opens each row."""
    return set(re.findall(r"^\| `([^`]+)` \|", markdown, re.MULTILINE))


def test_the_readme_is_a_first_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"the README has {len(lines)} lines; move the details into docs/"


def test_the_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    demo = "pip install . && bash examples/demo.sh"
    tests = "pip install -e '.[test]' && python -m pytest"
    assert demo in text and tests in text
    assert text.index(demo) < text.index(tests) < text.index("\n## ")


def test_every_field_of_the_schema_is_in_the_yaml_reference() -> None:
    fields = schema_tables.field_paths(SCHEMA)
    for expected in ("contracts[].protect", "unmanaged_users", "teams[].access[].download"):
        assert expected in fields
    assert sorted(shown_fields(tables_of_the_page(SCHEMA))) == sorted(fields)


def test_a_field_added_to_the_schema_shows_in_the_reference() -> None:
    """The check above can fail: a new field of an object the page has a table for is in that table,
    and a new object without a table of its own is missing."""
    schema = copy.deepcopy(SCHEMA)
    schema["$defs"]["serial"]["properties"]["colour"] = {"type": "string", "description": "A colour."}
    schema["$defs"]["user"]["properties"]["desk"] = {
        "type": "object",
        "description": "Where the user sits.",
        "properties": {"floor": {"type": "integer", "description": "The floor."}},
    }
    shown = shown_fields(tables_of_the_page(schema))
    assert "contracts[].serials[].colour" in shown
    assert "users[].desk" in shown and "users[].desk.floor" not in shown
    assert "users[].desk.floor" in schema_tables.field_paths(schema)


def test_every_field_has_a_description_the_reference_shows() -> None:
    assert schema_tables.missing_descriptions(SCHEMA) == []
    schema = copy.deepcopy(SCHEMA)
    del schema["properties"]["unmanaged_users"]["description"]
    assert schema_tables.missing_descriptions(schema) == ["unmanaged_users"]


@pytest.mark.parametrize(
    ("place", "field", "words"),
    [
        ("contracts[]", "contracts[].protect", "| no | `true`/`false` | default `false` | While true"),
        (".", "unmanaged_users", "| no | one of `remove`, `revoke`, `keep` | default `remove` |"),
        ("contracts[].serials[]", "contracts[].serials[].seats", "| yes | whole number | 1 to 1,000,000 |"),
        ("contracts[].serials[]", "contracts[].serials[].number", "| yes | serial number |"),
        ("contracts[].coordinators[].shipping", "contracts[].coordinators[].shipping.country", "[A-Z]{2}"),
        ("teams[]", "teams[].members", "| no | list of: e-mail address |"),
    ],
)
def test_a_row_says_type_required_default_and_values(place: str, field: str, words: str) -> None:
    row = next(
        line
        for line in schema_tables.fields_table(SCHEMA, place).splitlines()
        if line.startswith(f"| `{field}` |")
    )
    assert words in row


def test_the_value_types_say_their_limits_and_words() -> None:
    table = schema_tables.value_types_table(SCHEMA)
    assert "| e-mail address | at most 254 characters | A plain e-mail address:" in table
    assert "| contract number | matches `[0-9]{6,20}` whole |" in table
    assert "{\\|}" in table  # a bar in a description does not end its cell
