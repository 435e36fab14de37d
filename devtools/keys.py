"""Development signing keys and tokens, generated at first run into the ignored .run/keys folder."""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from dispatch_common.auth import Role
from dispatch_common.paths import DATA_DIR, DEFAULT_COUNTY_DIR, DEFAULT_RUN_DIR

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"
DEV_ISSUER = "dispatch-dev"
DEV_AUDIENCE = "dispatch"
DEV_KEY_ID = "dev-1"
DEFAULT_ORGANIZATIONS_FILE = DATA_DIR / "mediation" / "organizations.json"


def ensure_dev_keys(keys_dir: Path) -> tuple[Path, Path]:
    """Create the development RSA key pair once; return (private, public) paths."""
    private, public = keys_dir / PRIVATE_NAME, keys_dir / PUBLIC_NAME
    if private.exists() and public.exists():
        return private, public
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = private.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pem)
    tmp.chmod(0o600)
    tmp.replace(private)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def issue_token(
    keys_dir: Path,
    *,
    role: str,
    unit: str | None = None,
    area: str | None = None,
    subject: str | None = None,
    system: str | None = None,
    ttl_seconds: int = 12 * 3600,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
) -> str:
    """Sign a development token for a role and unit."""
    Role(role)  # refuse unknown roles early
    private, _ = ensure_dev_keys(keys_dir)
    now = int(time.time())
    claims = {
        "sub": subject or f"dev-{role}-{uuid.uuid4().hex[:8]}",
        "role": role,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if unit:
        claims["unit"] = unit
    if area:
        claims["area"] = area
    if system:
        claims["system"] = system
    return jwt.encode(claims, private.read_bytes(), algorithm="RS256", headers={"kid": DEV_KEY_ID})


def jwks(keys_dir: Path) -> dict[str, object]:
    """The development public key as a JWKS document (the `dev` cluster's issuer serves it)."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    _, public = ensure_dev_keys(keys_dir)
    key = json.loads(RSAAlgorithm.to_jwk(load_pem_public_key(public.read_bytes())))
    return {"keys": [key | {"kid": DEV_KEY_ID, "use": "sig", "alg": "RS256"}]}


def main() -> None:
    """`make token ROLE=... UNIT=...`: print one development bearer token and nothing else.

    UNIT is a unit of the county package (the token also carries the area it serves) or a mediation
    organization of the organizations file (no area: an organization sees the mediations it is given,
    by its code, and is no handling unit of the place it serves)."""
    parser = argparse.ArgumentParser(description="Print a development bearer token.")
    parser.add_argument("--role", choices=[r.value for r in Role])
    parser.add_argument(
        "--issuer", default=DEV_ISSUER, help="the token's `iss` (the dev cluster's JWT_ISSUER)"
    )
    parser.add_argument("--jwks", action="store_true", help="print the public key as a JWKS instead")
    parser.add_argument(
        "--unit", default=None, help="a unit code of the county package or a mediation organization"
    )
    parser.add_argument(
        "--system", default=None, help="an external system's id (role external_system): its references"
    )
    parser.add_argument(
        "--agent",
        default=None,
        help="a proxy agent's id of the county package's agents.json (role proxy_agent)",
    )
    parser.add_argument("--run-dir", default=os.environ.get("RUN_DIR", str(DEFAULT_RUN_DIR)))
    parser.add_argument("--county-dir", default=os.environ.get("COUNTY_DIR", str(DEFAULT_COUNTY_DIR)))
    parser.add_argument(
        "--organizations-file",
        default=os.environ.get("MEDIATION_ORGANIZATIONS_FILE", str(DEFAULT_ORGANIZATIONS_FILE)),
    )
    args = parser.parse_args()
    if args.jwks:
        sys.stdout.write(json.dumps(jwks(Path(args.run_dir) / "keys")) + "\n")
        return
    if not args.role:
        parser.error("--role is required")
    unit = args.unit or None
    area = unit_area(Path(args.county_dir), unit) if unit else None
    if unit and area is None and not is_mediation_organization(Path(args.organizations_file), unit):
        parser.error(
            f"unit {unit!r} is neither in the county package's unit directory "
            f"nor an organization of {args.organizations_file}"
        )
    system = args.system or None
    keys = Path(args.run_dir) / "keys"
    subject = system or args.agent or None  # an agent's token names the agent (docs/agents.md)
    token = issue_token(
        keys, role=args.role, unit=unit, area=area, system=system, subject=subject, issuer=args.issuer
    )
    sys.stdout.write(token + "\n")


def unit_area(county_dir: Path, unit: str) -> str | None:
    """The area a unit serves, from the county package (the identity provider's job in production)."""
    for entry in json.loads((county_dir / "units.json").read_text(encoding="utf-8")):
        if entry["code"] == unit:
            return entry["jurisdiction"]
    return None


def is_mediation_organization(organizations_file: Path, code: str) -> bool:
    """Whether a code is an organization of the mediation organizations file (one created over the
    API is issued its tokens by the identity provider, or in development by `issue_token`)."""
    try:
        raw = json.loads(organizations_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(entry.get("code") == code for entry in raw.get("organizations") or [])


if __name__ == "__main__":
    main()
