"""`reconciler completion SHELL`: click's completion scripts, run in a real bash (and zsh and fish where
installed) against a `reconciler` on PATH, as a user's shell runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT
from required import require

from reconciler.cli import cli


@pytest.fixture
def on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH starts with a `reconciler` that runs this source tree: the completion
    script calls the command by name, as an installed console script."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    script = bin_folder / "reconciler"
    script.write_text(f"#!{sys.executable}\nfrom reconciler.cli import main\n\nmain()\n", encoding="utf-8")
    script.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }


def script_of(shell: str) -> str:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_is_the_one_clicks_variable_prints(shell: str) -> None:
    result = CliRunner().invoke(
        cli, [], prog_name="reconciler", env={"_RECONCILER_COMPLETE": f"{shell}_source"}
    )
    assert result.exit_code == 0
    assert script_of(shell) == result.stdout
    assert "_RECONCILER_COMPLETE" in result.stdout


def bash_completes(script: Path, env: dict[str, str], *words: str) -> list[str]:
    """What the completion function offers for the last of `words`, as bash would on a tab."""
    line = " ".join(f"'{word}'" for word in words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({line})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_reconciler_completion reconciler\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_options_and_their_values(tmp_path: Path, on_path: dict[str, str]) -> None:
    script = tmp_path / "reconciler.bash"
    script.write_text(script_of("bash"), encoding="utf-8")
    assert bash_completes(script, on_path, "reconciler", "pl") == ["plan"]
    assert bash_completes(script, on_path, "reconciler", "completion", "") == ["bash", "zsh", "fish"]
    assert bash_completes(script, on_path, "reconciler", "validate", "--form") == ["--format"]
    assert bash_completes(script, on_path, "reconciler", "validate", "x.yaml", "--format", "") == [
        "text",
        "markdown",
        "json",
        "github",
    ]


def test_zsh_loads_its_script_where_zsh_is_installed(tmp_path: Path, on_path: dict[str, str]) -> None:
    script = script_of("zsh")
    assert script.startswith("#compdef reconciler\n")
    require(
        "" if shutil.which("zsh") else "zsh is not installed",
        "the zsh completion test",
        "apt-get install zsh",
    )
    (tmp_path / "_reconciler").write_text(script, encoding="utf-8")
    program = f"autoload -Uz compinit && compinit -u -D && source {tmp_path / '_reconciler'} && print $_comps[reconciler]"
    done = subprocess.run(
        ["zsh", "-f", "-c", program], capture_output=True, text=True, env=on_path, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, "_reconciler_completion\n"), done.stderr


def test_fish_completes_with_its_script_where_fish_is_installed(
    tmp_path: Path, on_path: dict[str, str]
) -> None:
    script = script_of("fish")
    assert "complete --no-files --command reconciler" in script
    require(
        "" if shutil.which("fish") else "fish is not installed",
        "the fish completion test",
        "apt-get install fish",
    )
    (tmp_path / "reconciler.fish").write_text(script, encoding="utf-8")
    program = f"source {tmp_path / 'reconciler.fish'}; complete --do-complete 'reconciler pl'"
    done = subprocess.run(
        ["fish", "--no-config", "-c", program], capture_output=True, text=True, env=on_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["plan"]
