"""The map of the package is drawn once: the import-linter contract in pyproject.toml.

The tree of `reconciler/` in docs/development.md is generated from that
contract and each folder's docstring, and checked here, so the contract, the
folders and the documentation cannot disagree. Regenerate it after a change with

    UPDATE_DOCS=1 python -m pytest tests/test_rings.py

The contract itself is checked by `lint-imports` in CI; here a probe module
that imports upwards shows that the contract can fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"
PAGE = ROOT / "docs" / "development.md"
BEGIN = "<!-- rings: generated from pyproject.toml by tests/test_rings.py; do not edit -->"
END = "<!-- /rings -->"


def contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def rings() -> list[list[str]]:
    """The ring contract's layers, outermost first, each a list of folder names."""
    layers = contracts()["rings"]["layers"]
    assert isinstance(layers, list)
    return [[name.strip().removeprefix("reconciler.") for name in layer.split("|")] for layer in layers]


def summary(folder: str) -> str:
    """The first line of a folder's docstring."""
    docstring = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, (
        f"reconciler/{folder}/__init__.py needs a docstring: its first line is its line in the map"
    )
    return docstring.splitlines()[0]


def tree() -> str:
    """The development page's map: one line per folder, its ring (it may import only higher-numbered rings), and
    what it is."""
    found = rings()
    lines = [
        "reconciler/",
        "  __init__.py   the version",
        "  __main__.py   python -m reconciler",
    ]
    for number, ring in enumerate(found, start=1):
        below = (
            "imports nothing of ours"
            if number == len(found)
            else f"imports rings {number + 1}–{len(found)}"
            if number + 1 < len(found)
            else f"imports ring {number + 1}"
        )
        lines.append(f"  ring {number}: {below}" + (", not the folders beside it" if len(ring) > 1 else ""))
        lines.extend(f"    {folder + '/':<11} {summary(folder)}" for folder in ring)
    return "\n".join(["```text", *lines, "```"])


def test_the_package_root_holds_only_the_entry_points() -> None:
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]


def test_every_folder_of_the_package_is_in_one_ring() -> None:
    folders = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    placed = [folder for ring in rings() for folder in ring]
    assert sorted(placed) == folders


def test_the_forbidden_contracts_name_every_folder_but_the_ones_allowed() -> None:
    """Only cli/ imports click, only store/ writes SQL and only directory/ talks LDAP: the other
    folders, every one of them."""
    everything = {f"reconciler.{folder}" for ring in rings() for folder in ring}
    found = contracts()
    assert set(found["click"]["source_modules"]) == everything - {"reconciler.cli"}  # type: ignore[arg-type]
    assert set(found["sql"]["source_modules"]) == everything - {"reconciler.store"}  # type: ignore[arg-type]
    assert set(found["ldap"]["source_modules"]) == everything - {"reconciler.directory"}  # type: ignore[arg-type]


def test_the_documented_map_is_the_contract() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{PAGE.name} needs the markers {BEGIN} and {END}"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    generated = f"{head}{BEGIN}\n{tree()}\n{END}{tail}"
    if os.environ.get("UPDATE_DOCS"):
        PAGE.write_text(generated, encoding="utf-8")
        return
    assert text == generated, (
        f"the map in {PAGE.name} is out of date: UPDATE_DOCS=1 python -m pytest tests/test_rings.py"
    )


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is not installed")
def test_an_upward_import_breaks_the_ring_contract(tmp_path: Path) -> None:
    """A module of core/ that imports the command line is reported, by module and line."""
    shutil.copytree(PACKAGE, tmp_path / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "reconciler" / "core" / "probe.py").write_text(
        '"""A probe: an import against the rings."""\n\nfrom reconciler.cli import main\n\n__all__ = ["main"]\n',
        encoding="utf-8",
    )
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint) if lint.exists() else "lint-imports", "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    found = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "reconciler.core is not allowed to import reconciler.cli" in found.stdout
    assert "reconciler.core.probe -> reconciler.cli (l.3)" in found.stdout
