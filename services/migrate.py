"""`python -m services.migrate [SERVICE ...]`: build the indexes and run the data migrations of the
services, before an upgrade (the Kubernetes Job `dispatch-migrate`), with the same code the services
run at start. Each service's steps use its own settings (its own MONGODB_URL and database), so a Job
container runs the services whose credentials it holds; the services then start with
BUILD_INDEXES_AT_START=false and only check that MongoDB answers.
"""

import argparse
import asyncio
import importlib
import logging
import sys
import time

from dispatch_common.runtime import Runtime
from dispatch_common.telemetry import setup_logging

SERVICES = ("intake", "routing", "mediation", "supervision", "notify")
log = logging.getLogger("dispatch.migrate")


def runtime_of(service: str) -> Runtime:
    """The service's runtime, wired as the service wires it (its bootstrap's `build`)."""
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    built = bootstrap.build()
    return built.runtime


async def migrate(service: str) -> float:
    """Run one service's migration steps; the seconds they took."""
    runtime = runtime_of(service)
    started = time.perf_counter()
    try:
        await runtime.migrate()
    finally:
        await runtime.mongo.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Migrate the named services (all by default); exit 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", nargs="*", metavar="SERVICE", help=f"some of {', '.join(SERVICES)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        parser.error(f"no such service: {', '.join(unknown)}")
    setup_logging("migrate")
    for service in args.services or SERVICES:
        try:
            seconds = asyncio.run(migrate(service))
        except Exception:
            log.exception("migration failed", extra={"migrated_service": service})
            return 1
        log.info("migrated", extra={"migrated_service": service, "seconds": round(seconds, 3)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
