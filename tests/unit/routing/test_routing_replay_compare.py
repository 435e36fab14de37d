"""The replay's comparison: which parts of two decisions differ, the load each gives the units, and a
batch of stored routes decided by two engines (the same engine code the consumer uses)."""

import json
from pathlib import Path
from typing import Any

from services.routing.domain.county import CountyPackage
from services.routing.domain.models import RouteRequest
from services.routing.domain.replay import UnitLoad, changed_parts, lead, outline
from services.routing.engine import RoutingEngine
from services.routing.replay import Tally, compare, write_candidate


def decision(town: str | None, unit: str | None, *, queue: str = "auto", **more: Any) -> dict[str, Any]:
    return {
        "jurisdiction": {"town": town, "village": None},
        "category": {"code": more.get("category", "02"), "subcode": None},
        "lead_unit": {"code": unit} if unit else None,
        "assisting_units": [{"code": c} for c in more.get("assisting", [])],
        "tier": more.get("tier", "general"),
        "flags": more.get("flags", []),
        "queue": queue,
    }


def test_only_the_parts_that_differ_are_reported_in_a_fixed_order() -> None:
    a = outline(decision("T1", "U1", assisting=["B", "A"], flags=["x", "y"]))
    b = outline(decision("T1", "U1", assisting=["A", "B"], flags=["y", "x"]))
    assert changed_parts(a, b) == []  # the order of units and flags is no change
    c = outline(decision("T2", "U2", tier="urgent", flags=["x"]))
    assert changed_parts(a, c) == ["town", "lead_unit", "assisting_units", "tier", "flags"]


def test_the_load_counts_leads_dispatched_at_once_and_what_moves_between_them() -> None:
    load = UnitLoad()
    load.add(outline(decision("T1", "U1")), outline(decision("T2", "U2")))  # moved U1 → U2
    load.add(outline(decision("T1", "U1")), outline(decision("T1", "U1")))  # stays
    load.add(outline(decision("T1", "U2")), outline(decision(None, "U3", queue="manual")))  # to a person
    assert lead(outline(decision(None, "U3", queue="manual"))) is None
    assert load.rows() == [
        {"unit": "U1", "before": 2, "after": 1, "moved_in": 0, "moved_out": 1},
        {"unit": "U2", "before": 1, "after": 1, "moved_in": 1, "moved_out": 1},
    ]


def test_a_batch_reports_the_routes_a_new_phrase_changes(county_dir: Path, tmp_path: Path) -> None:
    lexicon = json.loads((county_dir / "lexicon.json").read_text(encoding="utf-8"))
    lexicon["phrases"]["0201"]["飞絮卡丁车"] = 3.0
    write_candidate({"lexicon.json": json.dumps(lexicon, ensure_ascii=False)}, county_dir, tmp_path)
    baseline = RoutingEngine(CountyPackage.from_dir(county_dir))
    candidate = RoutingEngine(CountyPackage.from_dir(tmp_path))
    assert candidate.version != baseline.version
    texts = ["路边垃圾桶满了好几天没人清运，臭味很大。", "反映一下飞絮卡丁车的问题。"]
    routes = []
    for i, text in enumerate(texts):
        request = RouteRequest(channel="hotline_12345", text=text, address="城关街道幸福锦绣家园")
        stored = baseline.decide(request).model_dump(mode="json")
        routes.append(
            {
                "_id": f"c{i}",
                "case_no": f"n{i}",
                "decided_at": None,
                "request": request.model_dump(),
                "decision": stored,
            }
        )
    tally = Tally()
    found = compare(baseline, candidate, routes, tally)
    assert [d["case_id"] for d in found] == ["c1"]
    assert "category" in found[0]["changed"] and found[0]["after"]["category"] == "02"
    assert (tally.cases, tally.changed, tally.drifted) == (2, 1, 0)


def test_a_candidate_of_no_changed_file_is_the_package_in_use(county_dir: Path, tmp_path: Path) -> None:
    write_candidate({}, county_dir, tmp_path)
    assert CountyPackage.from_dir(tmp_path).version == CountyPackage.from_dir(county_dir).version


def test_tallies_of_chunks_merged_are_the_tally_of_the_whole() -> None:
    pairs = [
        (decision("T1", "U1"), decision("T2", "U2", flags=["x"])),
        (decision("T1", "U1"), decision("T1", "U1")),
        (decision("T1", "U2"), decision(None, "U3", queue="manual")),
        (decision("T2", "U2"), decision("T2", "U1", tier="urgent")),
    ]

    def tally(chunk: list[tuple[dict[str, Any], dict[str, Any]]]) -> Tally:
        counted = Tally()
        for before, after in chunk:
            was, will = outline(before), outline(after)
            counted.cases += 1
            counted.load.add(was, will)
            if parts := changed_parts(was, will):
                counted.changed += 1
                counted.parts.update(parts)
        return counted

    merged = tally(pairs[:1])
    merged.merge(tally(pairs[1:3]))
    merged.merge(tally(pairs[3:]))
    assert merged.result() == tally(pairs).result()
    assert merged.result()["cases"] == 4 and merged.result()["changed"] == 3
