"""Ledger entries joined to the profile by party, on the real servers (decision 0046): an opening
whose sealed `party_keys` hold the petitioner's phone key (typed with +86 and blanks) or ID key puts
the entry on the profile, saying it joined by party; another person's entry does not; a value sealed
for another entry is dead-lettered at once and shows nothing."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch_common import subjects
from dispatch_common.identity_keys import id_number_hash, ledger_keys_aad, phone_hash, seal_keys
from services.intake.domain.identity import with_check_digit
from tests.helpers import eventually, stream_messages
from tests.intake_support import IntakeHarness, start_intake
from tests.integration.test_intake_profile_sections import opened, submit

pytestmark = pytest.mark.integration

ID_NUMBER = with_check_digit("11010519800101123")
PHONE = "13912345678"
AT = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
async def harness(nats_url, mongodb_url, db_prefix, run_dir) -> AsyncIterator[IntakeHarness]:
    h = await start_intake(nats_url=nats_url, mongodb_url=mongodb_url, db_prefix=db_prefix, run_dir=run_dir)
    yield h
    await h.intake.runtime.stop()


def sealed(h: IntakeHarness, entry: str, *keys: str) -> str | None:
    return seal_keys(h.intake.keys, list(keys), aad=ledger_keys_aad(entry))


async def test_entries_naming_the_petitioner_as_a_party_join_the_profile_and_no_others(harness, nats_client):
    h = harness
    keys = h.intake.keys
    async with h.client("reception_clerk") as clerk:
        case = await submit(clerk, petitioner={"name": "张三", "phone": PHONE})
        with_id = await submit(clerk, petitioner={"name": "王五", "id_number": ID_NUMBER})

        await opened(h, "E-PHONE", [], party_keys=sealed(h, "E-PHONE", phone_hash(keys, "+86 139 1234 5678")))
        await opened(h, "E-ID", [], party_keys=sealed(h, "E-ID", id_number_hash(keys, ID_NUMBER.lower())))
        await opened(h, "E-OTHER", [], party_keys=sealed(h, "E-OTHER", phone_hash(keys, "13912345679")))
        moved = await opened(
            h, "E-MOVED", [], party_keys=sealed(h, "E-PHONE", phone_hash(keys, PHONE))
        )  # another entry's

        async def entries(case_id: str) -> dict[str, dict[str, Any]]:
            r = await clerk.get(f"/v1/cases/{case_id}/profile", params={"reason": "接访核实"})
            assert r.status_code == 200, r.text
            return {e["entry_id"]: e for e in r.json()["sections"]["risk_entries"]}

        mine = await eventually(
            lambda: _having(entries(case["case_id"]), "E-PHONE"), what="the entry naming the phone"
        )
        assert set(mine) == {"E-PHONE"}  # not the other person's, not the moved value's
        assert mine["E-PHONE"]["joined_by"] == ["party"] and mine["E-PHONE"]["case_ids"] == []
        theirs = await eventually(lambda: _having(entries(with_id["case_id"]), "E-ID"), what="the ID entry")
        assert set(theirs) == {"E-ID"}

    # the value sealed for another entry is dead-lettered at once, with its reason
    dlq = subjects.dead_letter_subject(subjects.INTAKE_ON_PROFILE)

    async def dead() -> list[dict[str, Any]]:
        letters = [json.loads(b) for _, b in await stream_messages(nats_client, subjects.DLQ_STREAM, dlq)]
        return [d for d in letters if moved["id"] in json.dumps(d)]

    letters = await eventually(dead, what="the moved value's dead letter")
    assert "party_keys do not open" in json.dumps(letters[0], ensure_ascii=False)


async def _having(found: Any, entry: str) -> dict[str, dict[str, Any]] | None:
    got = await found
    return got if entry in got else None
