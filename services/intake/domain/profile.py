"""The petitioner profile (信访人画像): one page of what the platform knows of one petitioner. Pure.

A petitioner is the identity intake links by keyed hash (domain/identities.py): every case recorded
under any of its keys, whatever the channel or year. Each case shows what intake registered (number,
channel, time, screening, people on it, repeat links) and the unit it was given (intake keeps every
case's assignment), with what happened to it later as other services told it by events (category and
town from routing, the reply, the rating and the closing from supervision, mediations and referrals
from mediation: adapters/profile.py keeps them). The patterns count the cases by category, lead unit,
year and channel, with the repeats and the group petitions (at least the policy's `group_size` people).
Facts from other systems come from the data pool (domain/pool.py) with their source and use.

Sections other parts of the platform add (proxy agents, risk-ledger entries) are listed under their
own names; intake fills them from the providers registered with it (ProfileSections).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

KEPT = (
    "routed",
    "replied",
    "rated",
    "closed",
    "reopened",
    "mediation_opened",
    "mediation_concluded",
    "referred",
)
"""The kinds of later fact a case's profile line shows (adapters/profile.py, `outcome_of`)."""


def _counted(values: Iterable[str | None]) -> list[dict[str, Any]]:
    return [{"key": k, "count": n} for k, n in Counter(v for v in values if v).most_common()]


def case_line(case: dict[str, Any], later: list[dict[str, Any]], *, group_size: int) -> dict[str, Any]:
    """One case as the profile lists it, its later facts applied in time order."""
    held = case.get("assignment") or {}
    line: dict[str, Any] = {
        "case_id": case["_id"],
        "case_no": case["case_no"],
        "received_at": case["received_at"],
        "channel": case.get("channel"),
        "status": case.get("status"),
        "screening": (case.get("screening") or {}).get("outcome"),
        "people_count": case.get("people_count"),
        "group": (case.get("people_count") or 1) >= group_size,
        "repeat_of": ((case.get("links") or {}).get("repeat_of") or {}).get("case_no"),
        "lead_unit": held.get("lead_unit")
        or (
            {"code": held["lead_unit_code"], "name": held["lead_unit_name"]}
            if held.get("lead_unit_code")
            else None
        ),
        "town": (held.get("place") or {}).get("town"),
        "category": None,
        "reply": None,
        "rating": None,
        "closed_at": None,
        "mediations": [],
        "referrals": [],
    }
    mediations: dict[str, dict[str, Any]] = {}
    for fact in sorted(later, key=lambda f: f["at"]):
        kind = fact["kind"]
        if kind == "routed":
            line["category"] = fact.get("category")
            line["town"] = line["town"] or fact.get("town")
        elif kind == "replied":
            line["reply"] = fact.get("result")
        elif kind in ("rated", "reopened"):
            line["rating"] = fact.get("rating")
            if kind == "reopened":
                line["closed_at"] = None
        elif kind == "closed":
            line["closed_at"] = fact["at"]
        elif kind in ("mediation_opened", "mediation_concluded"):
            held_m = mediations.setdefault(fact["mediation_id"], {"mediation_id": fact["mediation_id"]})
            held_m["organization"] = fact.get("organization") or held_m.get("organization")
            held_m["result"] = fact.get("result") or held_m.get("result")
        elif kind == "referred":
            line["referrals"].append({"kind": fact.get("referral_kind"), "receiving_unit": fact.get("unit")})
    line["mediations"] = list(mediations.values())
    return line


def patterns(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeat and group patterns: counts by category, lead unit, year and channel."""
    return {
        "by_category": _counted(line["category"] for line in lines),
        "by_unit": _counted((line["lead_unit"] or {}).get("name") for line in lines),
        "by_year": _counted(str(line["received_at"].year) for line in lines),
        "by_channel": _counted(line["channel"] for line in lines),
        "repeats": sum(1 for line in lines if line["repeat_of"]),
        "group_petitions": sum(1 for line in lines if line["group"]),
        "dissatisfied": sum(1 for line in lines if line["rating"] == "dissatisfied"),
    }


def summary(lines: list[dict[str, Any]], withheld: int) -> dict[str, Any]:
    """How many cases, the first and last, how many open."""
    times: list[datetime] = [line["received_at"] for line in lines]
    return {
        "cases": len(lines) + withheld,
        "shown": len(lines),
        "withheld_confidential": withheld,
        "open": sum(1 for line in lines if line["closed_at"] is None),
        "first_at": min(times) if times else None,
        "last_at": max(times) if times else None,
    }


def fact_line(fact: dict[str, Any], batch: dict[str, Any], kind_name: str | None) -> dict[str, Any]:
    """One imported fact as the profile shows it, with where it came from and what it may be used for."""
    return {
        "kind": fact["kind"],
        "kind_name": kind_name,
        "ref": fact["ref"],
        "date": fact["date"],
        "authority": fact.get("authority"),
        "group": fact.get("group"),
        "summary": fact.get("summary"),
        "until": fact.get("until"),
        "batch_id": batch["_id"],
        "source": batch["source"],
        "source_version": batch["version"],
        "source_date": batch["source_date"],
        "use": batch["use_note"],
    }
