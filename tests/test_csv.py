"""`export --format csv` and `import csv` as a user runs them: real files, exact output and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ACCOUNT, RESELLER, WriteYaml, apply_yaml

from reconciler.cli import cli

DATA = Path(__file__).parent / "data" / "csv"
CONTRACTS, _, USERS = ACCOUNT.partition("users:\n")
HEADER = (
    "email,first_name,last_name,status,contract,serial,product,group,download,via,expires,user_expires\r\n"
)
TEAMS = """\
teams:
  - name: Design Studio
    members: [carol@acme.example]
    access:
      - serial: "399-12345678"
"""


def export_csv(runner: CliRunner, store_url: str, *extra: str) -> str:
    result = runner.invoke(cli, ["export", "--format", "csv", "--store", store_url, *extra])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode("utf-8")  # `stdout` would turn CRLF into LF


def import_csv(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, ["import", "csv", *args])
    return result.exit_code, result.stdout, result.stderr


# --- export ---------------------------------------------------------------------------------------


def test_export_writes_one_row_per_effective_grant_sorted(runner: CliRunner, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT + TEAMS)
    assert export_csv(runner, store_url) == (
        HEADER
        + "alice@acme.example,Alice,Moreau,invited,,,,,,,,\r\n"
        + "bob@acme.example,Bob,Okafor,invited,110001234567,399-12345678,AutoCAD,Design Studio,true,direct,,"
        + "\r\n"
        + "carol@acme.example,Carol,Smith,invited,110001234567,399-12345678,AutoCAD,Design Studio,false,"
        + "team:Design Studio,,\r\n"
        + "carol@acme.example,Carol,Smith,invited,110001234567,399-12345679,Revit,,false,direct,,\r\n"
    )


def test_export_of_one_contract_and_with_a_bom(runner: CliRunner, store_url: str) -> None:
    apply_yaml(store_url, ACCOUNT)
    text = export_csv(runner, store_url, "--contract", "110001234567", "--bom")
    assert text.startswith("\ufeff" + HEADER)
    result = runner.invoke(cli, ["export", "--format", "csv", "--store", store_url, "--contract", "1"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no contract 1 in the store\n"


def test_formula_cells_get_a_quote_and_come_back_the_same(
    runner: CliRunner, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    hostile = ACCOUNT.replace("last_name: Smith", 'last_name: \'=HYPERLINK("http://x","y")\'').replace(
        "first_name: Bob", 'first_name: "@Bob, \'the\' \\"boss\\""'
    )
    apply_yaml(store_url, hostile)
    text = export_csv(runner, store_url)
    assert 'carol@acme.example,Carol,"\'=HYPERLINK(""http://x"",""y"")",invited,' in text
    assert 'bob@acme.example,"\'@Bob, \'the\' ""boss""",Okafor,' in text
    (tmp_path / "users.csv").write_text(text, encoding="utf-8", newline="")
    code, out, _ = import_csv(runner, str(tmp_path / "users.csv"))
    assert code == 0
    assert '    last_name: "=HYPERLINK(\\"http://x\\",\\"y\\")"\n' in out
    assert '  - email: bob@acme.example\n    first_name: "@Bob, \'the\' \\"boss\\""\n' in out


def test_export_then_import_with_the_contracts_plans_to_no_change(
    runner: CliRunner, store_url: str, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    apply_yaml(store_url, ACCOUNT)
    (tmp_path / "users.csv").write_text(export_csv(runner, store_url), encoding="utf-8", newline="")
    contracts = write_yaml(CONTRACTS, "account/contracts.yaml")
    out = tmp_path / "account" / "users.yaml"
    code, stdout, stderr = import_csv(
        runner, str(tmp_path / "users.csv"), "--contracts", str(contracts), "--out", str(out)
    )
    assert (code, stdout) == (0, "")
    assert stderr == f"Imported 3 users with 2 grants of their own into {out}.\n"
    assert out.read_text().startswith(
        "# yaml-language-server: $schema=desired-state.schema.json\n"
        "# Made by `reconciler import csv` from users.csv.\nversion: 1\nusers:\n"
    )
    plan = ["plan", str(out.parent), "--store", store_url, "--actor", RESELLER, "--detailed-exitcode"]
    result = runner.invoke(cli, plan)
    assert result.exit_code == 0, result.output


# --- import: what it reads ------------------------------------------------------------------------


def test_the_portals_bulk_import_file(runner: CliRunner) -> None:
    code, out, err = import_csv(runner, str(DATA / "portal.csv"))
    assert code == 0, err
    assert out == (
        "# yaml-language-server: $schema=desired-state.schema.json\n"
        "# Made by `reconciler import csv` from portal.csv.\n"
        "version: 1\n"
        "users:\n"
        "  - email: alice@acme.example\n    first_name: Alice\n    last_name: Moreau\n"
        "  - email: bob@acme.example\n    first_name: Bob\n    last_name: Okafor\n"
        "  - email: carol@acme.example\n    first_name: Carol\n    last_name: Smith\n"
    )
    assert err == "Imported 3 users with 0 grants of their own.\n"


def test_an_excel_file_with_bom_semicolons_crlf_and_quoted_line_breaks(runner: CliRunner) -> None:
    code, out, err = import_csv(runner, str(DATA / "excel.csv"))
    assert code == 0, err
    assert out.endswith(
        "users:\n"
        "  - email: ola@acme.example\n    first_name: Ødegård\n    last_name: Müller\n"
        '  - email: zoe@acme.example\n    first_name: Zoë\n    last_name: "Smith; Jones"\n'
    )


def test_team_rows_are_skipped_and_the_user_stays(runner: CliRunner, write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "Email,First_Name,Last Name,Serial,Download,Via\n"
        "carol@acme.example,Carol,Smith,399-12345678,true,team:Design Studio\n"
        "carol@acme.example,Carol,Smith,399-12345679,TRUE,direct;team:Design Studio\n"
        "dana@acme.example,Dana,Lund,399-12345679,false,team:Design Studio\n",
        "users.csv",
    )
    code, out, err = import_csv(runner, str(path))
    assert code == 0, err
    assert out.endswith(
        "  - email: carol@acme.example\n    first_name: Carol\n    last_name: Smith\n"
        '    access:\n      - serial: "399-12345679"\n        download: true\n'
        "  - email: dana@acme.example\n    first_name: Dana\n    last_name: Lund\n"
    )
    assert err == "Imported 2 users with 1 grant of their own; skipped 2 rows of team access.\n"


# --- import: bad input, every problem at once, nothing written -----------------------------------


def test_every_problem_at_once_on_its_row_and_column(
    runner: CliRunner, write_yaml: WriteYaml, tmp_path: Path
) -> None:
    first = write_yaml(
        "email,first_name,last_name,serial,download\n"
        "carol@acme.example,Carol,Smith,,\n"
        "not-an-address,Bob,Okafor,,\n"
        'CAROL@acme.example,Caroline,Smith,"399-1",maybe\n'
        "dana@acme.example,Dana,Lund,399-12345678,maybe\n",
        "first.csv",
    )
    second = write_yaml("First name,Email address\nErik,erik@acme.example\n", "second.csv")
    out = tmp_path / "users.yaml"
    code, stdout, stderr = import_csv(runner, str(first), str(second), "--out", str(out))
    assert (code, stdout) == (1, "")
    assert stderr.splitlines() == [
        f"{first}:3:1: email: 'not-an-address' is not a valid e-mail address: "
        "an email address must have an @-sign",
        f"{first}:4:1: email: 'carol@acme.example' is named 'Caroline Smith' here but 'Carol Smith' at "
        f"{first}:2; one e-mail is one person: give both rows the same name",
        f"{first}:5:5: download: 'maybe' is not true or false (nor yes, no, 1, 0, empty)",
        f"{second}:1:1: there is no \"Last name\" column (the header is 'First name,Email address'); "
        'a file needs "First name", "Last name" and "Email address" (case, spaces and underscores do not '
        "matter: first_name, last_name and email are the same)",
        "Invalid: 4 errors in 2 files.",
    ]
    assert not out.exists()


def test_a_file_that_is_not_utf8_says_how_to_save_it_again(runner: CliRunner) -> None:
    code, _, stderr = import_csv(runner, str(DATA / "latin1.csv"))
    assert code == 1
    assert stderr.splitlines() == [
        f"{DATA / 'latin1.csv'}:3:4: the file is not UTF-8: byte 0xE9 here is not UTF-8 text (the file was "
        'probably saved as Windows-1252 or Latin-1, Excel\'s plain "CSV (Comma delimited)"); save it again '
        'as UTF-8: in Excel, File > Save As > "CSV UTF-8 (Comma delimited) (*.csv)"; in LibreOffice Calc, '
        'File > Save As > "Text CSV (.csv)" with "Edit filter settings" and Character set "Unicode (UTF-8)"; '
        "in Numbers or Google Sheets, export as CSV (always UTF-8)",
        "Invalid: 1 error in 1 file.",
    ]


def test_bad_serials_names_and_a_unknown_serial_with_the_contracts(
    runner: CliRunner, write_yaml: WriteYaml
) -> None:
    contracts = write_yaml(CONTRACTS, "contracts.yaml")
    path = write_yaml(
        "email,first_name,last_name,serial,download,via\n"
        "alice@acme.example,Alice,Moreau,,,\n"
        "bob@acme.example,Bob,Okafor,399-99999999,true,direct\n"
        'carol@acme.example,"Carol\nAnn",Smith,399-1234,false,direct\n'
        "dana@acme.example,,Lund,,,\n",
        "users.csv",
    )
    code, _, stderr = import_csv(runner, str(path), "--contracts", str(contracts))
    assert code == 1
    assert stderr.splitlines() == [
        f"{path}:3:4: serial: no contract declares the serial '399-99999999'",
        f"{path}:4:2: first_name: the first name 'Carol\\nAnn' holds U+000A: a name is one line of visible "
        "text, without line breaks, control or invisible characters",
        f"{path}:5:2: first_name: the first name is empty",
        "Invalid: 3 errors in 1 file.",
    ]
    fixed = path.read_text().replace('"Carol\nAnn"', "Carol").replace(",,Lund", ",Dana,Lund")
    path.write_text(fixed)
    code, _, stderr = import_csv(runner, str(path), "--contracts", str(contracts))
    assert code == 1
    assert stderr.splitlines() == [
        f"{path}:3:4: serial: no contract declares the serial '399-99999999'",
        f"{path}:4:4: serial: '399-1234' is not a serial number (like \"399-12345678\")",
        "Invalid: 2 errors in 1 file.",
    ]


def test_the_contracts_rules_apply_to_the_imported_users(runner: CliRunner, write_yaml: WriteYaml) -> None:
    contracts = write_yaml(CONTRACTS, "contracts.yaml")
    path = write_yaml(
        "email,first_name,last_name,serial\n"
        "alice@acme.example,Alice,Moreau,399-12345679\n"
        "carol@acme.example,Carol,Smith,399-12345679\n",
        "users.csv",
    )
    code, _, stderr = import_csv(runner, str(path), "--contracts", str(contracts))
    assert code == 1
    lines = stderr.splitlines()
    assert lines[-1] == "Invalid: 2 errors in 1 file."
    assert lines[0].startswith(f"{contracts}:") and "the Software Coordinator 'bob@acme.example'" in lines[0]
    assert lines[1].startswith(f"{contracts}:") and "'399-12345679' has 1 seats but 2 users" in lines[1]


@pytest.mark.parametrize("name", ["portal.csv", "excel.csv"])
def test_out_writes_the_file_whole(runner: CliRunner, tmp_path: Path, name: str) -> None:
    out = tmp_path / "users.yaml"
    code, stdout, _ = import_csv(runner, str(DATA / name), "--out", str(out))
    assert (code, stdout) == (0, "")
    assert out.read_text().startswith("# yaml-language-server: $schema=")
    assert [p.name for p in tmp_path.iterdir()] == ["users.yaml"]


def test_out_over_a_file_keeps_its_permissions_and_a_link_stays_a_link(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "kept" / "users.yaml"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "users.yaml"
    link.symlink_to(target)
    code, _, stderr = import_csv(runner, str(DATA / "portal.csv"), "--out", str(link))
    assert code == 0, stderr
    assert link.is_symlink() and target.read_text().startswith("# yaml-language-server: $schema=")
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["users.yaml"]


def test_out_in_a_folder_that_does_not_exist_is_one_line_and_writes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "nodir" / "users.yaml"
    code, stdout, stderr = import_csv(runner, str(DATA / "portal.csv"), "--out", str(out))
    assert (code, stdout, stderr) == (
        1,
        "",
        f"Error: cannot write the YAML to {out}: No such file or directory\n",
    )
    assert list(tmp_path.iterdir()) == []
