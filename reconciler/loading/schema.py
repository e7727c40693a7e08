"""The desired-state JSON Schema, and its errors explained in the user's terms."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.core.characters import TEXT_PATTERN, explain, first_refused
from reconciler.core.diagnostics import Finding, show_value
from reconciler.core.model import SCHEMA_FILE, email_problem
from reconciler.core.workspace import WORKSPACE_SCHEMA_FILE

if TYPE_CHECKING:  # jsonschema is imported when a file is checked by it: the fast path never needs it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
}


@cache
def schema_bytes(name: str = SCHEMA_FILE) -> bytes:
    """A published schema (the account's, or the workspace's), byte for byte: the one accessor for the
    validators and `reconciler schema`.

    Read from the installed package (the wheel carries `schemas/` as `reconciler/schemas/`); only a
    source checkout or an editable install, which have no such folder, read the repository's
    `schemas/` beside the package.
    """
    packaged = resources.files("reconciler") / "schemas" / name
    if packaged.is_file():
        return packaged.read_bytes()
    return (Path(__file__).resolve().parents[2] / "schemas" / name).read_bytes()


def schema_document() -> dict[str, Any]:
    """The published schema, parsed (a new dict each call: callers may change theirs)."""
    loaded: dict[str, Any] = json.loads(schema_bytes())
    return loaded


def schema_findings(source: str, document: Any) -> list[Finding]:
    """Every way `document` departs from the schema, explained."""
    # jsonschema reports each missing required field with the whole list of
    # them, so the same finding can come more than once.
    found = (finding for error in _validator().iter_errors(document) for finding in _explain(source, error))
    return list(dict.fromkeys(found))


def workspace_findings(source: str, document: Any) -> list[Finding]:
    """Every way a workspace file's `document` departs from the workspace schema, explained."""
    found = (
        finding
        for error in _validator(WORKSPACE_SCHEMA_FILE).iter_errors(document)
        for finding in _explain(source, error)
    )
    return list(dict.fromkeys(found))


@cache
def _validator(name: str = SCHEMA_FILE) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema: dict[str, Any] = json.loads(schema_bytes(name))
    Draft202012Validator.check_schema(schema)
    # jsonschema resolves each `$ref` on every instance it meets; our refs are
    # not recursive, so putting them in place once makes validation twice as fast.
    return Draft202012Validator(_inline_refs(schema, schema["$defs"]))


@cache
def _pattern_messages() -> dict[str, str]:
    schema = schema_document()
    defs = schema["$defs"]
    workspace = json.loads(schema_bytes(WORKSPACE_SCHEMA_FILE))["$defs"]
    return {
        workspace["account"]["properties"]["name"]["pattern"]: (
            "{value} is not an account's name: lower-case letters, digits, - and _, starting with a letter "
            "or digit (like acme or nordwind-gmbh)"
        ),
        workspace["relative_path"]["pattern"]: (
            "{value} is not a path inside the workspace: write it from reconciler.yaml's folder with / "
            "between folders, without .. (like accounts/acme)"
        ),
        workspace["setting"]["pattern"]: "{value} must be one line, without control characters",
        defs["email"]["pattern"]: "{value} is not a valid e-mail address: {email_problem}",
        defs["contract_number"]["pattern"]: "{value} is not a contract number (6 to 20 digits, quoted)",
        defs["serial_number"]["pattern"]: '{value} is not a serial number (like "399-12345678", quoted)',
        defs["shipping"]["properties"]["country"]["pattern"]: (
            "{value} is not a two-letter country code (like US, GB or NO)"
        ),
        defs["directory"]["properties"]["url"]["pattern"]: (
            "{value} is not a directory server's URL; write ldaps://host or ldaps://host:port"
        ),
        defs["directory"]["properties"]["output"]["pattern"]: (
            "{value} is not the path of a .yaml or .yml file from this file's folder, with / between folders "
            "(like people/directory.yaml)"
        ),
        defs["dn"]["pattern"]: (
            "{value} is not a distinguished name: attribute=value pairs from the entry up, like "
            "cn=Design Studio,ou=Groups,dc=acme,dc=example"
        ),
        defs["ldap_attribute"]["pattern"]: (
            "{value} is not an LDAP attribute's name: a letter, then letters, digits and hyphens (like mail)"
        ),
    }


@cache
def _date_pattern() -> str:
    pattern: str = schema_document()["$defs"]["date"]["pattern"]
    return pattern


#: Keywords that only describe: where a `$ref` and its siblings both have one, the siblings' wins.
_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default", "deprecated"})


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with each `$ref` replaced by what it names, meaning exactly what the published schema means.

    In 2020-12 a `$ref` and its sibling keywords all apply. Merged into one mapping, a sibling would
    replace the target's keyword of the same name (a `maxLength` beside `$ref: text` would loosen
    text's); so where they share an assertion, the target is kept whole under `allOf`.
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
        siblings = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
        if (set(target) & set(siblings)) - _ANNOTATIONS:
            return {**siblings, "allOf": [target]}
        return {**target, **siblings}
    return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}


def _explain(source: str, error: ValidationError) -> Iterator[Finding]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    instance: Any = error.instance
    if keyword == "required":
        required: list[str] = error.validator_value  # type: ignore[assignment]
        for name in required:
            if name not in instance:
                yield Finding(source, path + (name,), f"required field '{name}' is missing")
    elif keyword == "additionalProperties":
        schema: dict[str, Any] = error.schema  # type: ignore[assignment]
        allowed = sorted(schema.get("properties", {}))
        for name in sorted(set(instance) - set(allowed)):
            yield Finding(source, path + (name,), _unknown_field(name, allowed), at_key=True)
    else:
        yield Finding(source, path, _message(keyword, error, path))


def _unknown_field(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field '{name}'; did you mean '{close[0]}'?"
    return f"unknown field '{name}'; expected one of: {', '.join(allowed)}"


def _message(keyword: Any, error: ValidationError, path: tuple[Any, ...]) -> str:
    instance: Any = error.instance
    expected: Any = error.validator_value
    value = show_value(instance)
    if keyword == "type":
        return _type_message(expected, instance, path)
    if keyword == "pattern":
        template = _pattern_messages().get(expected)
        if template:
            return template.format(value=value, email_problem=email_problem(instance))
        if expected == _date_pattern():
            return _date_message(instance)
        refused = first_refused(instance) if expected == TEXT_PATTERN else None
        return explain(refused) if refused else error.message
    if keyword == "const":
        if isinstance(instance, str):
            return f"expected the number {expected}, got the text {value}; write it without quotes"
        return f"unsupported version {value}; this reconciler reads version {expected}"
    if keyword == "minimum":
        return f"must be at least {expected}, not {value}"
    if keyword == "maximum":
        return f"must be at most {expected:,}, not {value}"
    if keyword == "minLength":
        return "must not be empty"
    if keyword == "maxLength":
        return f"is {len(instance):,} characters long; at most {expected:,} are allowed"
    return error.message


def _date_message(text: str) -> str:
    """Why `text` is not a date: not written as one, or a day the calendar does not have."""
    shown = show_value(text)
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            date.fromisoformat(text)
        except ValueError as error:  # 2027-02-30: "day is out of range for month"
            return f'{shown} is not a day of the calendar ({error}); write a real day, like "2027-03-31"'
        return f'{shown} is out of range; write a year from 1000 to 9999, like "2027-03-31"'
    return f'{shown} is not a date; write it as YYYY-MM-DD, like "2027-03-31"'


def _type_message(expected: str, instance: Any, path: tuple[Any, ...]) -> str:
    if not path:
        return "the file must be a mapping with `version`, `contracts` and `users`"
    if path[-1] == "manager" and isinstance(instance, list):
        return "a contract has exactly one Contract Manager (R1): give one e-mail address"
    got = _describe(instance)
    if expected == "boolean" and isinstance(instance, str):
        return f"expected true or false, got {got}; YAML 1.2 reads yes, no, on and off as text"
    if expected == "string" and isinstance(instance, (int, float)) and not isinstance(instance, bool):
        return f"expected text, got {got}; quote it so that YAML keeps it as written"
    return f"expected {_TYPE_NAMES.get(expected, expected)}, got {got}"


def _describe(instance: Any) -> str:
    if isinstance(instance, bool) or instance is None:
        return show_value(instance)
    if isinstance(instance, (int, float)):
        return f"the number {instance}"
    if isinstance(instance, str):
        return f"the text {show_value(instance)}"
    return "a list" if isinstance(instance, list) else "a mapping"
