"""A desk with memory sinks on loopback for the load tests: 256 descriptors; prints its port, ends with stdin."""

from __future__ import annotations

import asyncio
import logging
import resource
import sys

from services import log_budget
from services.alertdesk.app import create_app
from services.alertdesk.service import serve_app
from services.alertdesk.settings import AlertDeskSettings
from tests.unit.alertdesk.desk_builders import Harness, make_rereferral

DESCRIPTORS = 256  # the limit the attack exhausted


async def serve() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, hard))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    log_budget.install()
    settings = AlertDeskSettings(max_connections=200, max_connections_per_address=16, header_timeout_seconds=10)
    harness = Harness(settings=settings)
    harness.fold(*[make_rereferral(child_key=f"{i:032x}") for i in range(50)])
    async with serve_app(create_app(harness.context), settings, "127.0.0.1", 0) as port:
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve())
