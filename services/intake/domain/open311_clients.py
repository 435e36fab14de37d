"""The Open311 clients (311 apps): each a name and the SHA-256 of its API key, from a data file.

A key is a long random token the platform hands out once (`python -m devtools.open311_client add`);
only its hash is kept, so the file reveals no key. A presented key is hashed and compared with every
client's hash in constant time, all of them, so the time an answer takes tells nothing of which
client, if any, was near. The client's name is its identity: what it submits is `submitted_by`
`open311:<name>`, it reads its own requests in full, and its outcome feed is `open311.<name>`.

Outside production, a missing file is generated once into the keys folder with one client,
`dev-311-app`, whose key is written beside it (`open311_api_key`) for a developer to use.
"""

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEV_CLIENT = "dev-311-app"
DEV_KEY_FILE = "open311_api_key"
CLIENTS_FILE = "open311_clients.json"


class Open311ClientsError(ValueError):
    """The clients file cannot be used; the message says where and why."""


class ClientEntry(BaseModel):
    """One client as the file lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    feed: bool = False  # publish its outcome feed (open311.<name>), for notify to deliver to its webhook
    about: str = ""


class ClientsFile(BaseModel):
    """The file's shape: {"clients": [...]}."""

    model_config = ConfigDict(extra="forbid")

    about: str = ""
    clients: list[ClientEntry]


@dataclass(frozen=True)
class Open311Client:
    """An identified Open311 client."""

    name: str

    @property
    def subject(self) -> str:
        """Who submitted, as a case records it."""
        return f"open311:{self.name}"


def key_hash(key: str) -> str:
    """The hex SHA-256 of an API key, as the file keeps it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Open311Clients:
    """The clients, looked up by key in constant time."""

    def __init__(self, entries: list[ClientEntry]) -> None:
        names = [e.name for e in entries]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise Open311ClientsError(f"the same client name more than once: {twice}")
        self._entries = [(e.name, bytes.fromhex(e.key_sha256)) for e in entries]
        self.feeds = frozenset(e.name for e in entries if e.feed)

    @property
    def names(self) -> list[str]:
        """The clients' names."""
        return [name for name, _ in self._entries]

    def identify(self, key: object) -> Open311Client | None:
        """The client whose key this is, or None; every client's hash is compared, whatever matches."""
        if not isinstance(key, str) or not key:
            return None
        presented = hashlib.sha256(key.encode("utf-8")).digest()
        found: str | None = None
        for name, digest in self._entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = name
        return Open311Client(found) if found is not None else None

    @classmethod
    def load(cls, path: Path) -> "Open311Clients":
        """The clients of a file."""
        try:
            parsed = ClientsFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise Open311ClientsError(f"{path}: {exc}") from exc
        try:
            return cls(parsed.clients)
        except Open311ClientsError as exc:
            raise Open311ClientsError(f"{path}: {exc}") from exc


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


def development_clients(keys_dir: Path) -> Path:
    """The development clients file, made once with one client whose key is written beside it (an
    earlier development key there is kept)."""
    path = keys_dir / CLIENTS_FILE
    if path.exists():
        return path
    key_path = keys_dir / DEV_KEY_FILE
    if not key_path.exists():
        _write_private(key_path, secrets.token_urlsafe(24))
    key = key_path.read_text(encoding="utf-8").strip()
    entry = {
        "name": DEV_CLIENT,
        "key_sha256": key_hash(key),
        "about": f"development client; key in {DEV_KEY_FILE}",
    }
    _write_private(path, json.dumps({"clients": [entry]}, ensure_ascii=False, indent=2) + "\n")
    return path
