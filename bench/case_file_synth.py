"""Synthetic case files for supervision's benchmarks: the county package's units plus synthetic town
offices, and a year or two of case files with a fixed seed, shaped as supervision keeps them (the
realistic mix is described in bench/supervision_queries.py, which loads them)."""

import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.supervision.adapters.repository import _units, worklist_entry
from services.supervision.domain import kpis

TZ = ZoneInfo("Asia/Shanghai")
TOWN_WEIGHTS = {"990102001": 25, "990102002": 20, "990102003": 20, "990102101": 12, "990102102": 12}
# seven more offices per town, beside the package's five, with the categories they take
TOWN_OFFICES = {
    "GHJS": ("规划建设办", "office", ["01", "06"]),
    "CGZD": ("综合行政执法队", "law_enforcement", ["02", "04"]),
    "SHSW": ("社会事务办", "office", ["05", "10", "11"]),
    "NYZX": ("农业农村服务中心", "office", ["07"]),
    "SCJGS": ("市场监管所", "office", ["08"]),
    "JYB": ("教育办", "office", ["09"]),
    "BMFW": ("便民服务中心", "office", ["12", "17"]),
}
CATEGORY_WEIGHTS = {"01": 14, "02": 13, "03": 9, "04": 6, "05": 10, "14": 12, "13": 7, "08": 6, "11": 4}
TIERS = (("general", 90), ("key", 8), ("major", 2))
OPEN_MIX = (  # state, share of the open cases, mean age in days (plus a floor)
    ("assigned", 10, 1.5, 0),
    ("signed", 15, 5, 0),
    ("in_progress", 45, 25, 0),
    ("extended", 8, 15, 55),
    ("in_mediation", 10, 20, 0),
    ("reopened", 4, 40, 0),
    ("review", 6, 30, 60),
    ("re_review", 2, 30, 100),
)
DAY = timedelta(days=1)


class County:
    """The units of the county package plus the synthetic town offices, and where cases go."""

    def __init__(self, county_dir: Path) -> None:
        package = json.loads((county_dir / "units.json").read_text(encoding="utf-8"))
        gazetteer = json.loads((county_dir / "gazetteer.json").read_text(encoding="utf-8"))
        taxonomy = json.loads((county_dir / "taxonomy.json").read_text(encoding="utf-8"))
        self.categories = [
            (c["code"], [s["code"] for s in c.get("children") or []] or [c["code"]]) for c in taxonomy
        ]
        self.category_weights = [CATEGORY_WEIGHTS.get(code, 3) for code, _ in self.categories]
        self.villages: dict[str, list[tuple[str, str]]] = {}
        for place in gazetteer:
            grids = self.villages.setdefault(place["town"], [])
            if (place["village"], place["grid"]) not in grids:
                grids.append((place["village"], place["grid"]))
        self.towns = sorted(self.villages)
        self.town_weights = [TOWN_WEIGHTS.get(t, 11) for t in self.towns]
        units = [u for u in package if u["level"] in ("county", "town", "village")]
        for town in self.towns:
            for suffix, (name, kind, categories) in TOWN_OFFICES.items():
                units.append(
                    {
                        "code": f"{town}-{suffix}",
                        "name": name,
                        "type": kind,
                        "level": "town",
                        "jurisdiction": town,
                        "categories": categories,
                    }
                )
        self.units = units
        firsts = [code for code, _ in self.categories]

        def takes(unit: dict[str, Any], category: str) -> bool:
            return any(c[:2] == category for c in unit["categories"])

        county = [u for u in units if u["level"] == "county"]
        general = [u for u in county if u["type"] in ("petition_bureau", "hotline_center")]
        self.county_for = {c: [u for u in county if takes(u, c)] or general for c in firsts}
        self.county_any = county
        self.town_for: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.town_general: dict[str, list[dict[str, Any]]] = {}
        self.town_any: dict[str, list[dict[str, Any]]] = {}
        for town in self.towns:
            offices = [u for u in units if u["level"] == "town" and u["jurisdiction"] == town]
            self.town_any[town] = offices
            self.town_general[town] = [u for u in offices if not u["categories"]]
            for c in firsts:
                self.town_for[(town, c)] = [u for u in offices if takes(u, c)]
        self.village_units = {
            v: [u for u in units if u["level"] == "village" and u["jurisdiction"] == v]
            for grids in self.villages.values()
            for v, _ in grids
        }


def _ref(unit: dict[str, Any], role: str) -> dict[str, str]:
    return {"code": unit["code"], "name": unit["name"], "type": unit["type"], "role": role}


def _deadline(kind: str, start: datetime, days: float, met: datetime | None, alarm: bool) -> dict[str, Any]:
    return {
        "kind": kind,
        "start_at": start,
        "due_at": start + timedelta(days=days),
        "met_at": met,
        "alarm": alarm,
    }


class Synth:
    """Synthetic case files with a fixed seed, shaped as supervision keeps them."""

    def __init__(self, county: County, seed: int, now: datetime, days: int) -> None:
        self.county = county
        self.rng = random.Random(seed)
        self.now = now
        self.days = days
        self.open_states = [s for s, *_ in OPEN_MIX]
        self.open_weights = [w for _, w, *_ in OPEN_MIX]
        self.open_ages = {s: (mean, floor) for s, _, mean, floor in OPEN_MIX}

    def _lead(self, town: str, village: str, category: str) -> dict[str, Any]:
        rng, county = self.rng, self.county
        roll = rng.random()
        if roll < 0.40:
            pool = county.county_for[category]
        elif roll < 0.85:
            pool = county.town_for[(town, category)] if rng.random() < 0.7 else []
            pool = pool or county.town_general[town]
        else:
            pool = county.village_units[village]
        return rng.choice(pool)

    def _assisting(self, town: str, lead: dict[str, Any]) -> list[dict[str, Any]]:
        rng = self.rng
        if rng.random() >= 0.30:
            return []
        pool = self.county.county_any if rng.random() < 0.5 else self.county.town_any[town]
        unit = rng.choice(pool)
        return [] if unit["code"] == lead["code"] else [unit]

    def case_file(self, i: int) -> dict[str, Any]:
        """The i-th case file: routing's facts, its state and moments, and its deadlines."""
        rng, now = self.rng, self.now
        town = rng.choices(self.county.towns, self.county.town_weights)[0]
        village, grid = rng.choice(self.county.villages[town])
        code, subcodes = rng.choices(self.county.categories, self.county.category_weights)[0]
        tier = rng.choices([t for t, _ in TIERS], [w for _, w in TIERS])[0]
        lead = self._lead(town, village, code)
        assisting = self._assisting(town, lead)
        flags = ["mediation"] if rng.random() < 0.08 else []
        latest = now - timedelta(minutes=5)

        def at(moment: datetime) -> datetime:
            return min(moment, latest)

        if rng.random() < 0.80:
            status = "closed"
            assigned = now - timedelta(days=rng.uniform(3, self.days))
        else:
            status = rng.choices(self.open_states, self.open_weights)[0]
            mean, floor = self.open_ages[status]
            age = min(self.days, floor + rng.expovariate(1 / mean))
            assigned = now - timedelta(days=age)
        if status == "in_mediation":
            flags = ["mediation"]
        received = assigned - timedelta(hours=rng.uniform(0.5, 30))
        screened = received + timedelta(hours=rng.uniform(0.1, 0.4))
        signed = replied = followed = review_requested = review_answered = re_review_requested = None
        extension = 30 if status == "extended" else 0
        if status != "assigned":
            took = rng.uniform(0.02, 0.9) if rng.random() < 0.9 else rng.uniform(1.1, 3)
            signed = at(assigned + DAY * took)
        if status in ("closed", "review", "re_review"):
            took = rng.uniform(1, 58) if rng.random() < 0.92 else rng.uniform(60, 80)
            replied = at(assigned + DAY * took)
            followed = at(replied + DAY * rng.uniform(0.5, 7))
            if status != "closed":
                review_requested = at(replied + DAY * rng.uniform(3, 29))
                if status == "re_review":
                    review_answered = at(review_requested + DAY * rng.uniform(5, 28))
                    re_review_requested = at(review_answered + DAY * rng.uniform(3, 29))
        deadlines = [
            _deadline("acceptance_notice", received, 15, screened, True),
            _deadline("sign", assigned, 1, signed, True),
            _deadline("objection", assigned, 7, signed, False),
            _deadline("handling", assigned, 60 + extension, replied, True),
        ]
        if replied:
            deadlines += [
                _deadline("followup", replied, 7, followed, True),
                _deadline("review_request", replied, 30, review_requested, False),
            ]
        if review_requested:
            deadlines.append(_deadline("review", review_requested, 30, review_answered, True))
        if review_answered:
            deadlines.append(_deadline("re_review_request", review_answered, 30, re_review_requested, False))
        if re_review_requested:
            deadlines.append(_deadline("re_review", re_review_requested, 30, None, True))
        resolved = rng.random() < 0.85
        rated = followed is not None and rng.random() < 0.7
        mood = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [70, 20, 10])[0]
        return {
            "_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "case_no": f"990102-{received.astimezone(TZ).year}-{i:07d}",
            "status": status,
            "channel": rng.choice(["hotline", "web", "visit", "letter", "wechat"]),
            "received_at": received,
            "screened_at": screened,
            "assigned_at": assigned,
            "first_assigned_at": assigned,
            "signed_at": signed,
            "replied_at": replied,
            "followed_up_at": followed,
            "jurisdiction": {"town": town, "village": village, "grid": grid},
            "category": {"code": code, "subcode": rng.choice(subcodes)},
            "tier": tier,
            "flags": flags,
            "repeat": rng.random() < 0.10,
            "lead_unit": _ref(lead, "lead"),
            "assisting_units": [_ref(u, "assist") for u in assisting],
            "reply": {"result": "resolved" if resolved else "explained"} if replied else None,
            "rating": {"rating": mood} if rated else None,
            "deadlines": deadlines,
        }


def batches(
    synth: Synth, cases: int, size: int, rows: dict[str, dict[str, Any]], open_lines: Counter[str]
) -> Iterator[list[dict[str, Any]]]:
    """Worklist lines of the case files in batches; each file's counts are added to its rollup row,
    and its open lines are counted per unit."""
    batch: list[dict[str, Any]] = []
    for i in range(cases):
        doc = synth.case_file(i)
        for unit, role in _units(doc).items():
            entry = worklist_entry(doc, unit, role)
            batch.append(entry)
            open_lines[unit] += entry["open"]
        key = kpis.row_key(doc, TZ)
        if key is not None:
            row = rows.setdefault(kpis.row_id(key), {**key, **dict.fromkeys(kpis.COUNTERS, 0)})
            for name, value in kpis.counts(doc).items():
                row[name] += value
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
