"""Rate limits are read from the environment; a class or role the limiter does not know is refused."""

import json

import pytest
from pydantic import ValidationError

from services.intake.config import IntakeSettings

TEN = {"requests": 9, "window_seconds": 10}


def test_limits_per_class_and_role_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = {
        "submit": TEN | {"burst": 2},
        "read": TEN,
        "submit:open311": {"requests": 1, "window_seconds": 60},
    }
    monkeypatch.setenv("RATE_LIMITS", json.dumps(limits))
    read = IntakeSettings().rate_limits
    assert read["submit"].burst == 2 and read["read"].burst is None
    assert read["submit:open311"].requests == 1


@pytest.mark.parametrize(
    "limits",
    [
        {"submits": TEN, "read": TEN},
        {"submit": TEN, "read": TEN, "read:janitor": TEN},
        {"submit": TEN},
        {"submit": TEN | {"requests": 0}, "read": TEN},
    ],
)
def test_unknown_classes_roles_missing_classes_and_zero_limits_are_refused(
    monkeypatch: pytest.MonkeyPatch, limits: dict
) -> None:
    monkeypatch.setenv("RATE_LIMITS", json.dumps(limits))
    with pytest.raises(ValidationError):
        IntakeSettings()
