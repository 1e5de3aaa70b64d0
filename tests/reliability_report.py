"""Run the reliability and security suite once and print the figures docs/reliability.md quotes.

    .venv/bin/python tests/reliability_report.py            # default: 60 examples per property
    HYPOTHESIS_MAX_EXAMPLES=2000 .venv/bin/python tests/reliability_report.py   # the long run

It runs pytest on the files in FILES in one process (so the wall time is the suite's), reads the
JUnit XML (outcomes, times, and the figures tests record with ``record_property``) and
Hypothesis's statistics (how many generated inputs each property really ran), and prints
them. Exit status is pytest's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ["tests/test_fuzz.py", "tests/test_broken_data.py", "tests/test_secrets.py",
         "tests/test_concurrency.py", "tests/test_faults.py", "tests/e2e/test_operator_faults.py"]


def run_suite(junit: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *FILES, "-q", "-p", "no:cacheprovider",
         "--hypothesis-show-statistics", f"--junitxml={junit}", "-o", "junit_family=xunit1"],
        cwd=REPO, capture_output=True, text=True, env=os.environ.copy())
    return result.returncode, result.stdout + result.stderr, time.perf_counter() - started


def outcomes(junit: Path) -> tuple[dict[str, dict[str, float]], dict[str, str], list[str]]:
    per_file: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    properties: dict[str, str] = {}
    xfails: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        stats = per_file[module]
        stats["tests"] += 1
        stats["seconds"] += float(case.get("time", 0))
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            stats["failed"] += 1
        elif skipped is not None and "xfail" in (skipped.get("type") or ""):
            stats["xfailed"] += 1
            xfails.append(f"{module}::{case.get('name')}")
        elif skipped is not None:
            stats["skipped"] += 1
        else:
            stats["passed"] += 1
        for prop in case.iter("property"):
            properties[f"{case.get('name')}: {prop.get('name')}"] = prop.get("value", "")
    return per_file, properties, xfails


def hypothesis_examples(output: str) -> dict[str, int]:
    """Generated (and replayed) passing examples per property, from --hypothesis-show-statistics."""
    counts: dict[str, int] = {}
    current = None
    for line in output.splitlines():
        head = re.match(r"^(tests/\S+::\S+):$", line.strip())
        if head:
            current = head.group(1)
            counts.setdefault(current, 0)
            continue
        found = re.search(r"(\d+) passing, (\d+) failing", line)
        if found and current:
            counts[current] += int(found.group(1)) + int(found.group(2))
    return counts


def main() -> int:
    sys.path.insert(0, str(REPO))
    from tests import test_broken_data, test_faults, test_fuzz

    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        code, output, wall = run_suite(junit)
        if not junit.exists():
            print(output)
            return code or 1
        per_file, properties, xfails = outcomes(junit)
    examples = hypothesis_examples(output)

    print(f"Reliability and security suite: {len(FILES)} files, wall time {wall:.1f} s "
          f"(pytest exit {code})")
    print(f"  HYPOTHESIS_MAX_EXAMPLES={test_fuzz.MAX_EXAMPLES}")
    print()
    print(f"  {'file':<20} {'tests':>5} {'passed':>6} {'xfailed':>7} {'failed':>6} {'seconds':>8}")
    for module, stats in sorted(per_file.items()):
        print(f"  {module:<20} {int(stats['tests']):>5} {int(stats['passed']):>6} "
              f"{int(stats['xfailed']):>7} {int(stats['failed']):>6} {stats['seconds']:>8.1f}")
    print()
    by_kind: dict[str, list[int]] = defaultdict(list)
    for name, count in examples.items():
        by_kind[name.split("::")[1].split("[")[0]].append(count)
    print(f"  Hypothesis: {len(examples)} properties, {sum(examples.values())} generated inputs")
    for kind, counts in sorted(by_kind.items()):
        print(f"    {kind}: {len(counts)} properties, {min(counts)}-{max(counts)} inputs each, "
              f"{sum(counts)} in all")
    corpus_runs = (len(test_fuzz.CORPUS) * len(test_fuzz.SLASH_OPTIONS) * len(test_fuzz.CONTEXTS)
                   + len(test_fuzz.CORPUS) * len(test_fuzz.AUTOCOMPLETED)
                   + len(test_fuzz.CORPUS) * 2)
    print(f"  Fixed corpus: {len(test_fuzz.CORPUS)} inputs, {corpus_runs} interactions and "
          "messages")
    print(f"  Broken data: {len(test_broken_data.VARIANTS)} variants, each reloaded through "
          "/admin and validated by `python -m bot validate`")
    print(f"  Malformed interactions: {len(test_faults.INTERACTION_FIELDS)} required fields, "
          "each left out, in-process and against the running process")
    for name, value in sorted(properties.items()):
        print(f"  {name} = {value}")
    print()
    print(f"  Known bugs (strict xfail): {len(xfails)}")
    for name in xfails:
        print(f"    {name}")
    if code:
        print(output[-5000:])
    return code


if __name__ == "__main__":
    raise SystemExit(main())
