"""A three-node NATS cluster on loopback for the chaos suite: the platform's users and permissions
(devtools/nats_auth.py), JetStream on files with fsync before acknowledging (as production's chart
values), routes between the three; each node can be killed and started again on its own store."""

import json
from pathlib import Path

from devtools.nats_auth import HEADER, authorization
from devtools.stack import Proc, _binary, _wait_port, free_port
from dispatch_common.systems import load_systems

NODES = 3


class NatsCluster:
    """Three nats-server processes in one cluster."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.ports = [free_port() for _ in range(NODES)]
        self.routes = [free_port() for _ in range(NODES)]
        self.procs: list[Proc] = []

    @property
    def urls(self) -> list[str]:
        """The client URLs of the three servers."""
        return [f"nats://127.0.0.1:{port}" for port in self.ports]

    def _config(self, n: int) -> Path:
        others = [f"nats-route://127.0.0.1:{p}" for i, p in enumerate(self.routes) if i != n]
        store = self.base / f"jetstream-{n}"
        store.mkdir(parents=True, exist_ok=True)
        text = (
            HEADER
            + f"server_name: {json.dumps(f'chaos-{n}')}\n"
            + f"listen: {json.dumps(f'127.0.0.1:{self.ports[n]}')}\n"
            + f"jetstream {{ store_dir: {json.dumps(str(store))}, sync_interval: always }}\n"
            + "cluster { name: chaos, "
            + f"listen: {json.dumps(f'127.0.0.1:{self.routes[n]}')}, routes: {json.dumps(others)} }}\n"
            + authorization(self.base / "keys", load_systems())
        )
        path = self.base / f"nats-{n}.conf"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> None:
        """Start the three servers and wait until each listens."""
        for n in range(NODES):
            proc = Proc(
                f"nats-{n}",
                [_binary("nats-server"), "--config", str(self._config(n))],
                self.base / "logs" / f"nats-{n}.log",
            )
            proc.start()
            self.procs.append(proc)
        for n, proc in enumerate(self.procs):
            _wait_port(self.ports[n], 20, proc.popen, proc.name)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop every server."""
        for proc in self.procs:
            proc.stop()
