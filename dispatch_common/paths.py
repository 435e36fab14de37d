"""Where the repository's data lives, found from this file so a fresh clone needs no configuration."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = REPO_ROOT / "proto"
DATA_DIR = REPO_ROOT / "data"
DEFAULT_COUNTY_DIR = DATA_DIR / "county" / "990102"
DEFAULT_RUN_DIR = REPO_ROOT / ".run"
