"""The profile policy (data/policy/profile.json): what makes a group petition, and the kinds of facts
the data pool takes, each with what it may be used for. Read once at start.

Who may open a profile is not here: it is the authorization table's entry for the profile operation
(data/policy/authorization.yaml), one source that every service and the authorization tests read.
"""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from dispatch_common.paths import DATA_DIR

DEFAULT_FILE = DATA_DIR / "policy" / "profile.json"


class FactKind(BaseModel):
    """A kind of fact another system supplies (a court's judgments, a register)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="what the county calls it")
    use: str = Field(min_length=1, description="what facts of this kind may be used for")


class ProfilePolicy(BaseModel):
    """Who opens profiles and what the pool takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str | None = None
    group_size: int = Field(5, ge=2, le=1000, description="people on one case that make it a group petition")
    kinds: dict[str, FactKind] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> "ProfilePolicy":
        """The policy from its file; ValueError naming the file when it is bad."""
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
