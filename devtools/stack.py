"""Starts and stops the local platform: nats-server, the embedded MongoDB server and the services.

Used by `make run` (in the foreground) and by the tests (on free ports, torn down at the end).
Every child is asked to die with its parent (PR_SET_PDEATHSIG), so nothing outlives a killed run.
"""

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dispatch_common.paths import REPO_ROOT
from dispatch_common.systems import DEFAULT_SYSTEMS_FILE

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")
DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "mediation": 8003, "supervision": 8004, "notify": 8005}
DEFAULT_CONSOLE_PORT = 8000
BIN_DIR = Path(sys.executable).parent


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside the ephemeral range.

    A port the kernel hands out for binding port 0 comes from the ephemeral range, from which it also
    picks the local port of every outgoing connection: between choosing a port and a server binding
    it, a client's connection could take it (seen as `address already in use` when `make run` started
    notify on a port chosen that way). Ports below the range are only ever taken by explicit binds.
    """
    low, _ = _ephemeral_range()
    start = 20000 if low > 20000 + 1000 else 1024
    for _ in range(200):
        port = random.randrange(start, low)
        if port in _HANDED_OUT:  # chosen earlier in this process, perhaps not bound yet
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _binary(name: str) -> str:
    path = BIN_DIR / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found next to {sys.executable}; run `make venv`")
    return found


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not listen on {port} within {timeout}s")


@dataclass
class Proc:
    """One child process with its log file."""

    name: str
    argv: list[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it, with output going to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(self.env or os.environ),
            cwd=REPO_ROOT,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        log.close()

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if not self.popen or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL now: a crash, for tests."""
        if self.popen and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)


def nats_server(*, port: int, store_dir: Path, log_dir: Path, keys_dir: Path, systems_file: Path) -> Proc:
    """A real nats-server with JetStream file storage, on 127.0.0.1, with the platform's identities
    and permissions: its configuration is generated beside the store (devtools/nats_auth.py).
    `NATS_SYNC_INTERVAL` in the environment (`always`, `2m`...) sets JetStream's fsync, as production's
    `sync_interval: always` does (the benchmark measures its cost)."""
    from devtools.nats_auth import write_server_config
    from dispatch_common.systems import load_systems

    store_dir.mkdir(parents=True, exist_ok=True)
    config = write_server_config(
        store_dir.parent / f"{store_dir.name}.conf",
        keys_dir=keys_dir,
        systems=load_systems(systems_file),
        port=port,
        store_dir=store_dir,
        sync_interval=os.environ.get("NATS_SYNC_INTERVAL") or None,
    )
    return Proc("nats-server", [_binary("nats-server"), "--config", str(config)], log_dir / "nats-server.log")


def mongo_server(*, port: int, data_dir: Path, log_dir: Path) -> Proc:
    """The embedded MongoDB wire-protocol server (nx-27017, SQLite underneath)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        _binary("nx-27017"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-file",
        str(log_dir / "nx-27017.server.log"),
        "--pid-file",
        str(data_dir / "nx-27017.pid"),
    ]
    return Proc("nx-27017", argv, log_dir / "nx-27017.log")


def wait_ready(url: str, *, timeout: float, proc: Proc | None = None) -> None:
    """Poll a /readyz URL until it answers 200."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited while starting; see {proc.log_path}")
        try:
            r = httpx.get(url, timeout=1.0)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {timeout}s: {last}")


@dataclass
class Stack:
    """The whole local platform."""

    run_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    nats_url: str | None = None
    mongodb_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    replica_urls: dict[str, list[str]] = field(default_factory=dict)
    # The console's port (console/): when set, the console starts beside the services and they allow its
    # origin (CORS_ORIGINS) unless the environment names the origins itself.
    console_port: int | None = None
    # True when the stack started its own nats-server, with the generated identities (else NATS_URL's
    # server is used as it is, with whatever NATS_* identity the environment gives the services).
    own_nats: bool = False

    @property
    def log_dir(self) -> Path:
        """Where every process writes its log."""
        return self.run_dir / "logs"

    @property
    def keys_dir(self) -> Path:
        """The development keys, among them the NATS seeds (`nats/<user>.nk`)."""
        return self.run_dir / "keys"

    @property
    def systems_file(self) -> Path:
        """The external systems file the NATS users and intake's ingress come from."""
        named = self.extra_env.get("INGRESS_SYSTEMS_FILE") or os.environ.get("INGRESS_SYSTEMS_FILE")
        return Path(named) if named else DEFAULT_SYSTEMS_FILE

    def nats_options(self, user: str = "ops") -> dict[str, object]:
        """nats-py connect options for a user of the generated identities (the operators' `ops` by
        default: tests and tools that observe the bus from outside)."""
        from devtools.nats_auth import connect_options

        options: dict[str, object] = {"servers": [self.nats_url]}
        if self.own_nats:
            options |= connect_options(self.keys_dir, user)
        return options

    def url(self, service: str) -> str:
        """The base URL of a service."""
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def console_url(self) -> str | None:
        """The console's URL, when the stack runs one."""
        return f"http://127.0.0.1:{self.console_port}" if self.console_port else None

    def start_infrastructure(self) -> None:
        """Start nats-server and the embedded MongoDB server unless URLs were given."""
        if not self.nats_url:
            port = free_port()
            proc = nats_server(
                port=port,
                store_dir=self.run_dir / "jetstream",
                log_dir=self.log_dir,
                keys_dir=self.keys_dir,
                systems_file=self.systems_file,
            )
            proc.start()
            self.procs[proc.name] = proc
            _wait_port(port, 20, proc.popen, proc.name)  # type: ignore[arg-type]
            self.nats_url = f"nats://127.0.0.1:{port}"
            self.own_nats = True
        if not self.mongodb_url:
            port = free_port()
            proc = mongo_server(port=port, data_dir=self.run_dir / "mongo", log_dir=self.log_dir)
            proc.start()
            self.procs[proc.name] = proc
            _wait_port(port, 30, proc.popen, proc.name)  # type: ignore[arg-type]
            self.mongodb_url = f"mongodb://127.0.0.1:{port}/?directConnection=true"

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process gets."""
        env = dict(os.environ)
        env.update(
            {
                "PORT": str(self.ports[service]),
                "NATS_URL": self.nats_url or "",
                "MONGODB_URL": self.mongodb_url or "",
                "RUN_DIR": str(self.run_dir),
                "TRACE_FILE": str(self.run_dir / "traces" / f"{service}.jsonl"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.console_port and not os.environ.get("CORS_ORIGINS"):  # the browser calls the services
            env["CORS_ORIGINS"] = f"{self.console_url},http://localhost:{self.console_port}"
        if self.own_nats:  # the service's own generated identity
            from devtools.nats_auth import seed_path

            env["NATS_NKEY_SEED_FILE"] = str(seed_path(self.keys_dir, service))
        env.update(self.extra_env)
        return env

    def start_service(self, service: str, *, wait: bool = True, timeout: float = 60) -> Proc:
        """Start (or restart) one service and wait for its /readyz."""
        proc = Proc(
            service,
            [sys.executable, "-m", f"services.{service}"],
            self.log_dir / f"{service}.log",
            env=self.service_env(service),
        )
        proc.start()
        self.procs[service] = proc
        if wait:
            wait_ready(f"{self.url(service)}/readyz", timeout=timeout, proc=proc)
        return proc

    def start_replica(
        self, service: str, number: int, *, env: dict[str, str] | None = None, timeout: float = 90
    ) -> Proc:
        """Another process of a service on the same servers (`<service>#<number>`, on a port of its
        own, with its own trace file and `env` over the stack's), once ready; like a second pod behind
        a Kubernetes Service. Its URL is the last of `replica_urls[service]`."""
        port = free_port()
        env = self.service_env(service) | {
            "PORT": str(port),
            "TRACE_FILE": str(self.run_dir / "traces" / f"{service}-{number}.jsonl"),
            **(env or {}),
        }
        name = f"{service}#{number}"
        log = self.log_dir / f"{service}-{number}.log"
        proc = Proc(name, [sys.executable, "-m", f"services.{service}"], log, env=env)
        proc.start()
        self.procs[name] = proc
        self.replica_urls.setdefault(service, []).append(f"http://127.0.0.1:{port}")
        wait_ready(f"{self.replica_urls[service][-1]}/readyz", timeout=timeout, proc=proc)
        return proc

    def urls(self, service: str) -> list[str]:
        """The base URLs of every process of a service: the first, then its replicas."""
        return [self.url(service), *self.replica_urls.get(service, [])]

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        """Start infrastructure and services; services start in parallel, then all must be ready."""
        from devtools.keys import ensure_dev_keys

        ensure_dev_keys(self.run_dir / "keys")
        self.start_infrastructure()
        for service in services:
            self.start_service(service, wait=False)
        for service in services:
            wait_ready(f"{self.url(service)}/readyz", timeout=90, proc=self.procs[service])
        if self.console_port:
            self.start_console()

    def start_console(self, timeout: float = 30) -> Proc:
        """The console (console/server.py), pointing the browser at this stack's services."""
        env = dict(os.environ) | self.extra_env | {f"{s.upper()}_URL": self.url(s) for s in SERVICES}
        env |= {"PORT": str(self.console_port), "RUN_DIR": str(self.run_dir), "PYTHONUNBUFFERED": "1"}
        env.pop("CONSOLE_PORT", None)  # PORT is the one for this process
        proc = Proc("console", [sys.executable, "-m", "console"], self.log_dir / "console.log", env=env)
        proc.start()
        self.procs["console"] = proc
        wait_ready(f"{self.console_url}/readyz", timeout=timeout, proc=proc)
        return proc

    def stop(self) -> None:
        """Stop services (and extra replicas, named `<service>#<n>`) first, then the servers they use."""
        services = [n for n in self.procs if n.split("#")[0] in SERVICES]
        for name in services + [n for n in self.procs if n not in services]:
            self.procs[name].stop()
