"""The package as PyPI gets it: one version, an sdist and a wheel that pass `twine check --strict`, and
a wheel that, installed alone into a fresh virtual environment, runs the main job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT
from required import require

from reconciler import DISTRIBUTION, __version__
from reconciler.cli import cli
from reconciler.core.model import SCHEMA_FILE


def test_version_names_the_command_the_version_and_the_distribution(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert (result.exit_code, result.output) == (0, f"reconciler {__version__} ({DISTRIBUTION})\n")
    assert DISTRIBUTION == "licence-reconciler"


# --- the sdist and the wheel, built and checked as PyPI would --------------------------------------


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


def run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)


def last_lines(done: subprocess.CompletedProcess[str], count: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-count:])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel, built from this tree by `python -m build` (hatchling fetched from PyPI
    into its isolated environment). Without build or PyPI this skips on a laptop; with CI set, fails."""
    outdir = tmp_path_factory.mktemp("dist")
    done = run([sys.executable, "-m", "build", "--outdir", outdir, ROOT], timeout=600)
    require(
        "" if done.returncode == 0 else f"python -m build failed:\n{last_lines(done)}",
        "the packaging tests",
        "pip install build, and let it reach PyPI for hatchling",
    )
    (sdist,) = outdir.glob("licence_reconciler-*.tar.gz")
    (wheel,) = outdir.glob("licence_reconciler-*-py3-none-any.whl")
    return Built(sdist, wheel)


def test_twine_check_strict_passes_both(built: Built) -> None:
    done = run([sys.executable, "-m", "twine", "check", "--strict", built.sdist, built.wheel], timeout=120)
    assert done.returncode == 0, last_lines(done)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_wheel_carries_the_schema_the_templates_and_the_migrations(built: Built) -> None:
    names = set(zipfile.ZipFile(built.wheel).namelist())
    package = ROOT / "reconciler"
    data = {
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix in (".j2", ".sql", ".typed")
    }
    assert data and data <= names
    assert {name for name in names if name.endswith(".py")} == {
        path.relative_to(ROOT).as_posix() for path in package.rglob("*.py")
    }
    schema = "reconciler/schemas/desired-state.schema.json"
    assert zipfile.ZipFile(built.wheel).read(schema) == (ROOT / "schemas" / SCHEMA_FILE).read_bytes()
    metadata = zipfile.ZipFile(built.wheel).read(f"licence_reconciler-{__version__}.dist-info/METADATA")
    assert f"Version: {__version__}\n".encode() in metadata


def test_the_sdist_holds_what_the_suite_needs_and_no_caches(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    needed = {
        "pyproject.toml",
        "README.md",
        f"schemas/{SCHEMA_FILE}",
        "tests/conftest.py",
        "tests/golden/example-plan/plan.txt",
        "examples/acme/users.yaml",
        "examples/demo.sh",
        ".github/workflows/ci.yml",
        "docs/plan.png",
    }
    assert needed <= names
    caches = ("__pycache__", ".pyc", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".db")
    assert [name for name in names if any(cache in name for cache in caches)] == []


# --- the wheel, installed alone into a fresh virtual environment -----------------------------------


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]  # no PYTHONPATH, no RECONCILER_* but what a test sets
    cwd: Path  # a folder with no source tree in it

    def command(
        self, *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(
            [self.venv / "bin" / "reconciler", *args],
            env={**self.env, **(env or {})},
            cwd=cwd or self.cwd,
            timeout=120,
        )

    def python(self, code: str) -> str:
        done = run([self.venv / "bin" / "python", "-c", code], env=self.env, cwd=self.cwd, timeout=120)
        assert done.returncode == 0, last_lines(done)
        return done.stdout


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A virtual environment with the wheel and its dependencies (from PyPI) and nothing else."""
    venv = tmp_path_factory.mktemp("venv")
    made = run([sys.executable, "-m", "venv", venv], timeout=300)
    assert made.returncode == 0, last_lines(made)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RECONCILER_", "PYTHON", "VIRTUAL_ENV", "GITHUB_"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", built.wheel], env=env, timeout=600)
    require(
        "" if pip.returncode == 0 else f"pip could not install the wheel:\n{last_lines(pip)}",
        "the installed-wheel tests",
        "let pip reach PyPI for the dependencies",
    )
    return Installed(venv, env, tmp_path_factory.mktemp("elsewhere"))


def test_the_installed_package_is_the_wheels_and_its_version_is_the_metadatas(installed: Installed) -> None:
    where, version = installed.python(
        "import importlib.metadata, reconciler; "
        "print(reconciler.__file__); print(importlib.metadata.version('licence-reconciler'))"
    ).split()
    assert Path(where).is_relative_to(installed.venv), where
    assert version == __version__
    done = installed.command("--version")
    assert (done.returncode, done.stdout) == (0, f"reconciler {version} (licence-reconciler)\n")


def test_the_installed_wheel_runs_the_main_job(installed: Installed, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = {
        "RECONCILER_STORE": f"sqlite:///{tmp_path / 'demo.db'}",
        "RECONCILER_ACTOR": "orders@cadpartners.example",
    }
    steps = [
        ("validate", "examples/acme"),
        ("init", "--reseller", "orders@cadpartners.example"),
        ("plan", "examples/acme", "--out", "plan.json"),
        ("apply", "plan.json", "--auto-approve"),
        ("outbox",),
        ("show", "plan.json", "--format", "html"),
        ("plan", "examples/acme", "--detailed-exitcode"),
    ]
    said = {}
    for step in steps:
        done = installed.command(*step, cwd=tmp_path, env=env)
        assert done.returncode == 0, f"reconciler {' '.join(step)}:\n{last_lines(done)}"
        said[step[0]] = done.stdout
    assert said["validate"].startswith("Valid: ")
    assert "47 to add" in said["show"] and said["show"].startswith("<!doctype html>")  # the templates
    assert "No changes. The store matches the desired state." in said["plan"]
    schema = installed.command("schema", cwd=tmp_path)
    assert schema.returncode == 0 and schema.stdout == (ROOT / "schemas" / SCHEMA_FILE).read_text("utf-8")
