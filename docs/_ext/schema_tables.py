"""The YAML reference's tables, drawn from the published JSON Schema.

Pure functions, no Sphinx: `schema_reference.py` puts their Markdown into the
pages at build time, and tests/test_docs.py checks that every field of the
schema is in them. A field is written as the path a user reads in an error
message, `contracts[].serials[].seats`; a place is the path of an object
whose fields one table lists (`contracts[]`; the top level is `.`).

Two schemas are published: the account files' (`desired-state`, the default)
and the workspace file's (`workspace`, reconciler.yaml); SCHEMAS names them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA_FOLDER = Path(__file__).resolve().parents[2] / "schemas"
#: The published schemas by the name a page gives them: the account files' first, the default.
SCHEMAS = {
    "desired-state": SCHEMA_FOLDER / "desired-state.schema.json",
    "workspace": SCHEMA_FOLDER / "workspace.schema.json",
}
SCHEMA_PATH = SCHEMAS["desired-state"]
TOP = "."
#: Each pattern ends in this lookahead, the end of the text in every regex dialect (the schema's
#: `$comment` on `email` says why); in words it is just "the end".
END_OF_TEXT = "(?![\\s\\S])"
#: A pattern longer than this is told in its description's words only.
SHORT_PATTERN = 40

Schema = dict[str, Any]
#: A plain JSON type, as the tables say it.
TYPE_WORDS = {"boolean": "`true`/`false`", "integer": "whole number", "string": "text", "object": "mapping"}


def load_schema(path: Path = SCHEMA_PATH) -> Schema:
    loaded: Schema = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def resolve(schema: Schema, node: Schema) -> Schema:
    """`node` with its `$ref` put in place: the target's keywords, the node's own winning."""
    if "$ref" not in node:
        return node
    target = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return {**resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}


def join(place: str, name: str) -> str:
    return name if place == TOP else f"{place}.{name}"


def places(schema: Schema) -> dict[str, Schema]:
    """Every object of the document by its place, the top level first, in the schema's order."""
    found: dict[str, Schema] = {}

    def walk(place: str, node: Schema) -> None:
        found[place] = node
        for name, field in node.get("properties", {}).items():
            field = resolve(schema, field)
            if field.get("type") == "object":
                walk(join(place, name), field)
            elif field.get("type") == "array":
                # A list of records, or of values of which one kind is a record (a team's members: an
                # e-mail, or `{email, expires}`): the record's fields have a place of their own.
                items = resolve(schema, field["items"])
                kinds: list[Schema] = items.get("oneOf") or items.get("anyOf") or []
                choices = [items, *(resolve(schema, choice) for choice in kinds)]
                record = next((choice for choice in choices if choice.get("type") == "object"), None)
                if record is not None:
                    walk(join(place, name) + "[]", record)

    walk(TOP, schema)
    return found


def field_paths(schema: Schema) -> list[str]:
    """Every field of the document, by its path: what the reference must show."""
    return [
        join(place, name) for place, node in places(schema).items() for name in node.get("properties", {})
    ]


def _between(low: int | None, high: int | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"{low:,} to {high:,}{unit}"
    if high is not None:
        return f"at most {high:,}{unit}"
    return "" if low is None else f"at least {low:,}{unit}"


def yaml_value(value: Any) -> str:
    """A value as it is written in the YAML: `false`, `1`, `remove`."""
    return value if isinstance(value, str) else json.dumps(value)


def type_in_words(schema: Schema, field: Schema) -> str:
    """What a field holds, as a reader says it: a value type's title, `true`/`false`, a list of…"""
    if "$ref" in field:
        return str(schema["$defs"][field["$ref"].removeprefix("#/$defs/")]["title"]).lower()
    choices = field.get("anyOf", field.get("oneOf"))
    if choices:
        return " or ".join(type_in_words(schema, choice) for choice in choices)
    if "const" in field:
        return f"`{yaml_value(field['const'])}`"
    if "enum" in field:
        return "one of " + ", ".join(f"`{value}`" for value in field["enum"])
    kind = field.get("type")
    if kind == "array":
        items = field["items"]
        inner = resolve(schema, items)
        what = inner.get("title", type_in_words(schema, items)).lower()
        return f"list of: {what}"
    return TYPE_WORDS.get(str(kind), str(kind))


def limits_in_words(field: Schema) -> str:
    """The field's own bounds, format and (short) pattern, in words."""
    said: list[str] = []
    said.append(_between(field.get("minimum"), field.get("maximum"), ""))
    said.append(_between(field.get("minLength"), field.get("maxLength"), " characters"))
    if "format" in field:
        said.append(f"format `{field['format']}`")
    pattern = field.get("pattern")
    if isinstance(pattern, str) and len(pattern) <= SHORT_PATTERN:
        said.append(f"matches `{pattern.removesuffix(END_OF_TEXT).removeprefix('^')}` whole")
    if "default" in field:
        said.append(f"default `{yaml_value(field['default'])}`")
    return "; ".join(words for words in said if words)


def cell(text: str) -> str:
    """Text for one cell of a Markdown table: one line, its bars escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def fields_table(schema: Schema, place: str) -> str:
    """The Markdown table of the fields of the object at `place`."""
    node = places(schema)[place]
    required = set(node.get("required", []))
    rows = [
        "| field | required | type | values | description |",
        "|---|---|---|---|---|",
    ]
    for name, raw in node.get("properties", {}).items():
        field = resolve(schema, raw)
        rows.append(
            "| "
            + " | ".join(
                cell(text)
                for text in (
                    f"`{join(place, name)}`",
                    "yes" if name in required else "no",
                    type_in_words(schema, raw),
                    limits_in_words(field),
                    str(field.get("description", "")),
                )
            )
            + " |"
        )
    return "\n".join(rows) + "\n"


def value_types(schema: Schema) -> Iterator[tuple[str, Schema]]:
    """The named kinds of value (`$defs` that are not objects), by title."""
    for definition in schema["$defs"].values():
        if definition.get("type") != "object":
            yield str(definition["title"]), definition


def value_types_table(schema: Schema) -> str:
    """The Markdown table of the value types the fields' tables name."""
    rows = ["| type | values | in words |", "|---|---|---|"]
    for title, definition in value_types(schema):
        rows.append(
            f"| {cell(title.lower())} | {cell(limits_in_words(definition))} "
            f"| {cell(str(definition['description']))} |"
        )
    return "\n".join(rows) + "\n"


def missing_descriptions(schema: Schema) -> list[str]:
    """The fields that would show with no description."""
    return [
        join(place, name)
        for place, node in places(schema).items()
        for name, raw in node.get("properties", {}).items()
        if not resolve(schema, raw).get("description")
    ]
