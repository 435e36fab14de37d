"""Which language a petitioner is told in: the one they chose where the county supports it and a
template exists, else the county's first language, with the fallback and its reason recorded. Pure."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LanguageChoice:
    """The language asked for, the one used, and why not the one asked for (None: no fallback)."""

    requested: str | None
    used: str
    fallback_reason: str | None = None

    @property
    def fallback(self) -> bool:
        return self.fallback_reason is not None

    def record(self) -> dict[str, Any]:
        """What a message or a document keeps of the choice."""
        return {
            "language": self.used,
            "language_requested": self.requested,
            "language_fallback": self.fallback,
            "language_fallback_reason": self.fallback_reason,
        }


def choose_language(
    requested: str | None, supported: tuple[str, ...], has_text: Callable[[str], bool]
) -> LanguageChoice:
    """The language to use: `requested` if the county supports it and `has_text(requested)`."""
    default = supported[0] if supported else "zh"
    if not requested or requested == default:
        return LanguageChoice(requested, default)
    if requested not in supported:
        return LanguageChoice(requested, default, f"{requested} is not a language of the county")
    if not has_text(requested):
        return LanguageChoice(requested, default, f"no template in {requested}")
    return LanguageChoice(requested, requested)


def petitioner_preferences(case: dict[str, Any]) -> dict[str, Any]:
    """The petitioner as notify's view of a case holds them, with a clerk's later change of channel or
    language (`preferences`) over what intake said."""
    petitioner = dict(case.get("petitioner") or {})
    return petitioner | {k: v for k, v in (case.get("preferences") or {}).items() if v}
