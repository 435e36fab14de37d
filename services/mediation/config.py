"""Mediation's settings."""

from pathlib import Path

from pydantic import Field

from dispatch_common.paths import DATA_DIR
from dispatch_common.settings import ServiceSettings, port_field

MEDIATION_DATA = DATA_DIR / "mediation"


class MediationSettings(ServiceSettings):
    """Mediation reads these from the environment."""

    service_name: str = "mediation"
    port: int = port_field("mediation", 8003)
    mediation_organizations_file: Path = MEDIATION_DATA / "organizations.json"
    mediators_file: Path = MEDIATION_DATA / "mediators.json"
    mediation_policy_file: Path = MEDIATION_DATA / "policy.json"
    mediation_templates_dir: Path = MEDIATION_DATA / "templates"
    mediation_scan_seconds: float = Field(
        60.0, gt=0
    )  # how often fulfilment checks and time limits are looked at
    mediation_directory_refresh_seconds: float = Field(
        10.0, gt=0
    )  # how often each replica reads the organizations' API edits made through another replica
