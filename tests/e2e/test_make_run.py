"""`make run` and `make token` as a developer uses them."""

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.stack import SERVICES, free_port
from dispatch_common.paths import REPO_ROOT

pytestmark = pytest.mark.e2e


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_make_run_starts_everything_prints_urls_and_stops_everything(tmp_path):
    ports = {s: free_port() for s in SERVICES}
    env = dict(
        os.environ,
        RUN_DIR=str(tmp_path / "run"),
        CONSOLE_PORT=str(free_port()),
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
    )
    env.pop("NATS_URL", None)
    env.pop("MONGODB_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        output = "".join(lines)
        assert "the platform is ready" in output, output
        for service, port in ports.items():
            assert re.search(rf"{service}\s+http://127\.0\.0\.1:{port}", output), output
            assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        children = _children_of(proc.pid)
        assert len(children) == 8  # nats-server, nx-27017, five services and the console
        console = re.search(r"console\s+(http://127\.0\.0\.1:\d+)", output).group(1)
        assert "综合调度中心" in httpx.get(console).text
        progress = re.search(r"progress\s+(http://127\.0\.0\.1:\d+/progress/)", output).group(1)
        assert httpx.get(progress).status_code == 200  # the petitioner's page, printed with the others
        nats_url = re.search(r"NATS\s+(nats://127\.0\.0\.1:\d+)", output).group(1)
        assert _nats_admits(nats_url, tmp_path / "run" / "keys")
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, rest
    assert "stopped." in rest
    for pid in children:
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text().lower()
    for port in ports.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def _nats_admits(url: str, keys_dir: Path) -> bool:
    """The generated identities: every seed readable by its owner alone, no connection without one."""
    import nats

    from devtools.nats_auth import connect_options, seed_path

    for user in (*SERVICES, "ops", "grid-app"):
        assert stat.S_IMODE(seed_path(keys_dir, user).stat().st_mode) == 0o600, user

    async def attempt(**options: object) -> bool:
        try:
            nc = await nats.connect(url, allow_reconnect=False, connect_timeout=3, **options)
        except Exception:
            return False
        await nc.close()
        return True

    async def both() -> tuple[bool, bool]:
        return await attempt(), await attempt(**connect_options(keys_dir, "ops"))

    anonymous, ops = asyncio.run(both())
    assert not anonymous, "the NATS server of make run admitted a client without an identity"
    return ops


def _make_token(env: dict[str, str], role: str, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "token", f"ROLE={role}", f"UNIT={unit}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_make_token_prints_one_token_and_nothing_else(tmp_path):
    env = dict(os.environ, RUN_DIR=str(tmp_path / "run"))
    out = _make_token(env, "unit_handler", "990102001-GOV")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", lines[0])
    # a mediation organization of data/mediation/organizations.json
    organization = _make_token(env, "mediator", "990102-LDTJW")
    assert organization.returncode == 0, organization.stderr
    assert len(organization.stdout.splitlines()) == 1
    refused = _make_token(env, "unit_handler", "NO-SUCH-UNIT")
    assert refused.returncode != 0 and refused.stdout == ""
