"""Places learned from people's corrections (learned_places.py): names, agreement, and what is skipped."""

from services.routing.domain.learned_places import LearnedPlaces, PlaceExample, place_name


def test_the_name_of_an_address_leaves_out_its_details() -> None:
    assert place_name("城北市场 3号楼2单元") == "城北市场"
    assert place_name("城北市场，东门") == "城北市场"
    assert place_name("城北市场十二号") == "城北市场"


def test_a_name_is_learned_when_corrections_agree() -> None:
    examples = [PlaceExample("城北市场3号", "A"), PlaceExample("城北市场5号楼", "A")]
    learned = LearnedPlaces.learn(examples, lambda name: False)
    place = learned.match("家住城北市场东门")
    assert place is not None and (place.name, place.area, place.corrections) == ("城北市场", "A", 2)


def test_one_correction_or_a_disagreement_teaches_nothing() -> None:
    assert len(LearnedPlaces.learn([PlaceExample("城北市场", "A")], lambda name: False)) == 0
    split = [PlaceExample("城北市场", "A"), PlaceExample("城北市场", "A"), PlaceExample("城北市场1号", "B")]
    assert len(LearnedPlaces.learn(split, lambda name: False)) == 0


def test_names_the_package_reads_or_too_short_are_not_learned() -> None:
    twice = [PlaceExample("城北市场", "A"), PlaceExample("城北市场", "A")]
    assert len(LearnedPlaces.learn(twice, lambda name: True)) == 0
    short = [PlaceExample("北门", "A"), PlaceExample("北门", "A")]
    assert len(LearnedPlaces.learn(short, lambda name: False)) == 0
