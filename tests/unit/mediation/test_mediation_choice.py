"""Choosing the organization (by jurisdiction, type, category) and the mediator (by language,
specialty and load), on the shipped organizations, mediators and policy."""

from services.mediation.domain.mediators import Mediator, choose_mediator
from tests.mediation_cases import (
    LABOUR_MEDIATION,
    RULES,
    SEED,
    TOWN,
    TOWN_COMMITTEE,
    VILLAGE,
    VILLAGE_COMMITTEE,
)


def choose(**kw):
    args = {
        "village": VILLAGE,
        "town": TOWN,
        "category": "14",
        "subcategory": "1401",
        "requested": None,
        "start_level": "village",
    } | kw
    return RULES.directory.choose(**args)


def test_a_neighbour_or_land_dispute_in_a_village_goes_to_that_villages_committee_first():
    for sub in ("1401", "1402"):
        assert choose(subcategory=sub).organization.code == VILLAGE_COMMITTEE
    land = choose(category="06", subcategory="0602")
    assert land.organization.code == VILLAGE_COMMITTEE
    assert any("no professional organization names 0602" in line for line in land.explanation)


def test_a_wage_dispute_goes_to_labour_dispute_mediation_which_names_its_category():
    choice = choose(category="05", subcategory="0501")
    assert choice.organization.code == LABOUR_MEDIATION and choice.organization.type == "professional"
    # asked for people's mediation explicitly, the village committee takes it after all
    assert (
        choose(category="05", subcategory="0501", requested="people").organization.code == VILLAGE_COMMITTEE
    )


def test_a_bigger_dispute_starts_at_the_town_and_a_case_without_a_village_goes_to_its_town():
    assert choose(start_level="town").organization.code == TOWN_COMMITTEE
    assert RULES.policy.start_level("key", []) == "town"
    assert RULES.policy.start_level("general", ["group"]) == "town"
    assert RULES.policy.start_level("general", ["police"]) == "village"
    assert choose(village=None).organization.code == TOWN_COMMITTEE


def test_court_police_and_petition_rooms_are_chosen_when_asked_for():
    police = choose(requested="police").organization
    assert police.type == "police" and police.jurisdiction == TOWN  # the station of the case's town
    assert choose(requested="court").organization.type == "court"
    assert choose(requested="petition").organization.type == "petition"


def test_no_place_means_no_committee_and_the_reason_says_so():
    choice = choose(village=None, town=None)
    assert choice.organization is None
    assert "no people's mediation committee" in choice.explanation[-1]


def m(id_, specialties, *, load_max=4, available=True, languages=("zh",)):
    return Mediator(
        id=id_,
        name=id_,
        organization="O",
        specialties=list(specialties),
        languages=list(languages),
        available=available,
        max_load=load_max,
    )


def test_the_mediator_is_chosen_by_specialty_then_load_and_never_over_the_maximum_or_unavailable():
    family, neighbours, busy = m("A", ["1402"]), m("B", ["1401"]), m("C", ["1401"], load_max=2)
    assert choose_mediator([family, neighbours], {}, category="14", subcategory="1401").mediator.id == "B"
    # the specialist at their maximum load gives way; the first-level specialist is next
    assert choose_mediator([family, busy], {"C": 2}, category="14", subcategory="1401").mediator.id == "A"
    away = m("D", ["1401"], available=False)
    assert choose_mediator([away, family], {}, category="14", subcategory="1401").mediator.id == "A"
    lighter = m("E", ["1401"], load_max=10)
    assert (
        choose_mediator(
            [neighbours, lighter], {"B": 2, "E": 2}, category="14", subcategory="1401"
        ).mediator.id
        == "E"
    )
    none = choose_mediator([away, busy], {"C": 2}, category="14", subcategory="1401")
    assert none.mediator is None and "no mediator" in none.explanation[-1]


def test_the_parties_language_comes_before_specialty():
    speaker = m("A", ["1402"], languages=("zh", "mn"))
    specialist = m("B", ["1401"])
    chosen = choose_mediator([specialist, speaker], {}, category="14", subcategory="1401", language="mn")
    assert chosen.mediator.id == "A" and "speaks mn" in chosen.explanation[-1]


def test_the_shipped_mediators_cover_every_committee_of_the_county_package():
    organizations = {m.organization for m in SEED}
    committees = {c for c, o in RULES.directory.organizations.items() if o.source == "county_package"}
    assert committees <= organizations
