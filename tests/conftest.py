"""Shared fixtures: a click runner and a writer of desired-state files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: A small valid account, the base most tests edit one field of.
ACCOUNT = """\
version: 1
contracts:
  - number: "110001234567"
    manager: alice@acme.example
    coordinators:
      - email: bob@acme.example
        manage_users: true
        shipping: {name: Acme HQ, address: "1 Main St", country: US}
    serials:
      - number: "399-12345678"
        product: AutoCAD
        seats: 2
        group: Design Studio
        coordinator: bob@acme.example
      - number: "399-12345679"
        product: Revit
        seats: 1
users:
  - email: alice@acme.example
    first_name: Alice
    last_name: Moreau
  - email: bob@acme.example
    first_name: Bob
    last_name: Okafor
    access:
      - serial: "399-12345678"
        download: true
  - email: carol@acme.example
    first_name: Carol
    last_name: Smith
    access:
      - serial: "399-12345679"
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


WriteYaml = Callable[..., Path]


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """Write `text` (dedented) to `name` under a temporary folder; returns the path."""

    def write(text: str | bytes, name: str = "account.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
