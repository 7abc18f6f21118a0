#!/usr/bin/env python3
"""Summarise an Autobahn-format report directory (as written by `kosoku`).

Usage:
    autobahn_summary.py REPORT_DIR [ROLE] [--expect-cases N] [--strict]

REPORT_DIR is the `-o` directory of a kosoku (or Autobahn TestSuite) run, or a
parent of it, or the index.json itself. ROLE is only a label for the output
(e.g. "server" or "client"); it defaults to the directory name.

index.json looks like this (one top-level key per agent):

    {"wsproto": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK",
                           "duration": 2, "remoteCloseCode": 1000,
                           "reportfile": "wsproto_case_1_1_1.json"}, ...}}

`behavior` is one of OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED
(kosoku adds ERROR: the case could not be run, e.g. connection refused).
`behaviorClose` is one of OK, INFORMATIONAL, FAILED, FAILED BY CLIENT,
WRONG CODE, UNCLEAN.

Exit status: 1 if any case has FAILED or ERROR in either field, if no case was
found, or if --expect-cases is given and the count differs; with --strict also
if any case is UNIMPLEMENTED, WRONG CODE or UNCLEAN (kosoku's own pass rule).
2 for usage errors or an unreadable report. 0 otherwise.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# Values always shown (in this order), even with a zero count.
BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
CLOSE_BEHAVIORS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]

# A case with one of these (in either field) fails the run.
FATAL = {"FAILED", "ERROR"}
# Additionally fatal with --strict.
STRICT_FATAL = {"UNIMPLEMENTED", "WRONG CODE", "UNCLEAN"}
# Values that are fine (not listed as "not OK").
GOOD = {"OK"}


def case_sort_key(case_id: str) -> list[int | str]:
    """1.2.10 sorts after 1.2.9."""
    key: list[int | str] = []
    for part in case_id.split("."):
        key.append(int(part) if part.isdigit() else part)
    return key


def find_index(path: Path) -> Path:
    """Locate index.json at, or below, `path`."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"report directory {path} does not exist")
    direct = path / "index.json"
    if direct.is_file():
        return direct
    found = sorted(path.rglob("index.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise FileNotFoundError(f"no index.json found in {path}")
    listed = ", ".join(str(p) for p in found)
    raise FileNotFoundError(
        f"several index.json files below {path} ({listed}); pass the one you mean"
    )


def format_counts(counter: Counter[str], always: list[str]) -> str:
    names = list(always) + sorted(k for k in counter if k not in always)
    return "  ".join(f"{name}={counter.get(name, 0)}" for name in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Summarise an Autobahn/kosoku report directory."
    )
    parser.add_argument("report_dir", type=Path, help="report directory (or index.json)")
    parser.add_argument("role", nargs="?", help="label for the output, e.g. server/client")
    parser.add_argument(
        "--expect-cases",
        type=int,
        default=None,
        metavar="N",
        help="fail unless exactly N cases are in the report (summed over agents)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail on UNIMPLEMENTED, WRONG CODE and UNCLEAN",
    )
    args = parser.parse_args(argv)

    role = args.role or args.report_dir.name or "autobahn"
    tag = f"[{role}]"

    try:
        index_path = find_index(args.report_dir)
        with index_path.open(encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"{tag} ERROR: cannot read report: {exc}")
        return 2
    if not isinstance(index, dict):
        print(f"{tag} ERROR: {index_path} is not an Autobahn index")
        return 2

    print(f"{tag} report: {index_path}")

    fatal = FATAL | (STRICT_FATAL if args.strict else set())
    total = 0
    failed_cases = 0
    for agent, cases in sorted(index.items()):
        if not isinstance(cases, dict):
            continue
        behavior = Counter()
        behavior_close = Counter()
        not_ok: list[tuple[str, str, str, object]] = []
        agent_failed = 0
        for case_id in sorted(cases, key=case_sort_key):
            entry = cases[case_id] or {}
            b = str(entry.get("behavior", "MISSING"))
            bc = str(entry.get("behaviorClose", "MISSING"))
            behavior[b] += 1
            behavior_close[bc] += 1
            if b not in GOOD or bc not in GOOD:
                not_ok.append((case_id, b, bc, entry.get("remoteCloseCode")))
            if b in fatal or bc in fatal or b == "MISSING" or bc == "MISSING":
                agent_failed += 1

        total += len(cases)
        failed_cases += agent_failed
        print(f'{tag} agent "{agent}": {len(cases)} cases')
        print(f"{tag}   behavior      : {format_counts(behavior, BEHAVIORS)}")
        print(f"{tag}   behaviorClose : {format_counts(behavior_close, CLOSE_BEHAVIORS)}")
        if not_ok:
            print(f"{tag}   cases not OK ({len(not_ok)}):")
            for case_id, b, bc, code in not_ok:
                mark = "FAIL" if (b in fatal or bc in fatal) else "    "
                print(
                    f"{tag}   {mark} {case_id:<9} behavior={b:<14} "
                    f"behaviorClose={bc:<16} remoteCloseCode={code}"
                )

    status = 0
    if total == 0:
        print(f"{tag} ERROR: no cases found in {index_path}")
        status = 1
    if args.expect_cases is not None and total != args.expect_cases:
        print(
            f"{tag} ERROR: expected {args.expect_cases} cases but the report has "
            f"{total} (did the run stop early?)",
        )
        status = 1
    if failed_cases:
        what = "FAILED/ERROR" + ("/UNIMPLEMENTED/WRONG CODE/UNCLEAN" if args.strict else "")
        print(f"{tag} {failed_cases} case(s) {what}")
        status = 1

    # A plain closing line CI log readers understand.
    word = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"autobahn-{role}")
    print(f"{word}: {total - failed_cases} passed, {failed_cases} failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
