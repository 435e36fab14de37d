"""`make rekey`: re-encrypt every stored ciphertext of the platform under the active key.

    python -m devtools.rekey [--service intake|mediation|notify ...] [--dry-run] [--batch N]
    python -m devtools.rekey --new-dev-key      # development only: add a key to the key file, active

It reads the same environment as the services (MONGODB_URL, MONGODB_DB_PREFIX, PII_ENC_KEYS,
PII_HASH_KEY; locally RUN_DIR's key file) and walks each service's own collections with that
service's rules of where its ciphertexts are (dispatch_common/rekey.py: idempotent, resumable, safe
while the platform runs). It prints one line per collection and ends with 0 when every value is
sealed with the active key, 1 when documents were busy (run it again) or values did not open.
Rotating a key step by step: docs/operations.md.
"""

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from typing import Any

from dispatch_common import crypto, store
from dispatch_common.rekey import Reseal, Tally, rekey_collection
from dispatch_common.settings import ServiceSettings
from services.intake.config import IntakeSettings
from services.intake.domain.protection import reseal_case
from services.mediation.config import MediationSettings
from services.mediation.domain.parties import reseal_mediation
from services.notify.config import NotifySettings
from services.notify.domain.sealed import reseal_case_view, reseal_message
from services.supervision.config import SupervisionSettings
from services.supervision.domain.ledger_parties import reseal_entry


@dataclass(frozen=True)
class Sealed:
    """A collection of a service that stores ciphertexts, the fields that hold them, and how to reseal."""

    service: str
    settings: type[ServiceSettings]
    collection: str
    reseal: Reseal
    fields: tuple[str, ...]


SEALED = (
    Sealed(
        "intake", IntakeSettings, "cases", reseal_case, ("petitioner", "representatives", "free_text_pii")
    ),
    Sealed(
        "mediation", MediationSettings, "mediations", reseal_mediation, ("parties", "sessions", "agreement")
    ),
    Sealed(
        "notify",
        NotifySettings,
        "notifications",
        reseal_message,
        ("contact_token", "email_token", "lookup_token", "case_id", "lease_ts"),
    ),
    Sealed("notify", NotifySettings, "case_views", reseal_case_view, ("petitioner",)),
    Sealed(
        "supervision", SupervisionSettings, "ledger_entries", reseal_entry, ("parties",)
    ),  # the risk ledger
)
SERVICES = tuple(dict.fromkeys(s.service for s in SEALED))


async def rekey(
    services: tuple[str, ...] = SERVICES,
    *,
    dry_run: bool = False,
    batch: int = 200,
    overrides: dict[str, Any] | None = None,
) -> list[Tally]:
    """Reseal the collections of the named services; one tally per collection. Each service's settings
    come from the environment (`overrides` win: tests)."""
    tallies = []
    for target in (s for s in SEALED if s.service in services):
        settings = target.settings(**(overrides or {}))
        keys = crypto.load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir)
        client = store.connect(settings.mongodb_url, app_name="rekey")
        try:
            col = client[settings.mongodb_db][target.collection]
            tallies.append(
                await rekey_collection(
                    col, target.reseal, keys, projection=list(target.fields), batch=batch, dry_run=dry_run
                )
            )
        finally:
            await client.close()
    return tallies


def add_dev_key(settings: ServiceSettings) -> str:
    """Add a new key to the development key file and make it active (the others stay); its id."""
    if (
        settings.environment == "production"
        or os.environ.get("PII_ENC_KEYS")
        or os.environ.get("PII_ENC_KEY")
    ):
        raise SystemExit("--new-dev-key changes the development key file; in production change PII_ENC_KEYS")
    crypto.load_pii_keys(environment=settings.environment, keys_dir=settings.keys_dir)  # generated if absent
    path = settings.keys_dir / crypto.KEY_FILE_NAME
    keys = crypto.read_key_file(path)
    ring = keys.ring
    n = 1 + max((int(k[1:]) for k in ring.keys if k[:1] == "k" and k[1:].isdigit()), default=0)
    kid = f"k{n}"
    fresh = crypto.KeyRing(kid, {**ring.keys, kid: os.urandom(32)}, ring.legacy)
    crypto.write_key_file(path, crypto.PiiKeys(fresh, keys.hash_key))
    return kid


def main() -> int:
    """Parse the command line, run, report."""
    parser = argparse.ArgumentParser(description="Re-encrypt stored personal data under the active key.")
    parser.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    parser.add_argument(
        "--dry-run", action="store_true", help="count and check every value opens; write nothing"
    )
    parser.add_argument("--batch", type=int, default=200, help="documents read per query")
    parser.add_argument(
        "--new-dev-key", action="store_true", help="development: add a key and make it active"
    )
    args = parser.parse_args()
    if args.new_dev_key:
        settings = ServiceSettings()
        kid = add_dev_key(settings)
        print(
            f"key {kid} added to {settings.keys_dir / crypto.KEY_FILE_NAME} and active; restart the services,"
        )
        print("then run `make rekey` (MONGODB_URL as make run printed it).")
        return 0
    tallies = asyncio.run(rekey(tuple(args.service or SERVICES), dry_run=args.dry_run, batch=args.batch))
    for tally in tallies:
        print(tally.line())
    if any(t.failed for t in tallies):
        print("some values do not open with the key ring: keep every old key until they are explained")
        return 1
    if any(t.busy for t in tallies):
        print("some documents were busy (a message being sent): run it again")
        return 1
    if args.dry_run:
        print("dry run: nothing written")
    else:
        print("every stored value is sealed with the active key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
