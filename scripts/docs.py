"""Regenerate the reference documents that are read off the code: docs/cli.md (every
command and option, from the CLI itself) and docs/openapi.json (the HTTP API's OpenAPI
document). With --check, write nothing and exit 1 when either is out of date
(tests/test_docs.py runs that).

    .venv/bin/python scripts/docs.py [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def cli_reference() -> str:
    # typer's own generator, on the real command tree (every group is loaded).
    done = subprocess.run(
        [sys.executable, "-m", "typer", "monitor.cli", "utils", "docs", "--name", "amlmon",
         "--title", "amlmon command-line reference"],
        cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout


def openapi_document() -> str:
    from monitor.api.app import create_app
    from monitor.settings import Settings

    app = create_app(Settings(database_url="sqlite://", rules_file=None), None)  # type: ignore[arg-type]
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


GENERATED = {"docs/cli.md": cli_reference, "docs/openapi.json": openapi_document}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write none")
    args = parser.parse_args()
    stale = []
    for name, build in GENERATED.items():
        path, text = REPO / name, build()
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run scripts/docs.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
