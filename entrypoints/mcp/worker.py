"""``image-gen-mcp worker``: runs the image tools' background tasks from the shared Redis, with
no front end of its own.

A worker is the same MCP server as the front ends (same tools, same container, same settings:
it needs the vendor keys and the shared store too) whose only job is the Docket worker that the
tasks extension starts in the server's lifespan. Any number of them may run beside the HTTP
instances; each takes up to ``IMAGE_GEN_MCP_TASK_CONCURRENCY`` tasks at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from entrypoints.container import build_container, shutdown
from entrypoints.mcp.server import build_mcp_server
from entrypoints.settings import Settings

log = logging.getLogger("image_gen_mcp")


def check_worker_settings(settings: Settings) -> None:
    """Refuse, with the variable to set, a configuration in which a worker can do nothing."""
    if settings.redis_url is None:
        raise SystemExit(
            "image-gen-mcp worker: set IMAGE_GEN_MCP_REDIS_URL (the Redis the HTTP instances "
            "use); without it tasks live inside each server process and a worker never sees them."
        )
    if not settings.tasks_enabled:
        raise SystemExit("image-gen-mcp worker: IMAGE_GEN_MCP_TASKS=false leaves it nothing to run.")
    if settings.task_concurrency == 0:
        raise SystemExit("image-gen-mcp worker: IMAGE_GEN_MCP_TASK_CONCURRENCY=0 would take no task.")


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run tasks until ``stop`` is set. A task still running then is cancelled and stays in
    Redis, so another worker takes it over after ``IMAGE_GEN_MCP_TASK_REDELIVERY`` seconds."""
    container = build_container(settings)
    # A worker serves the HTTP instances' tasks: each names its tenant, and one that does not
    # is refused rather than run as the unnamed tenant (the HTTP app's store does the same).
    container.store().require_request_tenant()
    mcp = build_mcp_server(container, local_paths=False, shared_tasks=True)
    try:
        # The server's lifespan is what starts the Docket worker (fastmcp's own
        # `fastmcp_tasks.worker_cli` does the same).
        async with mcp._lifespan_manager():
            concurrency = settings.task_concurrency
            log.info(
                "worker: queue %r, up to %s tasks at once",
                settings.task_queue,
                settings.max_in_flight if concurrency is None else concurrency,
            )
            await stop.wait()
    finally:
        await shutdown(container)


def serve_worker(settings: Settings) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM."""
    check_worker_settings(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())
