"""The docs keep up with the code: every setting is documented, every relative link resolves."""

import re

import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from dispatch_common.paths import REPO_ROOT
from services.intake.config import IntakeSettings
from services.mediation.config import MediationSettings
from services.notify.config import NotifySettings
from services.routing.config import RoutingSettings
from services.supervision.config import SupervisionSettings

SETTINGS = (IntakeSettings, RoutingSettings, MediationSettings, SupervisionSettings, NotifySettings)
# Fields a service sets for itself and that are not configuration.
NOT_CONFIGURATION = {"service_name", "port"}
DOCS = [
    REPO_ROOT / "README.md",
    *sorted((REPO_ROOT / "docs").rglob("*.md")),
    REPO_ROOT / "deploy" / "README.md",
]


def environment_name(name: str, field: FieldInfo) -> str:
    """The variable a setting is read from: its alias if it has one, else its name in capitals."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    return str(alias or name).upper()


def test_the_readme_documents_every_setting():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    names = {
        environment_name(name, field)
        for cls in SETTINGS
        for name, field in cls.model_fields.items()
        if name not in NOT_CONFIGURATION
    }
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert broken == []
