"""A printed letter names the petitioner in full, without I/O: the name and address tokens open only
for their own case, the addressee line changes only where it held the masked name, the address block
and the notes say what is printed, and `make rekey` reseals the tokens on notify's view of a case."""

import os

from dispatch_common.crypto import KeyRing, PiiKeys, address_aad, decrypt, encrypt, key_id, name_aad
from dispatch_common.rekey import Resealing
from services.notify.domain import addressee
from services.notify.domain.sealed import reseal_case_view

KEYS = PiiKeys(KeyRing("a", {"a": os.urandom(32)}), b"h" * 32)
NAME, ADDRESS = "欧阳明远", "幸福路12号3单元501室"
LETTER = (
    '<html><body><h1>答复意见书</h1><p class="number">示信复〔2026〕1号</p>'
    '<p class="to">欧***：</p><p>您反映的事项已办理完毕。</p></body></html>'
)


def sealed_for(case_id: str) -> dict[str, object]:
    return {
        "anonymous": False,
        "name_masked": "欧***",
        "name_token": encrypt(KEYS, NAME, aad=name_aad(case_id)),
        "address_token": encrypt(KEYS, ADDRESS, aad=address_aad(case_id)),
    }


def test_the_tokens_open_for_their_case_and_the_letter_names_the_petitioner_and_the_address():
    who = addressee.opened(KEYS, sealed_for("case-a"), "case-a")
    assert (who.name, who.address, who.notes) == (NAME, ADDRESS, ())
    assert who.opened == ("petitioner.name", "petitioner.postal_address")
    html = addressee.printed(LETTER, who, masked_name="欧***")
    assert '<p class="to">欧阳明远：</p>' in html and "欧***" not in html
    assert html.index('<p class="envelope">幸福路12号3单元501室<br>欧阳明远 收</p>') < html.index("<h1>")


def test_a_token_of_another_case_does_not_open_and_the_letter_keeps_the_masked_name_with_a_note():
    who = addressee.opened(KEYS, sealed_for("case-a"), "case-b")  # copied into case B: bound to A
    assert (who.name, who.address, who.opened, who.notes) == (None, None, (), (addressee.UNREADABLE,))
    html = addressee.printed(LETTER, who, masked_name="欧***")
    assert '<p class="to">欧***：</p>' in html and addressee.UNREADABLE in html and "envelope" not in html


def test_without_tokens_the_letter_says_what_it_could_not_name():
    who = addressee.opened(KEYS, {"anonymous": False, "name_masked": "欧***"}, "case-a")
    assert who.notes == (addressee.NO_NAME, addressee.NO_ADDRESS) and who.opened == ()
    html = addressee.printed(LETTER, who, masked_name="欧***")
    assert '<p class="to">欧***：</p>' in html and html.index(addressee.NO_NAME) < html.index("</body>")
    only_name = addressee.opened(KEYS, sealed_for("case-a") | {"address_token": None}, "case-a")
    assert only_name.notes == (addressee.NO_ADDRESS,) and only_name.name == NAME


def test_an_addressee_line_that_is_not_the_masked_name_is_left_as_it_is():
    letter = LETTER.replace("欧***：", "示范县住房和城乡建设局：")  # a unit's letter
    who = addressee.opened(KEYS, sealed_for("case-a"), "case-a")
    assert '<p class="to">示范县住房和城乡建设局：</p>' in addressee.printed(letter, who, masked_name="欧***")


def test_make_rekey_reseals_the_name_and_address_tokens_of_the_case_view():
    new = PiiKeys(KeyRing("b", dict(KEYS.ring.keys) | {"b": os.urandom(32)}), b"h" * 32)
    view = {"_id": "case-a", "petitioner": sealed_for("case-a")}
    sealing = Resealing(new)
    petitioner = reseal_case_view(sealing, view)["petitioner"]
    assert petitioner["name_masked"] == "欧***" and sealing.resealed == 2
    assert key_id(petitioner["name_token"]) == key_id(petitioner["address_token"]) == "b"
    assert decrypt(new, petitioner["name_token"], aad=name_aad("case-a")) == NAME
    assert decrypt(new, petitioner["address_token"], aad=address_aad("case-a")) == ADDRESS
