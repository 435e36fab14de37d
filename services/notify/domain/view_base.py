"""The base of what notify reads of other services' events: extra fields ignored, and a unit as events
name it."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UnitRef(_View):
    """A unit as events name it."""

    code: str
    name: str
    type: str | None = None
    role: str | None = None


class Deadline(_View):
    """A deadline as supervision's events carry it."""

    kind: str
    label: str = ""
    due_at: datetime
