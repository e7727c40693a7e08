"""The documentation: the README stays a first page, and the YAML reference holds every field.

The YAML reference's tables are generated from the published schemas (the
account files' and the workspace file's) at build time
(docs/_ext/schema_reference.py); here their Markdown is drawn by the same
functions (docs/_ext/schema_tables.py, which needs no Sphinx) for each table
docs/yaml-reference.md asks for, and every field of each schema must be in it.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from reconciler.loading.workspace import read_workspace

sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import schema_tables

README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "yaml-reference.md"
WORKSPACE_PAGE = ROOT / "docs" / "workspace.md"
SCHEMA = schema_tables.load_schema(ROOT / "schemas" / "desired-state.schema.json")
WORKSPACE_SCHEMA = schema_tables.load_schema(ROOT / "schemas" / "workspace.schema.json")
#: `{schema-fields} PLACE`, and the schema it names when not the account files'.
FIELDS_DIRECTIVE = re.compile(r"^```\{schema-fields\} (\S+)\n(?::schema: (\S+)\n)?", re.MULTILINE)


def tables_of_the_page(schema: schema_tables.Schema, name: str = "desired-state") -> str:
    """The Markdown the build puts in place of each `{schema-fields} PLACE` of the YAML reference
    that draws the schema called `name`."""
    directives = FIELDS_DIRECTIVE.findall(REFERENCE.read_text(encoding="utf-8"))
    return "".join(
        schema_tables.fields_table(schema, place)
        for place, named in directives
        if (named or "desired-state") == name
    )


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


def test_every_field_of_the_workspace_schema_is_in_the_yaml_reference() -> None:
    assert schema_tables.SCHEMAS["workspace"] == ROOT / "schemas" / "workspace.schema.json"
    fields = schema_tables.field_paths(WORKSPACE_SCHEMA)
    for expected in ("accounts[].decommission", "shared", "mail.smtp_url"):
        assert expected in fields
    assert sorted(shown_fields(tables_of_the_page(WORKSPACE_SCHEMA, "workspace"))) == sorted(fields)
    assert schema_tables.missing_descriptions(WORKSPACE_SCHEMA) == []


def test_a_field_that_takes_either_of_two_kinds_says_both() -> None:
    row = next(
        line
        for line in schema_tables.fields_table(WORKSPACE_SCHEMA, "accounts[]").splitlines()
        if line.startswith("| `accounts[].actor` |")
    )
    assert "| no | e-mail address or environment variable |" in row


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
        ("teams[]", "teams[].members", "| no | list of: e-mail address or team member until a day |"),
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


def test_the_readme_points_to_the_many_accounts_page() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Many accounts\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/workspace.md" in section and "--changed" in section


def test_the_workspace_page_shows_a_file_that_reads(tmp_path: Path) -> None:
    """The page's example is a workspace file the reader takes, with the modeline the help gives."""
    page = WORKSPACE_PAGE.read_text(encoding="utf-8")
    example = re.search(r"^```yaml\n(# yaml-language-server: .*?)^```$", page, re.MULTILINE | re.DOTALL)
    assert example
    assert example.group(1).startswith("# yaml-language-server: $schema=workspace.schema.json\n")
    file = tmp_path / "reconciler.yaml"
    file.write_text(example.group(1), encoding="utf-8")
    environ = {
        "ACME_STORE": "sqlite:///acme.db",
        "LICENCES_DB_PASSWORD": "pw",
        "RECONCILER_SMTP_URL": "smtp://m",
    }
    workspace = read_workspace(file, environ)
    assert [entry.name for entry in workspace.accounts] == ["acme", "nordwind", "brightwater"]

    # As the example workspace in examples/workspace/ says it, but for the modeline and the comments.
    def lines(text: str) -> list[str]:
        return [
            line.split(" #", 1)[0].rstrip() for line in text.splitlines() if not line.lstrip().startswith("#")
        ]

    assert lines(example.group(1)) == lines((ROOT / "examples" / "workspace" / "reconciler.yaml").read_text())
