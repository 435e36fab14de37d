"""Repeats and incidents decided from candidate lists: windows, thresholds, people and places."""

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from services.intake.domain.duplicates import (
    CaseSnapshot,
    DuplicatePolicy,
    Links,
    address_key,
    decide_links,
    neighbour_cells,
    neighbourhood_block,
    place_blocks,
    place_cell,
    place_cells,
)
from tests.intake_cases import (
    ALICE,
    BOB,
    CAROL,
    LAT,
    LIGHT,
    LIGHT_AGAIN,
    LON,
    NOISE,
    NOISE_AGAIN,
    POLICY,
    WAGES,
    snapshot,
)

_seq = iter(range(1, 10_000))


def case(
    text: str,
    *,
    ago: timedelta = timedelta(0),
    who: str | None = ALICE,
    lon: float | None = LON,
    lat: float | None = LAT,
    address: str | None = None,
    incident_id: str | None = None,
    case_id: str | None = None,
) -> CaseSnapshot:
    n = next(_seq)
    snap = snapshot(
        n, text, case_id=case_id or f"case-{n}", ago=ago, who=who, lon=lon, lat=lat, address=address
    )
    return replace(snap, incident_id=incident_id) if incident_id else snap


def links_for(new: CaseSnapshot, *candidates: CaseSnapshot) -> Links:
    """Candidates go to both lists, as find_links would fetch them when they match both keys."""
    repeat = [c for c in candidates if new.petitioner_hash and c.petitioner_hash == new.petitioner_hash]
    return decide_links(new, repeat, list(candidates), POLICY)


# -- the policy and place keys ------------------------------------------------------------------------


def test_policy_file_holds_the_issue_figures():
    assert POLICY.repeat_window == timedelta(days=90)
    assert POLICY.incident_window == timedelta(hours=48)
    assert POLICY.max_candidates == 200
    assert 0 < POLICY.repeat_similarity < 1 and 0 < POLICY.incident_similarity < 1


def test_policy_rejects_bad_values_and_unknown_keys(tmp_path):
    with pytest.raises(ValueError, match="repeat_similarity"):
        DuplicatePolicy(repeat_similarity=1.5)
    with pytest.raises(ValueError, match="cell_deg"):
        DuplicatePolicy(cell_deg=0)
    path = tmp_path / "dup.json"
    path.write_text(json.dumps({"repeat_window_days": 30, "typo_threshold": 0.5}), encoding="utf-8")
    with pytest.raises(ValueError, match="typo_threshold"):
        DuplicatePolicy.load(path)
    path.write_text(json.dumps({"repeat_window_days": 30, "description": "x"}), encoding="utf-8")
    assert DuplicatePolicy.load(path).repeat_window == timedelta(days=30)


def test_place_cells_are_the_cell_and_its_eight_neighbours():
    cells = place_cells(LON, LAT, 0.002)
    assert len(cells) == len(set(cells)) == 9
    assert cells[0] == place_cell(LON, LAT, 0.002)
    assert cells == neighbour_cells(cells[0])
    # 150 m east is the same or the next cell; 1 km east is outside the neighbourhood
    assert place_cell(LON + 0.00175, LAT, 0.002) in cells
    assert place_cell(LON + 0.0117, LAT, 0.002) not in cells
    # cells of a different size never compare equal
    assert place_cell(LON, LAT, 0.004) not in cells


def test_place_cells_across_zero_and_negative_coordinates():
    cells = place_cells(-0.0001, 0.0001, 0.002)
    assert cells[0] == "2000:-1:0"
    assert "2000:0:0" in cells and "2000:-2:-1" in cells


def test_address_key_ignores_width_spaces_and_punctuation():
    assert address_key(" 解放路 １２号，幸福小区-3号楼 ") == address_key("解放路12号幸福小区3号楼")
    assert address_key("") is None and address_key(None) is None and address_key("，。 ") is None


def test_snapshot_requires_aware_time():
    with pytest.raises(ValueError):
        CaseSnapshot(case_id="x", case_no="n", received_at=datetime(2026, 1, 1), text="路灯坏了")


# -- repeats ------------------------------------------------------------------------------------------


def test_same_petitioner_similar_request_within_window_is_a_repeat():
    earlier = case(NOISE, ago=timedelta(days=10))
    new = case(NOISE_AGAIN)
    links = links_for(new, earlier)
    assert links.repeat_of is not None
    assert links.repeat_of.case_id == earlier.case_id and links.repeat_of.case_no == earlier.case_no
    assert links.repeat_of.similarity >= POLICY.repeat_similarity
    assert links.incident_of is None  # one's own earlier report is not another report of an incident
    assert any(e.startswith(f"repeat of {earlier.case_no}") for e in links.evidence)
    assert links.to_document()["repeat_of"]["case_id"] == earlier.case_id


def test_outside_the_window_is_not_a_repeat():
    assert links_for(case(NOISE_AGAIN), case(NOISE, ago=timedelta(days=91))).repeat_of is None
    assert links_for(case(NOISE_AGAIN), case(NOISE, ago=timedelta(days=89))).repeat_of is not None


def test_a_later_case_is_never_what_a_new_case_repeats():
    assert links_for(case(NOISE_AGAIN), case(NOISE, ago=-timedelta(hours=1))).repeat_of is None


def test_different_petitioner_is_not_a_repeat_even_with_the_same_text():
    other = case(NOISE, ago=timedelta(days=10), who=BOB, lon=LON + 0.5)
    links = decide_links(case(NOISE), [other], [], POLICY)
    assert links.repeat_of is None


def test_a_different_request_of_the_same_petitioner_is_not_a_repeat_but_leaves_evidence():
    links = links_for(case(LIGHT_AGAIN), case(WAGES, ago=timedelta(days=3)))
    assert links.repeat_of is None
    assert any(e.startswith("not a repeat") for e in links.evidence)


def test_the_petitioners_earlier_cases_in_the_window_are_counted_similar_or_not():
    mine = [case(NOISE, ago=timedelta(days=d)) for d in (2, 30, 89)]
    unrelated = case(WAGES, ago=timedelta(days=3))
    too_old = case(NOISE, ago=timedelta(days=95))
    someone_else = case(NOISE, ago=timedelta(days=4), who=BOB, lon=LON + 0.5)
    links = links_for(case(LIGHT_AGAIN), *mine, unrelated, too_old, someone_else)
    assert links.earlier_cases == 4 and links.to_document()["earlier_cases"] == 4
    assert decide_links(case(NOISE, who=None), mine, [], POLICY).earlier_cases == 0  # anonymous


def test_the_most_similar_earlier_case_wins_and_ties_go_to_the_most_recent():
    far = case(NOISE, ago=timedelta(days=30))
    near = case(NOISE, ago=timedelta(days=5))
    weaker = case(NOISE_AGAIN, ago=timedelta(days=1))
    links = links_for(case(NOISE), far, weaker, near)
    assert links.repeat_of.case_id == near.case_id
    assert links.repeat_of.similarity == 1.0


def test_anonymous_cases_never_form_a_repeat():
    earlier = case(NOISE, ago=timedelta(days=1), who=None)
    assert decide_links(case(NOISE, who=None), [earlier], [], POLICY).repeat_of is None


def test_the_new_case_itself_is_never_a_candidate():
    new = case(NOISE, case_id="same-id")
    assert links_for(new, replace(new)) == Links()


# -- incidents ----------------------------------------------------------------------------------------


def test_other_people_at_a_neighbouring_cell_within_the_window_form_an_incident():
    first = case(LIGHT, ago=timedelta(hours=20), who=BOB, lon=LON + 0.0018)
    links = links_for(case(LIGHT_AGAIN), first)
    assert links.repeat_of is None
    assert links.incident_of is not None
    assert links.incident_of.incident_id == first.case_id  # the first case names the incident
    assert links.incident_of.case_ids == (first.case_id,)
    assert any("joins incident" in e for e in links.evidence)


def test_same_address_without_coordinates_forms_an_incident():
    first = case(LIGHT, ago=timedelta(hours=3), who=BOB, lon=None, lat=None, address="解放路 12号")
    new = case(LIGHT_AGAIN, who=CAROL, lon=None, lat=None, address="解放路１２号")
    links = links_for(new, first)
    assert links.incident_of is not None and links.incident_of.incident_id == first.case_id
    assert "same address" in links.evidence[0]


def test_far_away_or_too_long_ago_or_unrelated_is_no_incident():
    far = case(LIGHT, ago=timedelta(hours=2), who=BOB, lon=LON + 0.02)
    old = case(LIGHT, ago=timedelta(hours=49), who=BOB)
    unrelated = case(WAGES, ago=timedelta(hours=2), who=BOB)
    assert links_for(case(LIGHT_AGAIN), far, old, unrelated).incident_of is None


def test_an_incident_window_counts_both_ways():
    later = case(LIGHT, ago=-timedelta(hours=5), who=BOB)  # a late-registered letter, received after
    assert links_for(case(LIGHT_AGAIN), later).incident_of is not None


def test_joining_an_existing_incident_keeps_its_id_and_lists_its_matching_members():
    root = case(LIGHT, ago=timedelta(hours=30), who=BOB)
    member = case(LIGHT_AGAIN, ago=timedelta(hours=10), who=CAROL, incident_id=root.case_id)
    links = links_for(case(LIGHT_AGAIN, who=None), root, member)
    assert links.incident_of.incident_id == root.case_id
    assert links.incident_of.case_ids == (root.case_id, member.case_id)
    assert links.incident_of.case_nos == (root.case_no, member.case_no)


def test_an_incident_is_represented_by_its_first_reports_only():
    k = POLICY.incident_representatives
    root = case(LIGHT, ago=timedelta(hours=30), who=BOB)
    assert links_for(root).represents_incident  # it starts an incident
    reps = [root] + [
        case(LIGHT_AGAIN, ago=timedelta(hours=20 - n), who=f"who-{n}", incident_id=root.case_id)
        for n in range(k - 1)
    ]
    assert links_for(case(LIGHT_AGAIN, who=None), *reps[:-1]).represents_incident  # one place left
    full = links_for(case(LIGHT_AGAIN, who=None), *reps)
    assert full.incident_of.incident_id == root.case_id and not full.represents_incident
    other = case(WAGES, ago=timedelta(hours=1), who=CAROL)  # another incident's representative
    assert links_for(case(WAGES, who=None), *reps, other).represents_incident


def test_a_policy_needs_at_least_one_representative_per_incident():
    with pytest.raises(ValueError, match="incident_representatives"):
        DuplicatePolicy(incident_representatives=0)


def test_anonymous_reporters_join_an_incident_and_are_joined():
    anonymous_first = case(NOISE, ago=timedelta(hours=5), who=None)
    assert links_for(case(NOISE_AGAIN, who=BOB), anonymous_first).incident_of is not None
    links = links_for(case(NOISE_AGAIN, who=None), case(NOISE, ago=timedelta(hours=5), who=None))
    assert links.incident_of is not None and links.repeat_of is None


def test_a_repeat_and_an_incident_at_once():
    mine = case(NOISE, ago=timedelta(hours=30))
    neighbour = case(NOISE_AGAIN, ago=timedelta(hours=2), who=BOB)
    links = links_for(case(NOISE_AGAIN), mine, neighbour)
    assert links.repeat_of.case_id == mine.case_id
    assert links.incident_of.incident_id == neighbour.case_id


def test_only_max_candidates_most_recent_are_compared():
    policy = replace(POLICY, max_candidates=5)
    matching_old = case(LIGHT, ago=timedelta(hours=40), who=BOB)
    recent_noise = [case(WAGES, ago=timedelta(hours=h), who=CAROL) for h in range(1, 6)]
    new = case(LIGHT_AGAIN)
    assert decide_links(new, [], [matching_old, *recent_noise], policy).incident_of is None
    assert decide_links(new, [], [matching_old, *recent_noise], POLICY).incident_of is not None


@pytest.mark.parametrize("ix", [-5, -3, -2, -1, 0, 1, 2, 3, 4, 7])
@pytest.mark.parametrize("iy", [-4, -2, 0, 1, 5, 6])
def test_a_neighbourhood_lies_within_one_stored_block(ix, iy):
    cell = f"2000:{ix}:{iy}"
    field, key = neighbourhood_block(cell)
    # every cell of the neighbourhood carries that block under that field
    assert all(place_blocks(c)[field] == key for c in neighbour_cells(cell))
    # and the block is 4 x 4 cells: the lookup reads at most 16 cells for the 9 it needs
    around = [f"2000:{x}:{y}" for x in range(-12, 14) for y in range(-12, 14)]
    assert sum(place_blocks(c)[field] == key for c in around) == 16


def test_every_cell_has_one_block_per_lattice_and_sizes_never_mix():
    blocks = place_blocks("2000:5:-7")
    assert sorted(blocks) == ["place_block_00", "place_block_02", "place_block_20", "place_block_22"]
    assert len(set(blocks.values())) == 4
    assert set(place_blocks("1000:5:-7").values()).isdisjoint(blocks.values())
