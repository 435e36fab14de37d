"""Incident linking on a generated burst of calls: how many cases a burst makes, and how many are wrong.

    .venv/bin/python -m bench.incident_burst [--incidents 6] [--calls 40] [--unrelated 60] [--seed 7]

A burst is a few incidents (一个事项 at one estate: a smell, a burst main, a power cut...), each
reported by many callers in their own words and with their own version of the address (the estate's
name with a building, a gate, the street address, a dropped or added 小区, a typo), over a few hours,
mixed with unrelated calls: other matters at the same estates and the same matters at other estates.
Each call goes through routing's real decision (the county package's place matcher) and the linking
function routing runs on its stored routes (services/routing/domain/incidents.py), with the policy of
data/policy/incidents.json. Beside it, the cases the rule before it made: a call joins only on an
identical address (intake's rule, at the same similarity threshold).

Figures (JSON, last line): calls, cases made (calls that start an incident or stand alone: the items
units would see), the ideal number (one per matter at a place), the true incidents, wrong merges (a
call attached to an incident of another matter or place) and missed merges (a call of a matter at a
place that has a case already, which did not join it: an extra case).
"""

import argparse
import json
import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dispatch_common.paths import DEFAULT_COUNTY_DIR
from dispatch_common.similarity import fingerprint
from services.routing.domain.incidents import Candidate, IncidentPolicy, decide_incident, place_of
from services.routing.domain.models import RouteRequest
from services.routing.engine import RoutingEngine

# A matter, in the words different callers use for it: openings, what they notice, what they ask.
MATTERS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "smell": (
        [
            "小区里有股刺鼻的臭味",
            "这两天一直有很臭的味道",
            "楼下臭气熏天",
            "闻到一股化粪池的臭味",
            "化粪池好像堵了",
            "楼道里全是下水道的味儿",
            "一出门就是一股恶臭",
        ],
        [
            "像是化粪池冒出来的",
            "污水从井盖往外冒",
            "熏得人头疼窗户都不敢开",
            "晚上臭味更重",
            "已经好几天了",
            "老人孩子都受不了",
        ],
        ["请尽快派人处理", "希望赶紧疏通化粪池", "麻烦有关部门来看看", ""],
    ),
    "water": (
        [
            "小区突然停水了",
            "家里水龙头没水了",
            "从早上开始就停水",
            "整栋楼都没有自来水",
            "路边水管爆了",
            "自来水管破了在喷水",
        ],
        ["也没有提前通知停水", "水流得满地都是", "停水已经半天了", "做饭洗澡都成问题", "水压一点都没有"],
        ["什么时候能恢复供水", "请尽快抢修水管", "希望尽快来水", ""],
    ),
    "power": (
        [
            "小区停电了",
            "我们这里突然断电",
            "整个小区都没电了",
            "家里跳闸后发现整栋楼停电",
            "变压器好像烧了",
            "电又断了",
        ],
        [
            "电梯也停了有老人被困",
            "冰箱里的东西都要坏了",
            "停电好几个小时了",
            "变压器冒烟还有焦味",
            "也没有通知",
        ],
        ["请供电部门尽快抢修", "什么时候能来电", "希望尽快恢复供电", ""],
    ),
    "noise": (
        [
            "晚上工地施工噪音很大",
            "附近工地夜里还在打桩",
            "半夜机器轰隆隆响",
            "工地施工太吵了",
            "旁边在建的楼夜里一直施工",
        ],
        ["凌晨两点还在施工", "吵得孩子睡不着觉", "已经连续一个星期了", "渣土车进进出出", "电钻声响个不停"],
        ["请查一下有没有夜间施工许可", "希望管管夜间施工", "请执法部门来处理", ""],
    ),
    "light": (
        ["小区门口的路灯坏了", "路灯不亮了", "晚上路边一片漆黑没有路灯", "好几盏路灯都不亮"],
        ["晚上走路很危险", "已经坏了一个多月", "老人晚上出门摔倒了"],
        ["请尽快修路灯", "希望早点把路灯修好", ""],
    ),
    "dog": (
        ["小区里有流浪狗咬人", "有几条流浪狗在小区乱窜", "楼下流浪狗很多"],
        ["昨天有个孩子被咬了", "晚上一直叫", "见人就追"],
        ["请派人来抓一下", "希望处理流浪狗", ""],
    ),
}
# How callers say where: the estate's name with a building, a gate, its street address, a typo...
ADDRESS_FORMS = [
    "{name}",
    "{name}{n}号楼",
    "{name}{n}栋{u}单元",
    "{name}东门",
    "{name}北门附近",
    "{name}小区{n}号楼",
    "{street}{name}",
    "{street}",
    "{name}{n}幢",
]


@dataclass
class Call:
    """One generated call: its true incident (None: unrelated), text, address and when it came."""

    key: str  # the true matter at the true place: calls with one key are one incident
    incident: bool
    text: str
    address: str
    at: datetime


def _text(rng: random.Random, matter: str) -> str:
    openings, details, asks = MATTERS[matter]
    parts = [rng.choice(openings), rng.choice(details), rng.choice(asks)]
    return "，".join(p for p in parts if p) + "。"


def _estates(rng: random.Random) -> list[tuple[str, str]]:
    """Estates of the package's gazetteer with their street address (entries that share a grid)."""
    entries = json.loads((DEFAULT_COUNTY_DIR / "gazetteer.json").read_text(encoding="utf-8"))
    by_grid: dict[str, list[str]] = {}
    for e in entries:
        by_grid.setdefault(e["grid"], []).append(e["name"])
    pairs = [
        (names[0], names[1])
        for names in by_grid.values()
        if len(names) >= 2 and not unicodedata.numeric(names[0][-1], None)
    ]
    rng.shuffle(pairs)
    return pairs


def _address(rng: random.Random, estate: tuple[str, str]) -> str:
    name, street = estate
    form = rng.choice(ADDRESS_FORMS)
    return form.format(name=name, street=street, n=rng.randint(1, 30), u=rng.randint(1, 4))


def burst(rng: random.Random, incidents: int, calls: int, unrelated: int, start: datetime) -> list[Call]:
    """The calls of a burst, in the order they arrive."""
    estates = _estates(rng)
    matters = list(MATTERS)
    out: list[Call] = []
    chosen = [(estates[i], matters[i % len(matters)]) for i in range(incidents)]
    for estate, matter in chosen:
        first = start + timedelta(minutes=rng.randint(0, 120))
        for _ in range(calls):
            at = first + timedelta(minutes=rng.expovariate(1 / 40))
            out.append(Call(f"{estate[0]}|{matter}", True, _text(rng, matter), _address(rng, estate), at))
    for i in range(unrelated):  # its key is its matter and place: two such calls alike are one incident
        if i % 2 == 0:  # another matter at an estate of the burst
            estate, matter = rng.choice(chosen)
            matter = rng.choice([m for m in matters if m != matter])
        else:  # a burst's matter at another estate
            estate = estates[incidents + rng.randrange(len(estates) - incidents)]
            matter = rng.choice(chosen)[1]
        at = start + timedelta(minutes=rng.randint(0, 600))
        out.append(Call(f"{estate[0]}|{matter}", False, _text(rng, matter), _address(rng, estate), at))
    return sorted(out, key=lambda c: c.at)


def run(
    calls: list[Call], engine: RoutingEngine, policy: IncidentPolicy, debug: bool = False
) -> dict[str, object]:
    """Route and link every call in order; the figures."""
    stored: dict[str, list[tuple[Candidate, str]]] = {}  # place -> routed calls there, with true key
    leader_key: dict[str, str] = {}  # incident id -> the true key of its lead call
    made = wrong = missed = unplaced = 0
    joined_keys: set[str] = set()
    by_address: dict[str, list[Candidate]] = {}  # intake's rule: identical address, similar text
    intake_cases = 0
    for n, call in enumerate(calls):
        case_id = f"c{n}"
        decision = engine.decide(RouteRequest(channel="hotline_12345", text=call.text, address=call.address))
        place = place_of(decision.jurisdiction, policy)
        print_ = fingerprint(call.text)
        same_address = by_address.setdefault("".join(call.address.split()), [])
        by_intake = decide_incident(
            place=("address", call.address),
            place_name=None,
            at=call.at,
            text=print_,
            candidates=same_address,
            lead_case_nos={},
            policy=policy,
        )
        intake_cases += by_intake is None
        same_address.append(
            Candidate(case_id, case_id, by_intake.incident_id if by_intake else case_id, call.at, print_)
        )
        link = None
        if place is not None:
            here = stored.setdefault(place[1], [])
            link = decide_incident(
                place=place,
                place_name=decision.jurisdiction.matched,
                at=call.at,
                text=print_,
                candidates=[c for c, _ in here][-policy.max_candidates :],
                lead_case_nos={},
                policy=policy,
            )
        else:
            unplaced += 1
        incident_id = link.incident_id if link else case_id
        if link is None:
            made += 1
            leader_key[case_id] = call.key
            if call.key in joined_keys:
                missed += 1  # its incident exists already: this call makes an extra case
            joined_keys.add(call.key)
        elif leader_key[link.incident_id] != call.key:
            wrong += 1
            if debug:
                print(
                    "wrong:",
                    call.key,
                    call.address,
                    call.text,
                    "->",
                    leader_key[link.incident_id],
                    link.similarity,
                )
        if place is not None:
            stored[place[1]].append((Candidate(case_id, case_id, incident_id, call.at, print_), call.key))
    true_incidents = len({c.key for c in calls if c.incident})
    matters = len({c.key for c in calls})
    return {
        "calls": len(calls),
        "incident_calls": sum(c.incident for c in calls),
        "unrelated_calls": sum(not c.incident for c in calls),
        "true_incidents": true_incidents,
        "cases_made": made,
        "ideal_cases": matters,  # one per matter at a place
        "wrong_merges": wrong,
        "missed_merges": missed,
        "unplaced_calls": unplaced,
        "cases_made_by_identical_address_only": intake_cases,
        "policy": {"window_hours": policy.window_hours, "similarity": policy.similarity},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=6)
    parser.add_argument("--calls", type=int, default=40, help="calls per incident")
    parser.add_argument("--unrelated", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--similarity", type=float, default=None, help="override the policy's threshold")
    parser.add_argument("--debug", action="store_true", help="print each wrong merge")
    args = parser.parse_args()
    policy = IncidentPolicy.load()
    if args.similarity is not None:
        policy = policy.model_copy(update={"similarity": args.similarity})
    rng = random.Random(args.seed)
    calls = burst(rng, args.incidents, args.calls, args.unrelated, datetime(2026, 6, 1, 8, tzinfo=UTC))
    print(
        json.dumps(
            run(calls, RoutingEngine.from_dir(DEFAULT_COUNTY_DIR), policy, args.debug), ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
