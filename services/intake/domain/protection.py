"""What intake stores of personal data, and what it shows. Pure.

The petitioner's and representatives' name, phone and ID number, and the petitioner's e-mail and postal
addresses, are stored encrypted (and the phone, ID number and e-mail hashed for lookup, masked for
views). Phone
and ID numbers found in the free text of a submission (`FREE_TEXT_FIELDS`, and a person's manual
screening reason) are masked where they stand, and their clear values are sealed aside in
`free_text_pii: {<field>: [{kind, at, enc}]}` (dispatch_common/free_text.py). Every ciphertext is
bound to the case and its field (`case:<id>|<field>`): the petitioner's phone to `contact_aad`, so
that notify opens the `contact_token` events carry with the case id alone, and the e-mail to
`email_aad`, for the `email_token`; the name to `name_aad` and the postal address to `address_aad`, for
the `name_token` and `address_token` notify opens only to print a letter (decision 0045).
"""

from typing import Any

from dispatch_common.crypto import (
    ADDRESS_FIELD,
    CONTACT_FIELD,
    EMAIL_FIELD,
    NAME_FIELD,
    PiiKeys,
    decrypt,
    encrypt,
    keyed_hash,
    mask_address,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    record_aad,
)
from dispatch_common.free_text import protect, reveal
from dispatch_common.identity_keys import id_number_hash, phone_hash
from dispatch_common.rekey import Resealing
from services.intake.domain.events import PetitionerView

# The free-text fields of a submission, masked where they are stored; the manual screening reason is
# protected alike, under SCREENING_REASON.
FREE_TEXT_FIELDS = ("text", "text_original", "address", "address_original", "campaign")
SCREENING_REASON = "screening.reason"
# A stored person's ciphertexts and the field name each is bound to (`petitioner.phone` is CONTACT_FIELD,
# `petitioner.email` EMAIL_FIELD ...; only a petitioner gives an e-mail or a postal address).
PERSON_FIELDS = {
    "name_enc": "name",
    "phone_enc": "phone",
    "id_enc": "id_number",
    "email_enc": "email",
    "address_enc": "postal_address",
}


def case_aad(case_id: str, name: str) -> str:
    """The associated data of a case's field: `case:<id>|<field>`."""
    return record_aad("case", case_id, name)


def protect_person(keys: PiiKeys, person: Any, *, case_id: str, role: str) -> dict[str, Any]:
    """A petitioner's or representative's name, phone, ID number and e-mail as stored (encrypted,
    masked; the ID number and e-mail also hashed, and the petitioner's phone, by which a petitioner is
    recognized)."""
    out: dict[str, Any] = {}
    if person.name:
        aad = case_aad(case_id, f"{role}.name")
        out |= {"name_enc": encrypt(keys, person.name, aad=aad), "name_masked": mask_name(person.name)}
    if person.phone:
        out |= {
            "phone_enc": encrypt(keys, person.phone, aad=case_aad(case_id, f"{role}.phone")),
            "phone_masked": mask_phone(person.phone),
        }
        if role == "petitioner":
            out["phone_hash"] = phone_hash(keys, person.phone)
    if person.id_number:
        out |= {
            "id_enc": encrypt(keys, person.id_number, aad=case_aad(case_id, f"{role}.id_number")),
            "id_hash": id_number_hash(keys, person.id_number),
            "id_masked": mask_id_number(person.id_number),
        }
    email = getattr(person, "email", None)  # a petitioner's (representatives give none)
    if email:
        out |= {
            "email_enc": encrypt(keys, email, aad=case_aad(case_id, f"{role}.email")),
            "email_hash": keyed_hash(keys, email),
            "email_masked": mask_email(email),
        }
    address = getattr(person, "postal_address", None)  # a petitioner's; never searched: not hashed
    if address:
        out |= {
            "address_enc": encrypt(keys, address, aad=case_aad(case_id, f"{role}.postal_address")),
            "address_masked": mask_address(address),
        }
    return out


def protect_petitioner(
    keys: PiiKeys, petitioner: Any, *, case_id: str, confidential: bool
) -> tuple[dict[str, Any], PetitionerView]:
    """What is stored of the petitioner, and what other services may see (masked, contact sealed)."""
    p = petitioner
    given = p is not None and any((p.name, p.phone, p.id_number, p.email, p.postal_address))
    anonymous = p is None or p.anonymous or not given
    if p is None or anonymous:
        return {"anonymous": True}, PetitionerView(anonymous=True)
    stored = {"anonymous": False} | protect_person(keys, p, case_id=case_id, role="petitioner")
    chosen = {"notify_channel": p.notify_channel, "language": p.language}  # not personal data
    stored |= {k: v for k, v in chosen.items() if v}
    return stored, petitioner_view({"petitioner": stored, "confidential": confidential})


def petitioner_view(case: dict[str, Any]) -> PetitionerView:
    """The petitioner as events show them: masked (nothing for a confidential report), the phone's
    ciphertext as the contact token, the e-mail's as the e-mail token, the name's and the postal
    address's as the name and address tokens (for a printed letter)."""
    p = case.get("petitioner") or {}
    confidential = bool(case.get("confidential"))
    return PetitionerView(
        anonymous=p.get("anonymous", True),
        name_masked=None if confidential else p.get("name_masked"),
        phone_masked=None if confidential else p.get("phone_masked"),
        contact_token=p.get("phone_enc"),
        email_masked=None if confidential else p.get("email_masked"),
        email_token=p.get("email_enc"),
        name_token=p.get("name_enc"),
        address_token=p.get("address_enc"),
        notify_channel=p.get("notify_channel"),
        language=p.get("language"),
    )


def petitioner_hash(stored: dict[str, Any]) -> str | None:
    """The key a petitioner is recognized by: the ID number's hash, else the phone's."""
    return stored.get("id_hash") or stored.get("phone_hash")


def protect_free_text(
    keys: PiiKeys, case_id: str, fields: dict[str, str | None]
) -> tuple[dict[str, str | None], dict[str, list[dict[str, Any]]]]:
    """Free-text fields with their phone and ID numbers masked, and the sealed values by field."""
    masked: dict[str, str | None] = {}
    sealed: dict[str, list[dict[str, Any]]] = {}
    for name, value in fields.items():
        if not value:
            masked[name] = value
            continue
        masked[name], values = protect(keys, value, aad=case_aad(case_id, name))
        if values:
            sealed[name] = values
    return masked, sealed


def stored_free_text(case: dict[str, Any], name: str) -> str | None:
    """A free-text field as stored (masked) on a case; `screening.reason` inside its sub-document."""
    if name == SCREENING_REASON:
        return (case.get("screening") or {}).get("reason")
    return case.get(name)


def reveal_free_text(keys: PiiKeys, case: dict[str, Any]) -> dict[str, str]:
    """The clear text of every free-text field that had numbers masked, by field."""
    clear = {}
    for name, values in (case.get("free_text_pii") or {}).items():
        masked = stored_free_text(case, name)
        if masked is not None and values:
            clear[name] = reveal(keys, masked, values, aad=case_aad(case["_id"], name))
    return clear


def reveal_petitioner(keys: PiiKeys, case: dict[str, Any]) -> dict[str, str]:
    """The petitioner's name, phone, ID number and e-mail in clear (those given)."""
    p = case.get("petitioner") or {}
    return {
        shown: decrypt(keys, p[stored], aad=case_aad(case["_id"], f"petitioner.{shown}"))
        for stored, shown in PERSON_FIELDS.items()
        if p.get(stored)
    }


def reseal_case(sealing: Resealing, case: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored case that hold ciphertexts, each sealed again (`make rekey`)."""
    case_id = case["_id"]
    changes: dict[str, Any] = {}
    if case.get("petitioner"):
        changes["petitioner"] = _resealed_person(sealing, case["petitioner"], case_id, "petitioner")
    if case.get("representatives"):
        changes["representatives"] = [
            _resealed_person(sealing, person, case_id, "representatives")
            for person in case["representatives"]
        ]
    if case.get("free_text_pii"):
        changes["free_text_pii"] = {
            name: [v | {"enc": sealing.value(v["enc"], aad=case_aad(case_id, name))} for v in values]
            for name, values in case["free_text_pii"].items()
        }
    return changes


def _resealed_person(sealing: Resealing, person: dict[str, Any], case_id: str, role: str) -> dict[str, Any]:
    return person | {
        stored: sealing.value(person[stored], aad=case_aad(case_id, f"{role}.{shown}"))
        for stored, shown in PERSON_FIELDS.items()
        if person.get(stored)
    }


assert f"petitioner.{PERSON_FIELDS['phone_enc']}" == CONTACT_FIELD  # notify opens the contact by this
assert f"petitioner.{PERSON_FIELDS['email_enc']}" == EMAIL_FIELD  # and the e-mail by this
assert f"petitioner.{PERSON_FIELDS['name_enc']}" == NAME_FIELD  # the name and address to print a letter
assert f"petitioner.{PERSON_FIELDS['address_enc']}" == ADDRESS_FIELD
