"""Identities seen together: which key a case is recorded under and which keys find its earlier cases."""

from services.intake.domain.identities import pair_id, resolve

ID1, ID2, PHONE = "i" * 64, "j" * 64, "p" * 64


def test_no_id_number_and_no_phone_is_nobody() -> None:
    assert resolve(None, None, []).person is None and resolve(None, None, []).keys == ()


def test_a_phone_never_seen_with_an_id_number_is_a_person_of_its_own() -> None:
    found = resolve(None, PHONE, [])
    assert (found.person, found.keys, found.link) == (PHONE, (PHONE,), None)


def test_a_phone_seen_with_one_id_number_is_that_person_and_finds_both_keys() -> None:
    found = resolve(None, PHONE, [ID1])
    assert (found.person, found.keys, found.link) == (ID1, (ID1, PHONE), None)


def test_an_id_number_with_a_new_phone_links_them_once() -> None:
    first = resolve(ID1, PHONE, [])
    assert first.person == ID1 and first.keys == (ID1, PHONE)
    assert first.link == {"_id": pair_id(PHONE, ID1), "phone": PHONE, "person": ID1}
    assert resolve(ID1, PHONE, [ID1]).link is None  # seen before: nothing new to keep


def test_a_phone_shared_by_two_id_numbers_identifies_neither() -> None:
    second = resolve(ID2, PHONE, [ID1])
    assert second.person == ID2 and second.keys == (ID2,)  # the phone's cases are not ID2's
    assert second.link == {"_id": pair_id(PHONE, ID2), "phone": PHONE, "person": ID2}
    alone = resolve(None, PHONE, [ID1, ID2])
    assert alone.person == PHONE and alone.keys == (PHONE,)


def test_an_id_number_alone_is_itself() -> None:
    assert resolve(ID1, None, []).keys == (ID1,)
