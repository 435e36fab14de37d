"""One normalisation of phone and ID numbers for intake and supervision (dispatch_common/identity_keys.py,
decision 0046): a number intake accepts keeps the key it always had, a number written with a country
code or separators is the same person's, supervision's parties are keyed alike (and re-keyed by
`make rekey` when stored the old way), and the keys an event carries open only for their entry."""

import secrets

import pytest

from dispatch_common.crypto import KeyRing, PiiKeys, UndecryptableError, keyed_hash
from dispatch_common.identity_keys import (
    id_number_hash,
    ledger_keys_aad,
    open_keys,
    person_keys,
    phone_hash,
    phone_key,
    seal_keys,
)
from dispatch_common.rekey import Resealing
from services.intake.domain.identity import PHONE, with_check_digit
from services.intake.domain.models import Petitioner
from services.intake.domain.protection import protect_person
from services.supervision.domain.ledger_parties import (
    party_keys,
    protected_party,
    reseal_entry,
    sealed_party_keys,
)

KEYS = PiiKeys(KeyRing("k1", {"k1": secrets.token_bytes(32)}), secrets.token_bytes(32))
ID = with_check_digit("11010519800101123")


@pytest.mark.parametrize(
    "phone", ["13912345678", "19800001111", "0471-1234567", "04711234567", "010-12345678"]
)
def test_a_number_intake_accepts_keeps_the_key_it_had_its_digits(phone):
    assert PHONE.match(phone)
    assert phone_key(phone) == "".join(c for c in phone if c.isdigit())  # the key before the move
    assert phone_hash(KEYS, phone) == keyed_hash(KEYS, "".join(c for c in phone if c.isdigit()))


@pytest.mark.parametrize(
    "written", ["+86 139 1234 5678", "+86-139-1234-5678", "008613912345678", "8613912345678", "139-1234-5678"]
)
def test_a_mobile_number_with_a_country_code_or_separators_is_the_same_persons(written):
    assert phone_key(written) == "13912345678"
    assert phone_hash(KEYS, written) == phone_hash(KEYS, "13912345678")


def test_a_landline_is_not_cut_and_other_numbers_stay_apart():
    assert phone_key("0086-0471-1234567") == "008604711234567"  # no mobile number follows the 0086
    assert phone_hash(KEYS, "13912345679") != phone_hash(KEYS, "13912345678")


def test_intake_and_supervision_key_a_person_alike():
    stored = protect_person(
        KEYS, Petitioner(name="张三", phone="13912345678", id_number=ID), case_id="c1", role="petitioner"
    )
    party = protected_party(
        KEYS, "E1", {"name": "张三", "phone": "+86-139-1234-5678", "id_number": ID.lower()}
    )
    assert party["phone_hash"] == stored["phone_hash"] and party["id_number_hash"] == stored["id_hash"]
    assert party_keys([party]) == sorted([stored["id_hash"], stored["phone_hash"]])
    assert person_keys(KEYS, {"id_number": ID, "phone": "13912345678"}) == [
        stored["id_hash"],
        stored["phone_hash"],
    ]
    assert id_number_hash(KEYS, ID) == stored["id_hash"]


def test_the_keys_an_opening_carries_are_sealed_and_open_only_for_their_entry():
    party = protected_party(KEYS, "E1", {"name": "张三", "phone": "13912345678"})
    token = sealed_party_keys(KEYS, "E1", [party])
    assert token is not None and party["phone_hash"] not in token
    assert open_keys(KEYS, token, aad=ledger_keys_aad("E1")) == [party["phone_hash"]]
    with pytest.raises(UndecryptableError):
        open_keys(KEYS, token, aad=ledger_keys_aad("E2"))  # moved to another entry's event
    assert sealed_party_keys(KEYS, "E3", [protected_party(KEYS, "E3", {"name": "无号码"})]) is None
    assert open_keys(KEYS, seal_keys(KEYS, [], aad="x"), aad="x") == []


def test_rekey_hashes_again_a_party_phone_stored_as_given_and_leaves_the_rest():
    old = protected_party(KEYS, "E1", {"name": "张三", "phone": "+86-139-1234-5678"})
    old["phone_hash"] = keyed_hash(KEYS, "+86-139-1234-5678")  # as supervision hashed it before 0046
    sealing = Resealing(KEYS)
    out = reseal_entry(sealing, {"_id": "E1", "parties": [old]})
    assert out["parties"][0]["phone_hash"] == phone_hash(KEYS, "13912345678") and sealing.resealed == 1

    current = protected_party(KEYS, "E2", {"name": "李四", "phone": "13912345678"})
    sealing = Resealing(KEYS)
    assert reseal_entry(sealing, {"_id": "E2", "parties": [current]})["parties"] == [current]
    assert sealing.resealed == 0  # nothing to write: the rekey run leaves the entry alone
