"""The external systems that submit cases over NATS, read from a data file (no code names them)."""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatch_common.paths import DATA_DIR

DEFAULT_SYSTEMS_FILE = DATA_DIR / "ingress" / "systems.json"
# NATS user names the platform itself takes: a system may not be called like one of them.
RESERVED_NAMES = frozenset({"intake", "routing", "mediation", "supervision", "notify", "ops"})


class SystemsFileError(ValueError):
    """The systems file cannot be used; the message says where and why."""


class ExternalSystem(BaseModel):
    """One external system: its id (in subjects, stream and user names), a display name, and the
    CloudEvents `source` its submissions must carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)
    name: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=256)


class SystemsFile(BaseModel):
    """The file's shape: {"systems": [...]} (an "about" text may stand beside the list)."""

    model_config = ConfigDict(extra="forbid")

    about: str = ""
    systems: list[ExternalSystem]


def load_systems(path: Path = DEFAULT_SYSTEMS_FILE) -> tuple[ExternalSystem, ...]:
    """The systems of a file, checked: ids and sources unique, no id a platform user's name."""
    try:
        parsed = SystemsFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise SystemsFileError(f"{path}: {exc}") from exc
    systems = tuple(parsed.systems)
    for attribute in ("id", "source"):
        values = [getattr(s, attribute) for s in systems]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise SystemsFileError(f"{path}: the same {attribute} more than once: {twice}")
    reserved = sorted(s.id for s in systems if s.id in RESERVED_NAMES)
    if reserved:
        raise SystemsFileError(f"{path}: ids taken by the platform's own NATS users: {reserved}")
    return systems
