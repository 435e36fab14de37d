"""Add an Open311 client (a 311 app) to a clients file: prints its new key once, keeps only its hash.

    python -m devtools.open311_client add <name> [--file <clients.json>] [--feed]

Without --file, the development file `<RUN_DIR>/keys/open311_clients.json` (made if missing). The key is
given to the app's operator over a safe channel and is never stored by the platform; a lost key is
replaced by adding the client again under a new name, or by removing its line and adding it anew.
`--feed` publishes the client's outcome feed (open311.<name>), for notify to deliver to the webhook
the recipients file gives it (docs/integration.md).
"""

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from dispatch_common.paths import DEFAULT_RUN_DIR
from services.intake.domain.open311_clients import CLIENTS_FILE, ClientEntry, ClientsFile, key_hash


def add(path: Path, name: str, *, feed: bool) -> str:
    """Add a client with a fresh key to the file (made if missing); the key."""
    current = ClientsFile(clients=[])
    if path.exists():
        current = ClientsFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    if any(c.name == name for c in current.clients):
        raise SystemExit(f"{path}: a client named {name} exists already")
    key = secrets.token_urlsafe(32)
    entry = ClientEntry(name=name, key_sha256=key_hash(key), feed=feed)
    updated = current.model_copy(update={"clients": [*current.clients, entry]})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(updated.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return key


def main(argv: list[str] | None = None) -> int:
    """Add one client and print its key."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    adding = sub.add_parser("add", help="add a client with a new key")
    adding.add_argument("name", help="lower-case letters, digits and dashes, e.g. city-311-app")
    default = Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR)) / "keys" / CLIENTS_FILE
    adding.add_argument("--file", type=Path, default=default)
    adding.add_argument("--feed", action="store_true", help="publish its outcome feed (for its webhook)")
    args = parser.parse_args(argv)
    key = add(args.file, args.name, feed=args.feed)
    print(key)
    print(f"added {args.name} to {args.file}; restart intake to admit it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
