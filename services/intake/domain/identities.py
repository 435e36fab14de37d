"""Identities seen together: a petitioner known by an ID number and by a phone is one person.

A petitioner is recognized by keyed hashes (never the plain values). A case that gives both an ID
number and a phone links that phone to that ID number (a pair, stored once, append-only); a later case
that gives only the phone is then recorded under the ID number's hash and finds the earlier cases of
either key as the same petitioner's. A phone seen with two different ID numbers (a family's shared
phone, a village official who calls for others) links to neither: it stays a key of its own, and a
case that gives it with an ID number is known by the ID number alone.
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a case's petitioner is: the key the case is recorded under, every key their earlier cases
    may be recorded under, and the link this case shows (None: nothing new to keep)."""

    person: str | None
    keys: tuple[str, ...]
    link: dict[str, Any] | None = None


def pair_id(phone_hash: str, id_hash: str) -> str:
    """The stored link's id: one document per (phone, ID number) pair ever seen together."""
    return f"{phone_hash}:{id_hash}"


def resolve(id_hash: str | None, phone_hash: str | None, seen_with_phone: list[str]) -> Identity:
    """The identity of a case's petitioner, from its hashes and the ID hashes its phone was seen with
    (at most two are needed: two distinct ones make the phone shared)."""
    owners = sorted(set(seen_with_phone))
    if id_hash is None:
        if phone_hash is None:
            return Identity(None, ())
        if len(owners) == 1:  # the phone belongs to one known ID number: that person
            return Identity(owners[0], (owners[0], phone_hash))
        return Identity(phone_hash, (phone_hash,))
    if phone_hash is None:
        return Identity(id_hash, (id_hash,))
    link = (
        None
        if id_hash in owners
        else {"_id": pair_id(phone_hash, id_hash), "phone": phone_hash, "person": id_hash}
    )
    if set(owners) - {id_hash}:  # the phone is someone else's too: it identifies nobody
        return Identity(id_hash, (id_hash,), link)
    return Identity(id_hash, (id_hash, phone_hash), link)
