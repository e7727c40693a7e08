"""The package as PyPI gets it: one version, an sdist and a wheel that pass `twine check --strict`, and
a wheel that, installed alone into a fresh virtual environment, runs the main job."""

from __future__ import annotations

from click.testing import CliRunner

from reconciler import DISTRIBUTION, __version__
from reconciler.cli import cli


def test_version_names_the_command_the_version_and_the_distribution(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert (result.exit_code, result.output) == (0, f"reconciler {__version__} ({DISTRIBUTION})\n")
    assert DISTRIBUTION == "licence-reconciler"
