"""Compile monitor/contracts/*.vy into the committed JSON artifacts (abi + bytecode).

    .venv/bin/python scripts/compile_contracts.py          # rewrite the artifacts
    .venv/bin/python scripts/compile_contracts.py --check  # exit 1 if one is stale

The artifacts are committed so that running amlmon (deploying the demo token) needs no
compiler; Vyper is a dev dependency and a test keeps the artifacts in step with the source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import vyper

CONTRACTS = Path(__file__).resolve().parents[1] / "monitor" / "contracts"


def build(source: Path) -> dict[str, object]:
    text = source.read_text(encoding="utf-8")
    out = vyper.compile_code(text, output_formats=["abi", "bytecode"])
    return {
        "contract": source.stem,
        "vyper_version": vyper.__version__,
        "source_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if an artifact is stale")
    args = parser.parse_args()
    stale = []
    for source in sorted(CONTRACTS.glob("*.vy")):
        artifact = source.with_suffix(".json")
        text = json.dumps(build(source), indent=1, sort_keys=True) + "\n"
        current = artifact.read_text(encoding="utf-8") if artifact.exists() else ""
        if current == text:
            continue
        if args.check:
            stale.append(artifact.name)
        else:
            artifact.write_text(text, encoding="utf-8")
            print(f"wrote {artifact}")
    if stale:
        print(f"stale artifacts (run scripts/compile_contracts.py): {', '.join(stale)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
