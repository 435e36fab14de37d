"""`make replay`: replay a period's routes with a candidate county package through routing's admin
API, or a period's cases with candidate screening rules through intake's, print the progress, and
write the report (docs/replay.md).

    make replay PACKAGE=dir FROM=2026-03-01 TO=2026-04-01 [ROUTING_URL=http://127.0.0.1:8002] [OUT=dir]
    make replay RULES=dir FROM=2026-03-01 TO=2026-04-01 [INTAKE_URL=http://127.0.0.1:8001] [OUT=dir]

PACKAGE holds the candidate's files (any of the six; the others are the package in use's); RULES
the candidate screening rules (screening_rules.json and/or knowledge_base.json). FROM and
TO are dates in the county's time zone (TO excluded) or ISO instants. The token is DISPATCH_TOKEN, or
a development administrator's token signed with the keys in `.run/keys`. The report is
OUT/replay-<id>.json (the job and its totals) and OUT/replay-<id>.differences.jsonl (one route or
case per line, both decisions side by side); the exit status is 1 when the replay did not finish, 2
when the candidate was refused.
"""

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from dispatch_common.paths import DEFAULT_RUN_DIR
from services.intake.domain.screening import KB_FILE, RULES_FILE
from services.routing.domain.county import PACKAGE_FILES

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Kind:
    """What is replayed: the service's path, the body's key for the candidate, its files, what it counts."""

    path: str
    key: str
    files: tuple[str, ...]
    counts: str


PACKAGE = Kind("/v1/admin/replays", "package", PACKAGE_FILES, "routes")
RULES = Kind("/v1/admin/screening-replays", "rules", (RULES_FILE, KB_FILE), "cases")


def instant(text: str, zone: ZoneInfo) -> str:
    """A date (midnight in the county's zone) or an ISO instant, as an ISO instant."""
    try:
        return datetime.combine(date.fromisoformat(text), time(), zone).isoformat()
    except ValueError:
        at = datetime.fromisoformat(text)
        return (at if at.tzinfo else at.replace(tzinfo=zone)).isoformat()


def candidate(folder: Path, names: tuple[str, ...] = PACKAGE_FILES) -> dict[str, str]:
    """The candidate's files the folder has."""
    files = {name: (folder / name).read_text(encoding="utf-8") for name in names if (folder / name).exists()}
    if not files:
        raise SystemExit(f"{folder} has none of the candidate's files ({', '.join(names)})")
    return files


def token() -> str:
    if os.environ.get("DISPATCH_TOKEN"):
        return os.environ["DISPATCH_TOKEN"]
    from devtools.keys import issue_token

    return issue_token(DEFAULT_RUN_DIR / "keys", role="admin", subject="make-replay")


def show(job: dict[str, Any], counts: str = "routes") -> str:
    p = job["progress"]
    rate = f", {job['cases_per_second']:,.0f} {counts}/s" if job.get("cases_per_second") else ""
    guess = p.get("estimated_total")
    total = f"{p['total']:,}" if p["total"] is not None else f"~{guess:,}" if guess else "?"
    return f"{job['status']}: {p['done']:,} of {total} {counts}{rate}, {job['differences']:,} differences"


def moves(result: dict[str, Any]) -> list[str]:
    """What moved: each unit's load (a package), or the cases by outcome (screening rules)."""
    lines = [
        f"  {row['unit']}: {row['before']} → {row['after']} (+{row['moved_in']} −{row['moved_out']})"
        for row in result.get("units", [])
        if row["moved_in"] or row["moved_out"]
    ]
    return lines + [
        f"  {row['before']} → {row['after']}: {row['cases']}"
        for row in result.get("outcomes", [])
        if row["before"] != row["after"]
    ]


async def replay(args: argparse.Namespace) -> int:
    zone = ZoneInfo(args.timezone)
    kind, folder, url = (
        (RULES, args.rules, args.intake_url) if args.rules else (PACKAGE, args.package, args.routing_url)
    )
    body = {
        "from": instant(args.start, zone),
        "to": instant(args.end, zone),
        kind.key: {"files": candidate(folder, kind.files)},
    }
    headers = {"Authorization": f"Bearer {token()}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        r = await http.post(kind.path, json=body)
        if r.status_code == 422:
            for error in r.json().get("errors", []):
                print(f"refused: {'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
            return 2
        r.raise_for_status()
        job = r.json()
        print(
            f"replay {job['id']}: {kind.key} {job['baseline_version']} → candidate {job['candidate_version']}"
        )
        while job["status"] == "running":
            print(show(job, kind.counts), flush=True)
            await asyncio.sleep(POLL_SECONDS)
            job = (await http.get(f"{kind.path}/{job['id']}")).raise_for_status().json()
        print(show(job, kind.counts))
        args.out.mkdir(parents=True, exist_ok=True)
        base = args.out / f"replay-{job['id']}"
        base.with_suffix(".json").write_text(json.dumps(job, ensure_ascii=False, indent=2), encoding="utf-8")
        written, cursor = 0, None
        with base.with_suffix(".differences.jsonl").open("w", encoding="utf-8") as out:
            while True:
                params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
                page = (
                    (await http.get(f"{kind.path}/{job['id']}/differences", params=params))
                    .raise_for_status()
                    .json()
                )
                for item in page["items"]:
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
                written += len(page["items"])
                if not (cursor := page["next_cursor"]):
                    break
    result = job.get("result") or {}
    print(f"report: {base}.json and {base}.differences.jsonl ({written:,} differences)")
    for line in moves(result):
        print(line)
    if job["status"] != "done":
        print(f"the replay {job['status']}: {job.get('error')}", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--package", type=Path, help="the candidate package's folder")
    what.add_argument("--rules", type=Path, help="the candidate screening rules' folder")
    parser.add_argument("--from", dest="start", required=True, help="first day (or instant) of the period")
    parser.add_argument(
        "--to", dest="end", required=True, help="the day (or instant) the period ends, excluded"
    )
    parser.add_argument("--routing-url", default=os.environ.get("ROUTING_URL", "http://127.0.0.1:8002"))
    parser.add_argument("--intake-url", default=os.environ.get("INTAKE_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--timezone", default=os.environ.get("COUNTY_TIMEZONE", "Asia/Shanghai"))
    parser.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR / "replays")
    sys.exit(asyncio.run(replay(parser.parse_args())))


if __name__ == "__main__":
    main()
