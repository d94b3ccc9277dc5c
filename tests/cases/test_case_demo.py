"""After `amlmon demo`, as a newcomer: the printed command opens a case from the pattern
it names, on the demo's own (SQLite) database; the case is worked on, proposed, approved
by a second person, and exported as HTML and as a goAML STR."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import REPO, Result, assert_one_line_error
from support.rules import RULES_FILE


def _run(argv: list[str], env: dict[str, str]) -> Result:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.slow
def test_the_demo_names_a_pattern_and_the_command_that_opens_a_case(tmp_path: Path) -> None:
    env = {**os.environ, "AMLMON_RULES_FILE": str(RULES_FILE)}
    env.pop("AMLMON_DATABASE_URL", None)
    demo = _run([sys.executable, "-m", "monitor.cli", "demo", "--out", str(tmp_path / "demo")],
                env)
    assert demo.code == 0, demo.err[-3000:]
    named = re.search(r"^pattern (\d+), (\w+), (\d+) members \(\w+ \d+[^)]*\): .+$", demo.out,
                      re.M)
    assert named, demo.out
    command = re.search(r"^open a case from it: (.+)$", demo.out, re.M)
    assert command, demo.out
    words = shlex.split(command.group(1))
    assignment, argv = words[0], words[1:]
    name, _, url = assignment.partition("=")
    assert name == "AMLMON_DATABASE_URL" and url.startswith("sqlite:///")
    assert argv[:3] == [sys.executable, "-m", "monitor.cli"]
    assert argv[3:6] == ["case", "open", "--pattern"] and argv[6] == named.group(1)

    env = {**env, "AMLMON_DATABASE_URL": url, "USER": "alice"}
    opened = _run(argv, env)
    assert opened.code == 0, opened.err
    assert re.fullmatch(r"case 1 opened: \d+ alert\(s\), 1 pattern\(s\), "
                        rf"{named.group(3)} address\(es\)\n", opened.out), opened.out
    amlmon = argv[:3]
    for args in (["case", "update", "1", "--status", "investigating", "--narrative",
                  "Mules feed one collector, which pays out the same day."],
                 ["case", "update", "1", "--propose", "reported"]):
        assert _run([*amlmon, *args], env).code == 0
    assert_one_line_error(_run([*amlmon, "case", "approve", "1"], env), "alice proposed")
    approved = _run([*amlmon, "case", "approve", "1", "--actor", "carol"], env)
    assert approved.out == "case 1: closed as reported\n", approved.err

    case = json.loads(_run([*amlmon, "case", "show", "1", "--format", "json"], env).out)
    assert case["status"] == "closed" and case["patterns"][0]["typology"] == named.group(2)
    assert {a["status"] for a in case["alerts"]} == {"reported"}
    page = tmp_path / "case.html"
    assert _run([*amlmon, "case", "export", "1", "--output", str(page)], env).code == 0
    assert '<svg class="flow"' in page.read_text(encoding="utf-8")

    pytest.importorskip("monitor.cases.goaml", reason="the goAML writer is another part's")
    entity = {"AMLMON_REPORTING_ENTITY__RENTITY_ID": "4711",
              "AMLMON_REPORTING_ENTITY__RENTITY_BRANCH": "Head office",
              "AMLMON_REPORTING_ENTITY__REPORTING_USER_CODE": "AMLMON01",
              "AMLMON_REPORTING_ENTITY__CURRENCY_CODE_LOCAL": "EUR",
              "AMLMON_REPORTING_ENTITY__LOCATION__ADDRESS": "Bahnhofstrasse 1",
              "AMLMON_REPORTING_ENTITY__LOCATION__CITY": "Zug",
              "AMLMON_REPORTING_ENTITY__LOCATION__COUNTRY_CODE": "CH"}
    report = tmp_path / "str.xml"
    exported = _run([*amlmon, "case", "export", "1", "--format", "goaml", "--output",
                     str(report), "--price", f"{case['patterns'][0]['token']}=1.00"],
                    {**env, **entity})
    assert exported.code == 0, exported.err
    assert b"<report_code>STR</report_code>" in report.read_bytes()
