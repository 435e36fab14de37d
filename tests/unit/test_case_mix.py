"""The end-to-end benchmark's cases: valid submissions, drawn from the labelled cases, with the
repeats and incidents it says it makes."""

from collections import Counter

from bench.case_mix import CaseMix, labelled_cases
from services.intake.domain.models import SubmitCase


def test_every_generated_submission_is_one_intake_accepts():
    for _, body in CaseMix(seed=1).bodies(2000):
        SubmitCase.model_validate(body)  # raises on any field a channel needs and lacks


def test_kinds_come_in_the_shares_asked_for_and_fresh_cases_follow_the_labelled_channels():
    mix = CaseMix(repeat_share=0.2, incident_share=0.1, seed=2)
    made = list(mix.bodies(5000))
    kinds = Counter(kind for kind, _ in made)
    assert 0.17 < kinds["repeat"] / 5000 < 0.23 and 0.08 < kinds["incident"] / 5000 < 0.12
    labelled = Counter(case["channel"] for case in labelled_cases())
    fresh = Counter(body["channel"] for kind, body in made if kind == "fresh")
    top = labelled.most_common(1)[0][0]
    share_labelled, share_fresh = labelled[top] / labelled.total(), fresh[top] / fresh.total()
    assert abs(share_labelled - share_fresh) < 0.05


def test_a_repeat_is_an_earlier_petitioner_and_an_incident_an_earlier_place_with_someone_else():
    mix = CaseMix(repeat_share=0.3, incident_share=0.3, seed=3)
    earlier: list[dict] = []
    repeats = incidents = 0
    for kind, body in mix.bodies(600):
        if kind == "repeat" and body["petitioner"].get("phone"):
            assert any(e["petitioner"].get("phone") == body["petitioner"]["phone"] for e in earlier)
            repeats += 1
        if kind == "incident":
            place = (body.get("address"), body.get("lon"), body.get("lat"))
            same = [e for e in earlier if (e.get("address"), e.get("lon"), e.get("lat")) == place]
            # another person: a different one, or anonymous on either side (intake never links those)
            assert same and any(
                e["petitioner"] != body["petitioner"] or body["petitioner"].get("anonymous") for e in same
            )
            incidents += 1
        earlier.append(body)
    assert repeats > 50 and incidents > 100


def test_fresh_calls_about_one_place_differ_in_the_door_so_they_are_not_one_address():
    mix = CaseMix(repeat_share=0, incident_share=0, seed=4)
    addresses = [body["address"] for _, body in mix.bodies(3000) if body.get("address")]
    assert len(set(addresses)) > 0.9 * len(addresses)
