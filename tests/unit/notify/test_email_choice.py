"""Notify's side of a petitioner's e-mail address, without I/O: the channel chosen (or why not), the
token a notice carries, and the resealing of the token by `make rekey`."""

import os

from dispatch_common.crypto import KeyRing, PiiKeys, decrypt, email_aad, encrypt, key_id
from dispatch_common.rekey import Resealing
from services.notify.domain.models import PetitionerContact, petitioner_channel
from services.notify.domain.sealed import reseal_case_view, reseal_message

PHONE = {"contact_token": "sealed-phone", "phone_masked": "138****5678"}
EMAIL = {"email_token": "sealed-email", "email_masked": "z***@example.org"}


def channel(**contact: object) -> tuple[str, str, str | None]:
    return petitioner_channel(PetitionerContact.model_validate({"anonymous": False} | contact))


def test_e_mail_is_used_when_chosen_and_held_and_explained_when_not():
    assert channel(**PHONE, **EMAIL, notify_channel="email") == ("email", "z***@example.org", None)
    assert channel(**EMAIL, notify_channel="email") == ("email", "z***@example.org", None)
    assert channel(**PHONE, notify_channel="email") == (
        "sms",
        "138****5678",
        "e-mail chosen, but no e-mail address is held: told by SMS",
    )
    assert channel(**PHONE, **EMAIL) == ("sms", "138****5678", None)  # SMS stays the default with a phone
    assert channel(**EMAIL) == ("email", "z***@example.org", None)  # no phone: the address given
    assert channel(**PHONE, **EMAIL, notify_channel="inbox")[0] == "inbox"
    assert (
        petitioner_channel(  # a confidential reporter is told in the inbox only
            PetitionerContact.model_validate({"anonymous": False} | EMAIL | {"notify_channel": "email"}),
            confidential=True,
        )[0]
        == "inbox"
    )


def test_make_rekey_reseals_the_e_mail_token_of_a_message_and_of_the_case_view():
    old = PiiKeys(KeyRing("a", {"a": os.urandom(32)}), b"h" * 32)
    new = PiiKeys(KeyRing("b", dict(old.ring.keys) | {"b": os.urandom(32)}), b"h" * 32)
    token = encrypt(old, "zhang@example.org", aad=email_aad("c-1"))
    message = {"_id": "m-1", "case_id": "c-1", "email_token": token, "lease_ts": None}
    view = {"_id": "c-1", "petitioner": {"anonymous": False, "email_token": token, "email_masked": "z***"}}
    sealing = Resealing(new)
    resealed = [
        reseal_message(sealing, message)["email_token"],
        reseal_case_view(sealing, view)["petitioner"],
    ]
    assert resealed[1]["email_masked"] == "z***"  # the rest of the petitioner kept
    for sealed in (resealed[0], resealed[1]["email_token"]):
        assert key_id(sealed) == "b" and decrypt(new, sealed, aad=email_aad("c-1")) == "zhang@example.org"
    assert sealing.resealed == 2
